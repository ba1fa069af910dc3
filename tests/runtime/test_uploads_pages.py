"""A file question's pages, as a citizen, through the test client (docs/uploads.md, "The
citizen's pages"): Blue Badge's photo and proof of identity, with the real clamd of this run
(tests/upload_servers.py) and the local storage in the test's own folder.

Bad input everywhere: a file whose name and type lie, an empty file, a name with path
separators and control characters, a thousand tiny files, a file over the limit (by its
Content-Length, and while streaming), EICAR, the scanner down, no CSRF token, a removed file
removed again. Each: a clear message on the page, and nothing kept that should not be.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from runtime.models import FormSession, Upload
from runtime.scanning import ClamdScanner
from runtime.services import uploading
from runtime.settings import Settings
from runtime.web import create_citizen_app
from tests.conftest import Citizen, page
from tests.journeys import PASSPORT, PHOTO
from tests.runtime.helpers import error_summary, inline_errors, submissions, summary_rows, walk
from tests.upload_servers import EICAR, ClamdProcess, eicar_pdf, jpeg_bytes, pdf_bytes, png_bytes, start_clamd

SERVICE = "blue-badge"
PHOTO_PAGE = f"/services/{SERVICE}/photo"
PROOF_PAGE = f"/services/{SERVICE}/proof-of-identity"


# -- helpers --------------------------------------------------------------------------------------


def files_in(folder: Path) -> list[Path]:
    """Every file under ``folder`` (none when it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def uploads(db: Session, question: str | None = None) -> list[Upload]:
    db.rollback()
    query = select(Upload).order_by(col(Upload.created_at)).execution_options(populate_existing=True)
    if question is not None:
        query = query.where(col(Upload.question) == question)
    return list(db.exec(query))


def stored_files(settings: Settings) -> list[str]:
    """The keys in local storage: ``files/<id>``, ``thumbnails/<id>``."""
    return [p.relative_to(settings.upload_dir).as_posix() for p in files_in(settings.upload_dir)]


def token(client: FlaskClient, url: str) -> str:
    field = page(client.get(url)).select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])


def upload(
    client: FlaskClient,
    url: str,
    name: str,
    content: bytes,
    *,
    field: str = "photo",
    mime: str = "image/jpeg",
    action: str = "upload",
    csrf: bool = True,
) -> Any:
    """Post the page's upload form as a browser would: multipart, the file and the button.
    The body is built in memory (the test client spools a large one to a file it leaves open)."""
    data: dict[str, Any] = {"action": action, field: FileStorage(io.BytesIO(content), name, content_type=mime)}
    if csrf:
        data["csrf_token"] = token(client, url)
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(url + "/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def at_photo_page(citizen: Citizen) -> None:
    walk(citizen, SERVICE, until="photo")


def settings_of(app: Flask) -> Settings:
    return app.extensions["civicforms.settings"]  # type: ignore[no-any-return]


def nothing_kept(settings: Settings) -> None:
    assert files_in(settings.upload_dir) == []
    assert files_in(settings.quarantine_dir) == []


# -- the pattern ----------------------------------------------------------------------------------


def test_upload_see_it_listed_remove_it_upload_another_and_send(citizen, client, app, db_session) -> None:
    settings = settings_of(app)
    at_photo_page(citizen)
    shown = page(client.get(PHOTO_PAGE))
    assert shown.select_one("h1").get_text(strip=True) == "Upload a photo of your face"
    form = shown.select_one("form[enctype='multipart/form-data']")
    assert form is not None and form["action"] == PHOTO_PAGE + "/upload"
    assert "The file must be a JPG or PNG, smaller than 10MB." in shown.select_one("#photo-hint").get_text()
    assert shown.select_one("input[type=file][name=photo]")["accept"].startswith(".jpg,.jpeg,.png")

    response = upload(client, PHOTO_PAGE, "holiday snap.jpg", jpeg_bytes((320, 240)))
    assert response.status_code == 303
    (row,) = uploads(db_session)
    assert response.headers["Location"] == f"{PHOTO_PAGE}?uploaded={row.id}"
    listed = page(client.get(response.headers["Location"]))
    assert "holiday snap.jpg has been uploaded" in listed.select_one(".govuk-notification-banner--success").get_text()
    assert [k.get_text(strip=True) for k in listed.select("#files .govuk-summary-list__key")] == ["holiday snap.jpg"]
    assert listed.select_one("#files .govuk-summary-list__value").get_text(strip=True).endswith("KB")
    # The row, the answer and the bytes: in storage, none left in quarantine.
    assert (row.status, row.content_type, row.question, row.submission_id) == ("clean", "image/jpeg", "photo", None)
    stored = uploading.uploads_for(settings).storage
    assert stored.exists(f"files/{row.id}")
    assert files_in(settings.quarantine_dir) == []
    (session,) = db_session.exec(select(FormSession)).all()
    assert session.answers["photo"] == [
        {"id": row.id, "name": "holiday snap.jpg", "size": row.size_bytes, "type": "image/jpeg"}
    ]
    # The question takes one file: the input gives way to a sentence until one is removed.
    assert listed.select_one("input[type=file]") is None

    remove = listed.select_one("#files form")
    row_id = row.id
    response = client.post(str(remove["action"]), data={"csrf_token": remove.select_one("input")["value"]})
    assert response.status_code == 303 and response.headers["Location"] == f"{PHOTO_PAGE}?removed=1"
    assert uploads(db_session) == []
    assert not stored.exists(f"files/{row_id}")
    assert "photo" not in db_session.exec(select(FormSession)).one().answers
    again = page(client.get(response.headers["Location"]))
    assert "The file has been removed" in again.get_text()
    assert again.select_one("#files") is None and again.select_one("input[type=file]") is not None

    # Choose a file and Continue: uploaded and answered in one post.
    response = upload(client, PHOTO_PAGE, PHOTO.name, PHOTO.content, action="continue")
    assert response.status_code == 303 and response.headers["Location"] == PROOF_PAGE
    # Up to the limit: two files for proof of identity, a PDF and a PNG.
    upload(client, PROOF_PAGE, "passport.pdf", pdf_bytes(text="Passport"), field="proof_of_identity")
    upload(client, PROOF_PAGE, PASSPORT.name, PASSPORT.content, field="proof_of_identity", mime="image/png")
    full = page(client.get(PROOF_PAGE))
    assert [k.get_text(strip=True) for k in full.select("#files .govuk-summary-list__key")] == [
        "passport.pdf",
        "passport scan.png",
    ]
    response = upload(client, PROOF_PAGE, "third.png", png_bytes(), field="proof_of_identity", mime="image/png")
    assert inline_errors(page(response)) == ["You can only upload 2 files"]
    response = press(client, PROOF_PAGE)
    assert response.headers["Location"] == f"/services/{SERVICE}/check-answers"

    rows = summary_rows(page(client.get(f"/services/{SERVICE}/check-answers")))
    assert rows["Photo"].startswith("my photo.jpg (") and rows["Photo"].endswith("KB)")
    assert "passport.pdf (" in rows["Proof of identity"] and "passport scan.png (" in rows["Proof of identity"]
    assert citizen.submit(SERVICE).status_code == 303
    (submission,) = submissions(db_session)
    sent = uploads(db_session)
    assert len(sent) == 3
    assert {(u.submission_id, u.expires_at) for u in sent} == {(submission.id, None)}
    assert [f["name"] for f in submission.answers["proof_of_identity"]] == ["passport.pdf", "passport scan.png"]


def press(client: FlaskClient, url: str, action: str = "continue") -> Any:
    """A button of the page's upload form, no file chosen."""
    return client.post(url + "/upload", data={"action": action, "csrf_token": token(client, url)})


def test_continue_with_no_file_says_select_one(citizen, client) -> None:
    at_photo_page(citizen)
    response = press(client, PHOTO_PAGE)
    assert response.status_code == 200
    assert error_summary(page(response)) == [("Select a photo of your face", "#photo")]
    response = press(client, PHOTO_PAGE, "upload")
    assert inline_errors(page(response)) == ["Select a photo of your face"]
    # A post to the page itself is Continue with no file: a typed "answer" is never read.
    response = citizen.post(PHOTO_PAGE, {"photo": '[{"id": "' + "a" * 32 + '"}]'})
    assert inline_errors(page(response)) == ["Select a photo of your face"]
    assert client.get(f"/services/{SERVICE}/check-answers").headers["Location"] == PHOTO_PAGE


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.jpg", pdf_bytes(), "The selected file must be a JPG or PNG"),  # a PDF in a JPG's name
        ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200, "The selected file must be a JPG or PNG"),  # a program
        ("photo.jpg", b"", "The selected file is empty"),
        ("photo.jpg", jpeg_bytes() + b"PK\x03\x04" + b"\x00" * 100, None),  # a polyglot: a ZIP after it
    ],
    ids=["misleading-type", "program", "empty", "polyglot"],
)
def test_files_that_are_not_what_they_say_are_refused_and_not_kept(
    citizen, client, app, db_session, name: str, content: bytes, message: str | None
) -> None:
    at_photo_page(citizen)
    response = upload(client, PHOTO_PAGE, name, content)
    assert response.status_code == 200
    errors = inline_errors(page(response))
    assert len(errors) == 1 and (message is None or errors == [message]), errors
    assert uploads(db_session) == []
    nothing_kept(settings_of(app))


def test_a_name_with_path_separators_and_control_characters_is_made_safe(citizen, client, app, db_session) -> None:
    at_photo_page(citizen)
    hostile = "..\\../../etc/\x00pass\x1bwd\u202egpj.exe<script>.jpg"
    response = upload(client, PHOTO_PAGE, hostile, jpeg_bytes())
    assert response.status_code == 303
    (row,) = uploads(db_session)
    assert "/" not in row.filename and "\\" not in row.filename and ".." not in row.filename
    assert not any(ord(c) < 32 or c == "\u202e" for c in row.filename)
    assert row.filename.endswith(".jpg")
    shown = client.get(PHOTO_PAGE).get_data(as_text=True)
    assert "<script>" not in shown
    settings = settings_of(app)
    # Kept under its random id, inside the upload folder, and nowhere else.
    assert [p.relative_to(settings.upload_dir).as_posix() for p in files_in(settings.upload_dir)] == [
        f"files/{row.id}",
        f"thumbnails/{row.id}",
    ]


def test_a_thousand_tiny_files_in_one_post_keep_at_most_one(citizen, client, app, db_session) -> None:
    at_photo_page(citizen)
    tiny = png_bytes((2, 2))
    data: list[tuple[str, Any]] = [("csrf_token", token(client, PHOTO_PAGE)), ("action", "upload")]
    data += [("photo", FileStorage(io.BytesIO(tiny), f"tiny{i}.png", content_type="image/png")) for i in range(1000)]
    boundary, body = encode_multipart(MultiDict(data))
    response = client.post(PHOTO_PAGE + "/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code in (303, 413)  # werkzeug counts the parts: 1,000 is its limit
    assert len(uploads(db_session)) <= 1
    assert files_in(settings_of(app).quarantine_dir) == []


def test_a_form_holds_at_most_fifty_files(citizen, client, app, db_session, monkeypatch) -> None:
    assert uploading.MAX_FILES_PER_FORM == 50
    assert uploading.TOO_MANY_IN_FORM == "You can only upload 50 files to one form"
    # Blue Badge takes three files at most: the cap is lowered to two to meet it.
    monkeypatch.setattr(uploading, "MAX_FILES_PER_FORM", 2)
    monkeypatch.setattr(uploading, "TOO_MANY_IN_FORM", "You can only upload 2 files to one form")
    walk(citizen, SERVICE, until="proof-of-identity")  # the photo: one file
    assert upload(client, PROOF_PAGE, "1.png", png_bytes(), field="proof_of_identity").status_code == 303
    response = upload(client, PROOF_PAGE, "2.png", png_bytes(), field="proof_of_identity")
    assert inline_errors(page(response)) == ["You can only upload 2 files to one form"]
    assert len(uploads(db_session)) == 2
    assert files_in(settings_of(app).quarantine_dir) == []


@pytest.fixture
def small_limit_app(settings: Settings) -> Any:
    """The citizen app with CIVICFORMS_MAX_UPLOAD_MB=1: a large file is 1MB and a bit."""
    app = create_citizen_app({"SETTINGS": replace(settings, max_upload_mb=1), "TESTING": True})
    yield app
    for engine in app.extensions["civicforms.engines"]:
        engine.dispose()


def test_over_the_limit_by_content_length_is_refused_before_it_is_read(small_limit_app, db_session) -> None:
    client = small_limit_app.test_client()
    citizen = Citizen(client)
    at_photo_page(citizen)
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (3 * 1024 * 1024)
    response = upload(client, PHOTO_PAGE, "huge.jpg", big)
    assert response.status_code == 303 and response.headers["Location"] == f"{PHOTO_PAGE}?error=too-large"
    shown = page(client.get(response.headers["Location"]))
    assert error_summary(shown) == [("The selected file must be smaller than 1MB", "#photo")]
    assert "smaller than 1MB" in shown.select_one("#photo-hint").get_text()
    assert uploads(db_session) == []
    nothing_kept(settings_of(small_limit_app))


def test_over_the_limit_while_streaming_is_never_written_in_full(small_limit_app, db_session) -> None:
    client = small_limit_app.test_client()
    citizen = Citizen(client)
    at_photo_page(citizen)
    # Within the form's allowance for its other fields, so only the counting stream can tell.
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (1024 * 1024 + 10_000)
    written: list[int] = []
    from runtime.web import upload_pages

    real_write = upload_pages.LimitedFile.write

    def spy(self: Any, data: bytes) -> int:
        result = real_write(self, data)
        written.append(self._file.tell())
        return result

    upload_pages.LimitedFile.write = spy  # type: ignore[method-assign]
    try:
        response = upload(client, PHOTO_PAGE, "huge.jpg", big)
    finally:
        upload_pages.LimitedFile.write = real_write  # type: ignore[method-assign]
    assert response.status_code == 200
    assert inline_errors(page(response)) == ["The selected file must be smaller than 1MB"]
    assert max(written) <= 1024 * 1024 and written[-1] == 0  # never more than the limit; emptied
    assert uploads(db_session) == []
    nothing_kept(settings_of(small_limit_app))


def test_an_upload_without_its_csrf_token_keeps_nothing(citizen, client, app, db_session) -> None:
    at_photo_page(citizen)
    response = upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes(), csrf=False)
    assert response.status_code == 400
    assert uploads(db_session) == []
    nothing_kept(settings_of(app))


def test_a_removed_file_removed_again_or_another_forms_file_is_refused(citizen, client, db_session) -> None:
    at_photo_page(citizen)
    upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes())
    (row,) = uploads(db_session)
    remove_url = f"{PHOTO_PAGE}/files/{row.id}/remove"
    csrf = token(client, PHOTO_PAGE)
    assert client.post(remove_url, data={"csrf_token": csrf}).status_code == 303
    response = client.post(remove_url, data={"csrf_token": csrf})
    assert inline_errors(page(response)) == ["The file has already been removed"]
    response = client.post(f"{PHOTO_PAGE}/files/{'0' * 32}/remove", data={"csrf_token": csrf})
    assert inline_errors(page(response)) == ["The file has already been removed"]
    assert client.post(f"{PHOTO_PAGE}/files/{row.id}/remove").status_code == 400  # no CSRF token
    # Another citizen's file: not theirs to remove.
    upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes())
    (mine,) = uploads(db_session)
    other = Citizen(client.application.test_client())
    walk(other, SERVICE, until="photo")
    response = other.client.post(
        f"{PHOTO_PAGE}/files/{mine.id}/remove", data={"csrf_token": token(other.client, PHOTO_PAGE)}
    )
    assert inline_errors(page(response)) == ["The file has already been removed"]
    assert [u.id for u in uploads(db_session)] == [mine.id]


# -- viruses --------------------------------------------------------------------------------------


def test_eicar_is_refused_never_stored_and_logged_without_its_name(
    citizen, client, app, db_session, caplog: pytest.LogCaptureFixture
) -> None:
    walk(citizen, SERVICE, until="proof-of-identity")
    with caplog.at_level(logging.WARNING, logger="runtime.services.uploading"):
        response = upload(client, PROOF_PAGE, "my-secret-name.pdf", eicar_pdf(), field="proof_of_identity")
    assert response.status_code == 200
    assert error_summary(page(response)) == [("The selected file contains a virus", "#proof-of-identity")]
    assert uploads(db_session, "proof_of_identity") == []
    (photo,) = uploads(db_session)  # the happy path's photo, and nothing else
    assert stored_files(settings_of(app)) == [f"files/{photo.id}", f"thumbnails/{photo.id}"]
    assert files_in(settings_of(app).quarantine_dir) == []
    logged = [r.getMessage() for r in caplog.records if "infected" in r.getMessage()]
    assert logged and "Civicforms-Test-EICAR" in logged[0]
    assert not any("my-secret-name" in r.getMessage() for r in caplog.records)
    assert EICAR  # the signature clamd knows (tests/upload_servers.py)


@pytest.fixture
def own_clamd() -> Any:
    clamd = start_clamd()
    yield clamd
    clamd.stop()


@pytest.fixture
def clamd_app(settings: Settings, own_clamd: ClamdProcess) -> Any:
    app = create_citizen_app(
        {"SETTINGS": replace(settings, clamd_address=own_clamd.address, clamd_timeout_seconds=2), "TESTING": True}
    )
    yield app
    for engine in app.extensions["civicforms.engines"]:
        engine.dispose()


def test_scanner_down_the_file_waits_and_nothing_goes_on_until_it_is_clean(clamd_app, own_clamd, db_session) -> None:
    client = clamd_app.test_client()
    citizen = Citizen(client)
    settings = settings_of(clamd_app)
    at_photo_page(citizen)
    own_clamd.stop()
    response = upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes())
    assert response.status_code == 200
    assert inline_errors(page(response)) == [uploading.SCANNER_DOWN]
    (row,) = uploads(db_session)
    assert (row.status, row.storage_key) == ("waiting", None)
    assert files_in(settings.quarantine_dir) == [settings.quarantine_dir / row.id]
    assert files_in(settings.upload_dir) == []  # never stored, never shown to staff
    shown = page(client.get(PHOTO_PAGE))
    assert "Waiting for virus check" in shown.select_one("#files").get_text()
    assert inline_errors(shown) == [
        "face.jpg is waiting for a virus check. Wait a few minutes, then select Continue to check it again"
    ]
    # Continue refuses while it waits; it is no answer yet, so check answers sends back here.
    response = press(client, PHOTO_PAGE)
    assert inline_errors(page(response)) == [uploading.SCANNER_DOWN]
    assert "photo" not in db_session.exec(select(FormSession)).one().answers

    own_clamd.start()
    # Shown again, the page scans it again: clean, listed without the tag, and the answer.
    shown = page(client.get(PHOTO_PAGE))
    assert "Waiting for virus check" not in shown.select_one("#files").get_text()
    assert inline_errors(shown) == []
    response = press(client, PHOTO_PAGE)
    assert response.status_code == 303 and response.headers["Location"] == PROOF_PAGE
    (row,) = uploads(db_session)
    assert row.status == "clean" and row.scanned_at is not None
    assert files_in(settings.quarantine_dir) == []
    assert uploading.uploads_for(settings).storage.exists(f"files/{row.id}")
    assert [f["id"] for f in db_session.exec(select(FormSession)).one().answers["photo"]] == [row.id]


def test_sending_waits_for_a_file_still_waiting_and_the_worker_scans_it(clamd_app, own_clamd, db_session) -> None:
    client = clamd_app.test_client()
    citizen = Citizen(client)
    settings = settings_of(clamd_app)
    walk(citizen, SERVICE, until="proof-of-identity")
    assert (
        upload(client, PROOF_PAGE, "a.pdf", pdf_bytes(), field="proof_of_identity", action="continue").status_code
        == 303
    )
    own_clamd.stop()
    upload(client, PROOF_PAGE, "b.pdf", pdf_bytes(text="Second"), field="proof_of_identity")
    response = citizen.submit(SERVICE)
    assert response.status_code == 303 and response.headers["Location"] == PROOF_PAGE
    assert submissions(db_session) == []

    own_clamd.start()
    files = uploading.uploads_for(settings)
    engine = clamd_app.extensions["civicforms.engine"]
    from runtime.db import session as new_session

    done = uploading.rescan_waiting(session_factory=lambda: new_session(engine), files=files)
    assert ([u.filename for u in done.clean], done.infected, done.waiting) == (["b.pdf"], [], [])
    assert [f["name"] for f in db_session.exec(select(FormSession)).one().answers["proof_of_identity"]] == [
        "a.pdf",
        "b.pdf",
    ]
    assert citizen.submit(SERVICE).status_code == 303
    (submission,) = submissions(db_session)
    assert [f["name"] for f in submission.answers["proof_of_identity"]] == ["a.pdf", "b.pdf"]


def test_a_hung_scanner_is_waited_for_once_not_once_a_file(clamd_app, own_clamd, db_session, tmp_path) -> None:
    """clamd that takes a connection and never answers: the first waiting file's scan times out
    and the rest are left waiting unasked (one timeout for the page or the worker's pass)."""
    import socket
    import threading

    client = clamd_app.test_client()
    citizen = Citizen(client)
    walk(citizen, SERVICE, until="proof-of-identity")
    own_clamd.stop()
    upload(client, PROOF_PAGE, "a.pdf", pdf_bytes(), field="proof_of_identity")
    upload(client, PROOF_PAGE, "b.pdf", pdf_bytes(text="Second"), field="proof_of_identity")
    assert [u.status for u in uploads(db_session)] == ["clean", "waiting", "waiting"]  # the photo, then these

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(hung.accept()[0])  # read nothing, answer nothing
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    files = replace(
        uploading.uploads_for(settings_of(clamd_app)),
        scanner=ClamdScanner(f"127.0.0.1:{hung.getsockname()[1]}", timeout=0.5),
    )
    engine = clamd_app.extensions["civicforms.engine"]
    from runtime.db import session as new_session

    try:
        done = uploading.rescan_waiting(session_factory=lambda: new_session(engine), files=files)
    finally:
        hung.close()
        for conn in accepted:
            conn.close()
    assert (done.clean, done.infected, sorted(u.filename for u in done.waiting)) == ([], [], ["a.pdf", "b.pdf"])
    assert len(accepted) == 1  # one file asked, one timeout: not one per waiting file
    assert [u.status for u in uploads(db_session)] == ["clean", "waiting", "waiting"]


def test_a_waiting_file_found_infected_later_is_deleted(clamd_app, own_clamd, db_session) -> None:
    client = clamd_app.test_client()
    citizen = Citizen(client)
    settings = settings_of(clamd_app)
    walk(citizen, SERVICE, until="proof-of-identity")
    own_clamd.stop()
    upload(client, PROOF_PAGE, "bad.pdf", eicar_pdf(), field="proof_of_identity")
    (row,) = uploads(db_session, "proof_of_identity")
    assert row.status == "waiting"
    own_clamd.start()
    assert inline_errors(page(client.get(PROOF_PAGE))) == [uploading.INFECTED]  # scanned as it is shown
    assert uploads(db_session, "proof_of_identity") == []
    (photo,) = uploads(db_session)
    assert stored_files(settings) == [f"files/{photo.id}", f"thumbnails/{photo.id}"]
    assert files_in(settings.quarantine_dir) == []


# -- expiry ---------------------------------------------------------------------------------------


def test_unsent_files_are_purged_with_their_form_session(citizen, client, app, db_session) -> None:
    settings = settings_of(app)
    at_photo_page(citizen)
    upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes())
    (row,) = uploads(db_session)
    row_id = row.id
    files = uploading.uploads_for(settings)
    engine = app.extensions["civicforms.engine"]
    from runtime import abuse
    from runtime.db import session as new_session
    from runtime.models import utcnow

    assert uploading.purge_forgotten(session_factory=lambda: new_session(engine), files=files) == 0
    assert abuse.purge_expired(engine, now=utcnow().replace(year=utcnow().year + 1)) == 1
    assert uploading.purge_forgotten(session_factory=lambda: new_session(engine), files=files) == 1
    assert uploads(db_session) == []
    assert not files.storage.exists(f"files/{row_id}")
    nothing_kept(settings)


def test_files_not_scanned_in_development_say_so(settings: Settings, tmp_path: Path, db_session) -> None:
    dev = replace(settings, environment="development", clamd_address="", allow_unscanned_uploads=True)
    app = create_citizen_app({"SETTINGS": dev, "TESTING": True})
    try:
        citizen = Citizen(app.test_client())
        at_photo_page(citizen)
        shown = page(citizen.client.get(PHOTO_PAGE))
        assert "Files are not scanned for viruses (development setting)" in shown.get_text()
        response = upload(citizen.client, PHOTO_PAGE, "face.jpg", jpeg_bytes())
        assert response.status_code == 303
        assert [u.status for u in uploads(db_session)] == ["clean"]
    finally:
        for engine in app.extensions["civicforms.engines"]:
            engine.dispose()
