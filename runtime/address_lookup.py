"""Addresses by postcode from a configurable provider (OS Places API), for the uk-address
question's lookup (docs/definition-format.md).

Owned by part D of issue 18. Contract: ``lookup_for(settings) -> AddressLookup | None``;
``AddressLookup.find(postcode) -> list[FoundAddress]``; ``LookupUnavailable`` when the provider
is down, slow or refuses (the citizen then types the address).
"""

from __future__ import annotations
