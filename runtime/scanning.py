"""Virus scanning with ClamAV's clamd over its socket (docs/uploads.md).

Owned by part A of issue 18. Contract: ``scanner_for(settings) -> Scanner | None`` (None only
when unscanned uploads are allowed, in development); ``Scanner.scan(stream) -> ScanResult``
(``clean``, ``signature``); ``ScannerUnavailable`` when clamd cannot be reached or does not answer.

The bytes go to clamd over the socket (its INSTREAM command, through clamav-client), so clamd
needs no access to our folders and may run in another container. Anything but a clear "OK" or
"FOUND" from clamd is ScannerUnavailable: the file then waits in quarantine and is never taken
unscanned.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from clamav_client.clamd import BufferTooLongError, ClamdError, ClamdNetworkSocket, ClamdUnixSocket

from .settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanResult:
    """What the scanner said of a file: clean, or infected with the named ``signature``."""

    clean: bool
    signature: str | None = None


class ScannerUnavailable(Exception):
    """The scanner could not say: not configured, not running, too slow, or it failed on the
    file. The file waits in quarantine and is scanned again later."""


class Scanner(Protocol):
    def scan(self, stream: BinaryIO) -> ScanResult: ...

    def ping(self) -> None: ...


_HOST_PORT = re.compile(r"(?:tcp://)?(?P<host>[A-Za-z0-9.-]+):(?P<port>\d{1,5})")


def _client(address: str, timeout: float) -> ClamdNetworkSocket:
    """clamav-client's socket for an address: a Unix socket's path (or unix:///path), or
    host:port (tcp://host:port)."""
    if address.startswith("unix://"):
        address = address[len("unix://") :]
    if address.startswith("/"):
        client = _UnixSocket(address)
        client.timeout = timeout  # typed int there, used as a float
        return client
    match = _HOST_PORT.fullmatch(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ValueError(
            f"CIVICFORMS_CLAMD_ADDRESS must be a socket's path (/run/clamav/clamd.ctl) or host:port, not {address!r}"
        )
    return _NetworkSocket(match["host"], int(match["port"]), timeout=timeout)


def _connect(client: ClamdNetworkSocket, family: int, where: Any) -> None:
    # clamav-client leaves the socket open when the connect fails (and its Unix socket sets its
    # timeout only after connecting, so a clamd whose queue is full would hold the connect for
    # ever): these connect within the timeout and close what failed.
    client.clamd_socket = socket.socket(family, socket.SOCK_STREAM)
    try:
        client.clamd_socket.settimeout(client.timeout)
        client.clamd_socket.connect(where)
    except OSError as err:
        client.clamd_socket.close()
        raise ScannerUnavailable(f"clamd at {where} cannot be reached: {err}") from err


class _UnixSocket(ClamdUnixSocket):
    def _init_socket(self) -> None:
        _connect(self, socket.AF_UNIX, self.unix_socket)


class _NetworkSocket(ClamdNetworkSocket):
    def _init_socket(self) -> None:
        _connect(self, socket.AF_INET, (self.host, self.port))


class ClamdScanner:
    """ClamAV's clamd, over a Unix socket or TCP, through clamav-client (INSTREAM)."""

    def __init__(self, address: str, timeout: float = 30) -> None:
        self.address = address
        self.timeout = timeout
        self._client(0.1)  # a malformed address fails here, at start-up, not at the first upload

    def _client(self, timeout: float | None = None) -> ClamdNetworkSocket:
        return _client(self.address, self.timeout if timeout is None else timeout)

    def ping(self) -> None:
        """Raises ScannerUnavailable unless clamd answers PONG."""
        try:
            answer = self._client().ping()
        except (ClamdError, OSError) as err:
            raise ScannerUnavailable(f"clamd at {self.address} did not answer: {err}") from err
        if answer != "PONG":
            raise ScannerUnavailable(f"clamd at {self.address} answered {answer[:80]!r} to PING")

    def scan(self, stream: BinaryIO) -> ScanResult:
        """Streams the file to clamd and returns its verdict. Raises ScannerUnavailable when
        clamd cannot be reached, takes longer than the timeout, refuses the file (longer than
        its StreamMaxLength) or reports an error."""
        try:
            results = self._client().instream(stream)
        except BufferTooLongError as err:
            raise ScannerUnavailable(
                f"clamd at {self.address} refused the file as longer than its StreamMaxLength: "
                "set StreamMaxLength in clamd.conf to at least CIVICFORMS_MAX_UPLOAD_MB"
            ) from err
        except (ClamdError, OSError) as err:
            # OSError: a timeout or a broken pipe while sending (clamav-client wraps only the
            # connect and the reply), e.g. clamd stopped half way through the file.
            raise ScannerUnavailable(f"clamd at {self.address} did not scan the file: {err}") from err
        status, detail = results.get("stream", (None, None))
        if status == "OK":
            return ScanResult(clean=True)
        if status == "FOUND":
            return ScanResult(clean=False, signature=detail or "unnamed")
        raise ScannerUnavailable(f"clamd at {self.address} could not scan the file: {status} {detail or ''}".strip())


class _NotConfigured:
    """The scanner when no clamd address is set and unscanned uploads are not allowed: every
    file waits, as if clamd were down (the citizen is asked to try again)."""

    def ping(self) -> None:
        raise ScannerUnavailable("no virus scanner is configured: set CIVICFORMS_CLAMD_ADDRESS")

    def scan(self, stream: BinaryIO) -> ScanResult:
        raise ScannerUnavailable("no virus scanner is configured: set CIVICFORMS_CLAMD_ADDRESS")


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Said at the first upload of each process (the app makes its scanner per use), not at
    every one."""
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def scanner_for(settings: Settings) -> Scanner | None:
    """The scanner the settings name. None only when no clamd address is set and
    ``allow_unscanned_uploads`` (development only: the settings refuse it elsewhere) says files
    may be kept unscanned; a clamd address always wins. Without either, a scanner that is
    always unavailable, so that no file is ever kept unscanned by accident."""
    if settings.clamd_address:
        return ClamdScanner(settings.clamd_address, settings.clamd_timeout_seconds)
    if settings.allow_unscanned_uploads:
        _warn_once("Uploaded files are NOT scanned for viruses (CIVICFORMS_ALLOW_UNSCANNED_UPLOADS, development only)")
        return None
    _warn_once("No virus scanner is configured (CIVICFORMS_CLAMD_ADDRESS): uploaded files wait in quarantine")
    return _NotConfigured()
