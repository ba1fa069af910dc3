"""Virus scanning with ClamAV's clamd over its socket (docs/uploads.md).

Owned by part A of issue 18. Contract: ``scanner_for(settings) -> Scanner | None`` (None only
when unscanned uploads are allowed, in development); ``Scanner.scan(stream) -> ScanResult``
(``clean``, ``signature``); ``ScannerUnavailable`` when clamd cannot be reached or does not answer.
"""

from __future__ import annotations
