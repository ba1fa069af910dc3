"""Addresses by postcode from a configurable provider (OS Places API), for the uk-address
question's lookup (docs/definition-format.md, "Finding an address by postcode").

``lookup_for(settings)`` is the provider the settings name (``CIVICFORMS_ADDRESS_LOOKUP``), or
None: the citizen then types the address, as without a lookup. ``find(postcode)`` asks OS Places'
postcode resource (``GET {CIVICFORMS_OS_PLACES_URL}/postcode?postcode=...``, the key in the
``key`` header OS documents beside the query parameter, so that it never appears in a URL that a
proxy or a debug log keeps) for the Delivery Point Addresses (``dataset=DPA``: Royal Mail's
postal addresses) of the postcode, and turns each into the parts of a uk-address answer.
Anything but a well-formed answer in time (a refused key, a server error, a timeout, a body that
is not OS Places' JSON) is ``LookupUnavailable``: the citizen is told and types the address.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .settings import Settings
from .widgets import is_postcode, normalise_postcode

if TYPE_CHECKING:
    import requests  # imported when a lookup runs: a citizen worker without one never loads it (about 4 MB)

__all__ = ["AddressLookup", "FoundAddress", "LookupUnavailable", "OsPlaces", "lookup_for"]

log = logging.getLogger(__name__)

# One page of OS Places' results: its most. A postcode has about 15 delivery points on average;
# the few with more than 100 (a large block of flats, a business park) show the first 100, and
# the citizen can always type the address.
MAX_RESULTS = 100
# The longest answer read: 100 addresses of OS Places' JSON are about 150 KB.
MAX_BODY_BYTES = 2 * 1024 * 1024


class LookupUnavailable(Exception):
    """The provider could not answer (down, slow, refused, or an answer that cannot be read)."""


@dataclass(frozen=True)
class FoundAddress:
    """One address of a postcode, in the parts of a uk-address answer."""

    line1: str
    line2: str
    town: str
    postcode: str
    uprn: str  # the Unique Property Reference Number: identifies the choice in the list

    @property
    def text(self) -> str:
        """The address on one line, as the list of addresses shows it."""
        return ", ".join(part for part in (self.line1, self.line2, self.town, self.postcode) if part)

    def parts(self) -> dict[str, str]:
        """The answer's parts (uk-address), without the empty ones."""
        parts = {"line1": self.line1, "line2": self.line2, "town": self.town, "postcode": self.postcode}
        return {key: value for key, value in parts.items() if value}


class AddressLookup(Protocol):
    def find(self, postcode: str) -> list[FoundAddress]:
        """The addresses of ``postcode`` (a valid one, in its stored form), in the provider's
        order; empty when it has none. Raises LookupUnavailable."""
        ...


def lookup_for(settings: Settings) -> AddressLookup | None:
    """The provider the settings name, or None (the citizen types the address)."""
    if settings.address_lookup == "os-places" and settings.os_places_key:
        return OsPlaces(
            url=settings.os_places_url, key=settings.os_places_key, timeout=settings.address_lookup_timeout_seconds
        )
    return None


# -- OS Places ------------------------------------------------------------------------------------


def _word(word: str) -> str:
    """A word of an address in capitals as written: "ADANAC" -> "Adanac", "JOHN'S" -> "John's";
    a word with a digit ("1A", "12-14") is kept as it is."""
    if any(ch.isdigit() for ch in word):
        return word
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def _title(text: Any) -> str:
    """OS Places writes addresses in capitals; a form shows them as people write them."""
    if not isinstance(text, str):
        return ""
    return " ".join(_word(word) for word in text.split())


def _from_dpa(dpa: dict[str, Any]) -> FoundAddress | None:
    """A Delivery Point Address as the parts of a uk-address answer, following Royal Mail's
    rules for printing one: the premises (organisation, sub-building, building name), then the
    building number with its street, on line 1; the localities on line 2; the post town."""
    postcode = normalise_postcode(str(dpa.get("POSTCODE") or ""))
    town = _title(dpa.get("POST_TOWN"))
    uprn = str(dpa.get("UPRN") or "")
    # The UPRN identifies the choice in the list: up to 12 digits, or the record is not used.
    if not is_postcode(postcode) or not town or not re.fullmatch(r"[0-9]{1,12}", uprn):
        return None

    def get(key: str) -> str:
        return _title(dpa.get(key))

    street = " ".join(p for p in (get("DEPENDENT_THOROUGHFARE_NAME"), get("THOROUGHFARE_NAME")) if p)
    number = get("BUILDING_NUMBER")
    building = get("BUILDING_NAME")
    # A building "name" that is a number with a letter or range ("1A", "12-14") goes before the
    # street as a number does.
    if not number and building and re.fullmatch(r"[0-9]+[A-Za-z]?(-[0-9]+[A-Za-z]?)?", building):
        number, building = building, ""
    premises = [
        get("DEPARTMENT_NAME"),
        get("ORGANISATION_NAME"),
        get("SUB_BUILDING_NAME"),
        building,
        f"PO Box {_title(str(dpa['PO_BOX_NUMBER']))}" if dpa.get("PO_BOX_NUMBER") else "",
    ]
    numbered_street = " ".join(p for p in (number, street) if p)
    first = [p for p in (*premises, numbered_street) if p]
    localities = [p for p in (get("DOUBLE_DEPENDENT_LOCALITY"), get("DEPENDENT_LOCALITY")) if p]
    if not first:
        if not localities:
            return None
        first, localities = localities[:1], localities[1:]
    return FoundAddress(
        line1=", ".join(first)[:100],
        line2=", ".join(localities)[:100],
        town=town[:60],
        postcode=postcode,
        uprn=uprn,
    )


@dataclass(frozen=True)
class OsPlaces:
    """OS Places API's postcode resource (https://docs.os.uk/os-apis/accessing-os-apis/os-places-api)."""

    url: str
    key: str
    timeout: float

    def find(self, postcode: str) -> list[FoundAddress]:
        import requests

        deadline = time.monotonic() + self.timeout
        try:
            response = requests.get(
                f"{self.url}/postcode",
                params={
                    "postcode": postcode,
                    "dataset": "DPA",
                    "maxresults": str(MAX_RESULTS),
                    "output_srs": "EPSG:4326",
                },
                headers={"key": self.key, "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            # The exception's text holds the URL (the postcode): only its kind is logged.
            log.warning("address lookup: OS Places did not answer (%s)", type(exc).__name__)
            raise LookupUnavailable(type(exc).__name__) from None
        with response:
            if response.status_code != 200:
                log.warning("address lookup: OS Places answered HTTP %s", response.status_code)
                raise LookupUnavailable(f"HTTP {response.status_code}")
            body = _read(response, deadline)
        return _addresses(body)


def _read(response: requests.Response, deadline: float) -> Any:
    """The JSON body, at most MAX_BODY_BYTES of it, all read by ``deadline`` (requests' timeout
    is per read: a server sending a byte a second would never reach it)."""
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.raw.read1(65536, decode_content=True):  # what has come, not a full 64 KB
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                log.warning("address lookup: OS Places' answer is over %s bytes", MAX_BODY_BYTES)
                raise LookupUnavailable("too large")
            if time.monotonic() > deadline:
                log.warning("address lookup: OS Places' answer took too long")
                raise LookupUnavailable("too slow")
            chunks.append(chunk)
        return json.loads(b"".join(chunks).decode("utf-8"))
    except LookupUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001  (urllib3's read errors, bad UTF-8 or JSON: all mean the same)
        log.warning("address lookup: OS Places' answer could not be read (%s)", type(exc).__name__)
        raise LookupUnavailable(type(exc).__name__) from None


def _addresses(body: Any) -> list[FoundAddress]:
    """The addresses of an answer in OS Places' shape: ``{"header": {...}, "results": [{"DPA":
    {...}}, ...]}``; a postcode without addresses has a header and no "results"."""
    if not isinstance(body, dict) or not isinstance(body.get("header"), dict):
        log.warning("address lookup: OS Places' answer is not in its documented shape")
        raise LookupUnavailable("unexpected answer")
    results = body.get("results", [])
    if not isinstance(results, list):
        log.warning("address lookup: OS Places' results are not a list")
        raise LookupUnavailable("unexpected answer")
    found: list[FoundAddress] = []
    seen: set[str] = set()
    for result in results[:MAX_RESULTS]:
        dpa = result.get("DPA") if isinstance(result, dict) else None
        if not isinstance(dpa, dict):
            continue
        address = _from_dpa(dpa)
        # Welsh addresses come twice (LANGUAGE EN and CY) under one UPRN: the first is kept.
        if address is None or address.uprn in seen:
            continue
        seen.add(address.uprn)
        found.append(address)
    return found
