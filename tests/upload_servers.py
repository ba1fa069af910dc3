"""Fixtures for the upload tests: a real clamd with a local EICAR signature, and an
S3-compatible server (moto's standalone server) started as a process.

Owned by part A of issue 18 (docs/uploads.md). Registered in tests/conftest.py.

- ``clamd_address`` (session): /usr/sbin/clamd in the foreground with a temporary config whose
  signature database holds ONLY the EICAR test signature (no internet, no freshclam), its Unix
  socket in a folder of its own; skipped without clamd unless ``CIVICFORMS_REQUIRE_CLAMD=1``.
  ``start_clamd(folder)`` starts another one a test can stop and start (the scanner down).
- ``s3_endpoint``: ``moto_server`` on a free port (one a session: ``moto_url``), and a new empty
  bucket for each test, created through boto3; an ``S3Server`` with what the settings need.
- ``upload_settings(tmp_path, **over)``: the Settings keyword arguments for uploads.
- Files to upload: ``jpeg_bytes``, ``png_bytes``, ``pdf_bytes``, ``EICAR``, ``eicar_pdf``.

Each xdist worker starts its own servers: own folders, free ports, nothing shared.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

log = logging.getLogger(__name__)

# The EICAR test file: every anti-virus product reports it, and it is harmless. Written in two
# halves so that this source file is not itself reported by a scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR" + b"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Civicforms-Test-EICAR"

CLAMD = os.environ.get("CIVICFORMS_CLAMD_BINARY", "/usr/sbin/clamd")


# --- Files to upload ---------------------------------------------------------------------------


def jpeg_bytes(
    size: tuple[int, int] = (64, 48), *, gps: bool = True, comment: bytes = b"", orientation: int = 1
) -> bytes:
    """A real JPEG photo with EXIF (camera, GPS position, orientation) and a comment, as a phone
    would send it."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(0, size[0], 2):
        image.putpixel((x, 0), (0, 0, 255))  # not one colour: the first row is striped
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=comment, quality=90)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (40, 30), *, text: str = "", mode: str = "RGB") -> bytes:
    """A real PNG, with a text chunk if ``text``."""
    from PIL import Image, PngImagePlugin

    image = Image.new(mode, size, "green" if mode != "P" else 3)
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf_bytes(
    *, catalog: str = "", objects: tuple[str, ...] = (), text: str = "Tenancy agreement", pages: int = 1
) -> bytes:
    """A real PDF written out by hand, so that a test can add what a hostile one holds:
    ``catalog`` entries (e.g. ``/OpenAction 9 0 R``) and further ``objects`` (numbered from 4 +
    pages * 2, in order)."""
    bodies: list[str] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    bodies.append(f"<< /Type /Catalog /Pages 2 0 R {catalog}>>")
    bodies.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    for i in range(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text} page {i + 1}) Tj ET"
        bodies.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
        )
        bodies.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
    bodies.extend(objects)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def eicar_pdf() -> bytes:
    """A PDF that passes every check but the virus scan: the EICAR test string in a stream."""
    stream = EICAR.decode("ascii")
    return pdf_bytes(objects=(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",))


# --- clamd -------------------------------------------------------------------------------------


def _require(what: str, reason: str) -> None:
    """Skip, or fail when the run says ``what`` must be there."""
    if os.environ.get(f"CIVICFORMS_REQUIRE_{what}") == "1":
        pytest.fail(f"{reason} (CIVICFORMS_REQUIRE_{what}=1)", pytrace=False)
    pytest.skip(reason)


@dataclass
class ClamdProcess:
    """A clamd started by a test: ``address`` is its Unix socket's path."""

    folder: Path
    # Above the largest upload (50MB): a longer stream is refused, not cut short.
    stream_max_length: str = "64M"
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    _stderr: Any = None

    @property
    def address(self) -> str:
        return str(self.folder / "clamd.sock")

    def start(self, timeout: float = 60) -> ClamdProcess:
        """Starts clamd and waits until it answers PING with PONG."""
        from runtime.scanning import ClamdScanner, ScannerUnavailable

        database = self.folder / "db"
        database.mkdir(exist_ok=True)
        (database / "eicar.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")
        config = self.folder / "clamd.conf"
        config.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"LocalSocket {self.address}",
                    "LocalSocketMode 600",
                    f"DatabaseDirectory {database}",
                    f"TemporaryDirectory {self.folder}",
                    f"PidFile {self.folder / 'clamd.pid'}",
                    f"LogFile {self.folder / 'clamd.log'}",
                    f"StreamMaxLength {self.stream_max_length}",
                    "MaxThreads 4",
                    "SelfCheck 0",
                    "",
                ]
            )
        )
        started = time.monotonic()
        self._stderr = (self.folder / "clamd.stderr").open("wb")
        self.process = subprocess.Popen(
            [CLAMD, f"--config-file={config}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=_die_with_parent,
        )
        scanner = ClamdScanner(self.address, timeout=1)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"clamd exited with {self.process.returncode}: {self._logs()}")
            try:
                scanner.ping()
                break
            except ScannerUnavailable:
                pass
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"clamd did not answer within {timeout} s: {self._logs()}")
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        log.info("clamd started in %.2f s", self.startup_seconds)
        return self

    def _logs(self) -> str:
        parts = []
        for name in ("clamd.stderr", "clamd.log"):
            path = self.folder / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        Path(self.address).unlink(missing_ok=True)

    def remove(self) -> None:
        """Stops clamd and removes its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child before it runs: the kernel stops it (SIGTERM) when the test process dies,
    killed or crashed, so that no clamd or moto_server outlives its test run."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def short_folder(prefix: str) -> Path:
    """A new folder under /tmp: a Unix socket's path must be under 108 bytes, which pytest's
    own temporary folders (per worker, per test) can exceed."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def start_clamd(folder: Path | None = None, *, stream_max_length: str = "64M") -> ClamdProcess:
    """A clamd of the caller's own (stop it with ``.stop()``); skipped without clamd."""
    if not os.access(CLAMD, os.X_OK):
        _require("CLAMD", f"{CLAMD} is not installed (apt-get install clamav-daemon)")
    return ClamdProcess(folder or short_folder("cf-clamd-"), stream_max_length=stream_max_length).start()


@pytest.fixture(scope="session")
def clamd_process() -> Iterator[ClamdProcess]:
    clamd = start_clamd()
    yield clamd
    clamd.remove()


@pytest.fixture(scope="session")
def clamd_address(clamd_process: ClamdProcess) -> str:
    """The Unix socket of a clamd this test run started, knowing only the EICAR signature."""
    return clamd_process.address


# --- S3 (moto's standalone server) ---------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    region: str = "eu-west-2"
    access_key_id: str = "civicforms-test"
    secret_access_key: str = "civicforms-test-secret"

    def client(self) -> Any:
        """A boto3 client of the server, for what a test checks behind the storage's back."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def settings(self, bucket: str | None = None, **over: Any) -> dict[str, Any]:
        """The Settings keyword arguments that store uploads in this server's bucket."""
        return {
            "upload_storage": "s3",
            "s3_bucket": bucket or self.bucket,
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": self.region,
            "s3_access_key_id": self.access_key_id,
            "s3_secret_access_key": self.secret_access_key,
        } | over


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(timeout: float = 30) -> tuple[subprocess.Popen[bytes], str]:
    """moto_server on a free port; returns the process and its address. A port taken between
    choosing and binding (another worker) is retried on a new one."""
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists():
        _require("S3", f"{server} is missing: pip install 'moto[server]'")
    for _attempt in range(5):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            preexec_fn=_die_with_parent,
        )
        started = time.monotonic()
        while process.poll() is None and time.monotonic() - started < timeout:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    return process, url
            except OSError:
                time.sleep(0.1)
        process.terminate()
        process.wait(10)
    raise RuntimeError("moto_server did not start")


@pytest.fixture
def s3_endpoint(moto_url: str) -> S3Server:
    """moto's standalone S3 server, with an empty bucket of this test's own (what the tests before
    it stored on the same worker is in theirs); tests speak S3 to it over HTTP."""
    server = S3Server(endpoint_url=moto_url, bucket=f"civicforms-test-{uuid.uuid4().hex[:8]}")
    server.client().create_bucket(Bucket=server.bucket, CreateBucketConfiguration={"LocationConstraint": server.region})
    return server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The address of a moto_server this test run (this worker) started, stopped at the end."""
    process, url = start_moto()
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# --- Settings ----------------------------------------------------------------------------------


def upload_settings(tmp_path: Path, **over: Any) -> dict[str, Any]:
    """The Settings keyword arguments for uploads: local storage and quarantine in ``tmp_path``,
    no scanner unless ``clamd_address=`` (pass the fixture's); anything else overrides, e.g.
    ``**s3_endpoint.settings()``."""
    return {
        "upload_storage": "local",
        "upload_dir": tmp_path / "uploads",
        "quarantine_dir": tmp_path / "quarantine",
        "clamd_address": "",
        "clamd_timeout_seconds": 10,
    } | over
