"""Two tabs at once on a form's files (docs/uploads.md, "Two tabs at once").

A file is checked and scanned outside any transaction (seconds for a large one); meanwhile the
citizen works on in another tab. What that tab did must survive the upload: a changed answer,
a removed file. And two tabs that both passed the early count of a question's files (or a
requested document's) cannot both keep theirs: the count is made again, the form session's (or
request's) row locked, when the file's row is written.

The other tab's request runs from its own thread, with its own database session, while the
first is being scanned (``uploading.scan`` is wrapped to let it in), on each backend.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlmodel import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from runtime.data import uploads as upload_data
from runtime.models import FormSession
from runtime.services import uploading
from runtime.storage import file_key, thumbnail_key
from tests.conftest import Citizen, page
from tests.runtime.helpers import inline_errors, stored_answers
from tests.runtime.test_case_status import _send
from tests.runtime.test_document_uploads import _ask, _errors, _files, _rows, _upload
from tests.runtime.test_uploads_pages import (
    PHOTO_PAGE,
    PROOF_PAGE,
    at_photo_page,
    files_in,
    settings_of,
    stored_files,
    token,
    upload,
    uploads,
)
from tests.upload_servers import jpeg_bytes, pdf_bytes, png_bytes

CONTACT = "/services/blue-badge/contact-details"


def in_other_tab(fn: Callable[[], Any]) -> Any:
    """The other tab's request, from its own thread (its own app context and database session)."""
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.setdefault("response", fn()))
    thread.start()
    thread.join()
    return out["response"]


def multipart(client: Any, url: str, name: str, content: bytes) -> tuple[bytes, str]:
    """The photo page's upload post, built (its CSRF token read) before it is sent."""
    data = {"action": "upload", "csrf_token": token(client, url), "photo": FileStorage(io.BytesIO(content), name)}
    boundary, body = encode_multipart(MultiDict(data))
    return body, f"multipart/form-data; boundary={boundary}"


def while_scanning(monkeypatch: Any, other_tab: Callable[[], Any]) -> dict[str, Any]:
    """Run ``other_tab`` during the first scan (the tab whose file is being scanned waits)."""
    real_scan = uploading.scan
    seen: dict[str, Any] = {}

    def scan(files: Any, path: Any, service_id: str) -> Any:
        if "started" not in seen:  # once: the other tab's own upload is scanned as it comes
            seen["started"] = True
            seen["other"] = in_other_tab(other_tab)
        return real_scan(files, path, service_id)

    monkeypatch.setattr(uploading, "scan", scan)
    return seen


def test_an_answer_changed_in_another_tab_during_the_scan_is_kept(citizen, client, db_session, monkeypatch) -> None:
    at_photo_page(citizen)
    contact_token = token(client, CONTACT + "?change=1")
    new_contact = {"csrf_token": contact_token, "email": "jane.smith@example.com", "phone": "07700 900 123"}
    seen = while_scanning(monkeypatch, lambda: client.post(CONTACT + "?change=1", data=new_contact))

    response = upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64)))

    assert seen["other"].status_code == 303 and response.status_code == 303
    (row,) = uploads(db_session, "photo")
    answers = stored_answers(db_session)
    assert answers["phone"] == "07700 900 123"  # before: the phone read before the scan came back
    assert [f["id"] for f in answers["photo"]] == [row.id]
    shown = page(client.get(CONTACT + "?change=1")).select_one("input[name=phone]")
    assert shown is not None and shown["value"] == "07700 900 123"


def test_a_file_removed_in_another_tab_during_the_scan_stays_removed(
    citizen, client, app, db_session, monkeypatch
) -> None:
    at_photo_page(citizen)
    assert upload(client, PHOTO_PAGE, "old photo.jpg", jpeg_bytes((64, 64))).status_code == 303
    (photo_id,) = [u.id for u in uploads(db_session, "photo")]
    remove_form = page(client.get(PHOTO_PAGE)).select_one("form[action$='/remove']")
    remove_token = token(client, PHOTO_PAGE)
    seen = while_scanning(
        monkeypatch, lambda: client.post(str(remove_form["action"]), data={"csrf_token": remove_token})
    )

    response = upload(
        client, PROOF_PAGE, "passport.pdf", pdf_bytes(), field="proof_of_identity", mime="application/pdf"
    )

    assert seen["other"].status_code == 303 and response.status_code == 303
    assert uploads(db_session, "photo") == []
    (proof,) = uploads(db_session, "proof_of_identity")
    answers = stored_answers(db_session)
    assert "photo" not in answers  # before: the removed photo was an answer again, its bytes gone
    assert [f["id"] for f in answers["proof_of_identity"]] == [proof.id]
    assert file_key(photo_id) not in stored_files(settings_of(app))
    assert page(client.get(PHOTO_PAGE)).select("#files .govuk-summary-list__key") == []


def test_two_tabs_uploading_to_a_one_file_question_keep_one(citizen, client, app, db_session, monkeypatch) -> None:
    settings = settings_of(app)
    at_photo_page(citizen)
    seen = while_scanning(monkeypatch, lambda: upload(client, PHOTO_PAGE, "tab 2.jpg", jpeg_bytes((64, 64))))

    response = upload(client, PHOTO_PAGE, "tab 1.jpg", jpeg_bytes((80, 60)))

    assert seen["other"].status_code == 303
    assert response.status_code == 200
    assert inline_errors(page(response)) == ["You can only upload 1 file"]
    (kept,) = uploads(db_session, "photo")  # before: both, on a question that takes one
    assert kept.filename == "tab 2.jpg"
    assert sorted(stored_files(settings)) == sorted([file_key(kept.id), thumbnail_key(kept.id)])
    assert files_in(settings.quarantine_dir) == []
    assert [f["id"] for f in stored_answers(db_session)["photo"]] == [kept.id]


def test_two_tabs_cannot_pass_the_fifty_files_of_a_form(citizen, client, app, db_session, monkeypatch) -> None:
    monkeypatch.setattr(uploading, "MAX_FILES_PER_FORM", 2)
    monkeypatch.setattr(uploading, "TOO_MANY_IN_FORM", "You can only upload 2 files to one form")
    at_photo_page(citizen)
    assert upload(client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64))).status_code == 303
    other = lambda: upload(client, PROOF_PAGE, "2.png", png_bytes(), field="proof_of_identity", mime="image/png")  # noqa: E731
    seen = while_scanning(monkeypatch, other)

    response = upload(client, PROOF_PAGE, "3.png", png_bytes((12, 12)), field="proof_of_identity", mime="image/png")

    assert seen["other"].status_code == 303
    assert inline_errors(page(response)) == ["You can only upload 2 files to one form"]
    assert [u.filename for u in uploads(db_session)] == ["face.jpg", "2.png"]
    assert files_in(settings_of(app).quarantine_dir) == []


def test_a_file_that_would_wait_for_the_scanner_is_refused_when_the_other_tab_filled_the_question(
    citizen, client, app, db_session, monkeypatch
) -> None:
    at_photo_page(citizen)
    real_scan = uploading.scan
    seen: dict[str, Any] = {}

    def scan(files: Any, path: Any, service_id: str) -> Any:
        if "started" in seen:
            return real_scan(files, path, service_id)
        seen["started"] = True
        seen["other"] = in_other_tab(lambda: upload(client, PHOTO_PAGE, "tab 2.jpg", jpeg_bytes((64, 64))))
        return None  # the scanner is down for this one: it would wait in quarantine

    monkeypatch.setattr(uploading, "scan", scan)
    response = upload(client, PHOTO_PAGE, "tab 1.jpg", jpeg_bytes((80, 60)))

    assert seen["other"].status_code == 303
    assert inline_errors(page(response)) == ["You can only upload 1 file"]
    assert [(u.filename, u.status) for u in uploads(db_session)] == [("tab 2.jpg", "clean")]
    assert files_in(settings_of(app).quarantine_dir) == []


def test_an_upload_waits_for_another_tab_writing_the_form_then_counts_again(citizen, client, app, db_session) -> None:
    """Truly at once: another tab's transaction has written a file's row (uncommitted) when this
    upload is sent. This one passes the early count (it cannot see that row), is scanned, then
    waits for the other to commit (the form session's row locked on PostgreSQL; SQLite's single
    writer), counts again and is refused."""
    at_photo_page(citizen)
    body, content_type = multipart(client, PHOTO_PAGE, "this tab.jpg", jpeg_bytes((64, 64)))
    form_session = db_session.exec(select(FormSession)).one()
    other = upload_data.add_upload(
        session=db_session,
        upload_id="a" * 32,
        form_session_id=form_session.id,
        service_id="blue-badge",
        question="photo",
        filename="other tab.jpg",
        content_type="image/jpeg",
        size_bytes=10,
        sha256="0" * 64,
        status=upload_data.WAITING,
        storage_key=None,
        thumbnail_key=None,
        expires_at=form_session.expires_at,
    )
    assert upload_data.lock_holder(session=db_session, holder_id=form_session.id) is not None
    out: dict[str, Any] = {}

    def this_tab() -> None:
        out["response"] = client.post(PHOTO_PAGE + "/upload", data=body, content_type=content_type)

    thread = threading.Thread(target=this_tab)
    thread.start()
    time.sleep(1.5)
    assert thread.is_alive()  # waiting for the other tab's transaction
    db_session.commit()
    thread.join(30)
    assert not thread.is_alive()

    assert inline_errors(page(out["response"])) == ["You can only upload 1 file"]
    assert [u.id for u in uploads(db_session, "photo")] == [other.id]
    assert stored_files(settings_of(app)) == []


def test_two_tabs_cannot_pass_five_files_for_a_requested_document(app: Flask, citizen: Citizen, monkeypatch) -> None:
    _send(citizen)
    url = f"/information/{_ask(app, ['Photos of the damage'])}"
    for n in range(4):
        assert _upload(citizen, url, 1, f"photo {n}.png", png_bytes((10 + n, 10))).status_code == 303
    seen = while_scanning(monkeypatch, lambda: _upload(citizen, url, 1, "tab 2.png", png_bytes((20, 20))))

    response = _upload(citizen, url, 1, "tab 1.png", png_bytes((30, 30)))

    assert seen["other"].status_code == 303
    assert _errors(response) == [("You can only upload 5 files for this document", "#document-1")]
    rows = _rows(app)
    assert [r.filename for r in rows][-1] == "tab 2.png" and len(rows) == 5  # before: 6
    files = _files(app)
    assert sorted(p.name for p in files_in(files.storage.root / "files")) == sorted(r.id for r in rows)
    assert files_in(files.quarantine_dir) == []
