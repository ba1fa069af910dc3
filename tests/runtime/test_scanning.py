"""Virus scanning against a real clamd (tests/upload_servers.py: the EICAR signature only)."""

from __future__ import annotations

import io
import logging
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from runtime.scanning import ClamdScanner, ScannerUnavailable, ScanResult, scanner_for
from runtime.settings import Settings, SettingsError
from tests.upload_servers import EICAR, EICAR_SIGNATURE, eicar_pdf, jpeg_bytes, pdf_bytes, short_folder, start_clamd


def settings(**over: Any) -> Settings:
    return Settings(**({"environment": "test", "secret_key": "s" * 40} | over))


def test_a_clean_file_is_clean(clamd_address: str) -> None:
    scanner = ClamdScanner(clamd_address, timeout=10)
    scanner.ping()
    assert scanner.scan(io.BytesIO(pdf_bytes())) == ScanResult(clean=True)
    assert scanner.scan(io.BytesIO(jpeg_bytes())) == ScanResult(clean=True)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(EICAR, id="the EICAR file"),
        pytest.param(eicar_pdf(), id="in a PDF"),
        pytest.param(b"harmless text\n" * 1000 + EICAR + b"\n", id="after 14KB of text"),
    ],
)
def test_the_eicar_test_file_is_found(clamd_address: str, content: bytes) -> None:
    result = ClamdScanner(clamd_address, timeout=10).scan(io.BytesIO(content))
    assert not result.clean
    assert result.signature is not None and result.signature.startswith(EICAR_SIGNATURE)


def test_the_eicar_file_inside_a_zip_is_found(clamd_address: str) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("notes/readme.txt", EICAR)
    archive.seek(0)
    assert not ClamdScanner(clamd_address, timeout=10).scan(archive).clean


def test_a_file_of_ten_megabytes_streams_to_clamd(clamd_address: str, tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    with path.open("wb") as f:
        f.write(pdf_bytes())
        f.write(b"\0" * (10 * 1024 * 1024))
    with path.open("rb") as f:
        assert ClamdScanner(clamd_address, timeout=30).scan(f).clean


def test_a_socket_nobody_listens_on_is_unavailable(tmp_path: Path) -> None:
    scanner = ClamdScanner(str(tmp_path / "nothing.sock"), timeout=2)
    with pytest.raises(ScannerUnavailable, match="cannot be reached"):
        scanner.scan(io.BytesIO(b"x"))
    with pytest.raises(ScannerUnavailable):
        scanner.ping()


def test_a_port_nobody_listens_on_is_unavailable() -> None:
    with socket.socket() as s:  # a port that was free a moment ago, now closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(f"127.0.0.1:{port}", timeout=2).scan(io.BytesIO(b"x"))


def test_a_scanner_that_never_answers_times_out(tmp_path: Path) -> None:
    """A clamd that takes the file and says nothing (hung, overloaded): unavailable after the
    timeout, not a worker held for ever."""
    folder = short_folder("cf-hang-")
    path = str(folder / "hang.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    held: list[socket.socket] = []

    def accept() -> None:
        conn, _ = server.accept()
        held.append(conn)  # read nothing, answer nothing

    threading.Thread(target=accept, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(ScannerUnavailable):
            ClamdScanner(path, timeout=1).scan(io.BytesIO(b"x" * 10_000_000))
    finally:
        for conn in held:
            conn.close()
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert time.monotonic() - started < 10


def test_a_scanner_that_answers_nonsense_is_unavailable() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"stream: Can't allocate memory ERROR\n")

    threading.Thread(target=answer, daemon=True).start()
    try:
        with pytest.raises(ScannerUnavailable, match="could not scan|did not scan"):
            ClamdScanner(f"127.0.0.1:{port}", timeout=5).scan(io.BytesIO(b"x"))
    finally:
        server.close()


def test_clamd_stopped_and_started_again() -> None:
    """The scanner down, then back: what the waiting uploads' rescan relies on."""
    clamd = start_clamd()
    try:
        scanner = ClamdScanner(clamd.address, timeout=5)
        assert scanner.scan(io.BytesIO(b"hello")).clean
        clamd.stop()
        with pytest.raises(ScannerUnavailable):
            scanner.scan(io.BytesIO(b"hello"))
        clamd.start()
        assert not scanner.scan(io.BytesIO(EICAR)).clean
        assert clamd.startup_seconds < 30
    finally:
        clamd.remove()


def test_a_file_longer_than_clamds_stream_limit_is_unavailable_not_clean() -> None:
    """clamd set up with a smaller StreamMaxLength than the uploads: the file waits (and the
    log says which setting to change), it is never taken as clean."""
    clamd = start_clamd(stream_max_length="1M")
    try:
        scanner = ClamdScanner(clamd.address, timeout=5)
        with pytest.raises(ScannerUnavailable, match="StreamMaxLength|did not scan"):
            scanner.scan(io.BytesIO(b"\0" * (3 * 1024 * 1024)))
        assert scanner.scan(io.BytesIO(b"\0" * 1000)).clean
    finally:
        clamd.remove()


@pytest.mark.parametrize("address", ["clamd", "host:", "host:99999", "[::1]:3310", "tcp://", "a b:3310"])
def test_a_malformed_address_fails_at_start_up(address: str) -> None:
    with pytest.raises(ValueError, match="CIVICFORMS_CLAMD_ADDRESS"):
        ClamdScanner(address)


def test_scanner_for_the_settings(
    clamd_address: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtime.scanning._warned", set())  # said once a process: this test's process
    scanner = scanner_for(settings(clamd_address=clamd_address))
    assert isinstance(scanner, ClamdScanner) and scanner.scan(io.BytesIO(b"x")).clean
    # No address: every file waits, as if clamd were down.
    waiting = scanner_for(settings())
    assert waiting is not None
    with pytest.raises(ScannerUnavailable, match="CIVICFORMS_CLAMD_ADDRESS"):
        waiting.scan(io.BytesIO(b"x"))
    # Unscanned only in development, and said loudly.
    with caplog.at_level(logging.WARNING, logger="runtime.scanning"):
        assert scanner_for(settings(environment="development", allow_unscanned_uploads=True)) is None
    assert "NOT scanned" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="runtime.scanning"):
        scanner_for(settings(environment="development", allow_unscanned_uploads=True))
    assert caplog.text == ""  # once, not at every upload
    # An address wins over the development setting.
    assert isinstance(
        scanner_for(settings(environment="development", allow_unscanned_uploads=True, clamd_address=clamd_address)),
        ClamdScanner,
    )
    with pytest.raises(SettingsError, match="ALLOW_UNSCANNED_UPLOADS"):
        settings(environment="production", allow_unscanned_uploads=True).check()
