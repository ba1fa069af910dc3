"""The applicant answers a request for documents with files (issue 18, part F).

On the page where they answer a request for information, each document the caseworker asked for
has the GOV.UK file upload pattern without JavaScript: upload a file, see it listed, remove it,
add another up to the limit. A file is checked, scanned by the real clamd and kept like a file
question's; a virus, the wrong kind, a file too large (by its Content-Length, or streamed past
the limit), no file, a document that was not asked for, a missing CSRF token and a request
already answered each get a clear message and keep nothing. Send needs a file for each document.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from runtime.models import Case, InformationRequest, Upload
from runtime.settings import Settings
from tests.casework.case_files_helpers import PDF_BYTES, png_bytes
from tests.conftest import Citizen, page
from tests.runtime.test_case_status import _request_information, _send, _session, _status_link
from tests.upload_servers import eicar_pdf, upload_settings

DOCUMENTS = ["A copy of your tenancy agreement", "A recent bank statement"]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, clamd_address: str) -> Settings:
    """Files in this test's folder, scanned by this run's clamd; uploads capped at 1MB, so that
    a file past the limit is small to send."""
    return dataclasses.replace(settings, **upload_settings(tmp_path, clamd_address=clamd_address, max_upload_mb=1))


def _ask(app: Flask, documents: list[str] = DOCUMENTS) -> str:
    return _request_information(app, [], "We need to see your tenancy.", tuple(documents))


def _upload(citizen: Citizen, url: str, number: int, name: str, content: bytes, mime: str = "image/png") -> Any:
    """The upload form's post. The body is encoded in memory: the test client's own encoding
    spools a large one to a temporary file it never closes."""
    token = citizen.csrf(url)
    boundary, body = encode_multipart(
        {"csrf_token": token, f"document-{number}": FileStorage(io.BytesIO(content), name, content_type=mime)}
    )
    return citizen.client.post(
        f"{url}/documents/{number}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _rows(app: Flask) -> list[Upload]:
    with _session(app) as s:
        return list(s.exec(select(Upload).order_by(Upload.created_at)))


def _errors(response: Any) -> list[tuple[str, str]]:
    soup = page(response)
    return [(a.get_text(strip=True), str(a["href"])) for a in soup.select(".govuk-error-summary__list a")]


def _files(app: Flask) -> Any:
    return app.extensions["civicforms.uploads"]


def test_each_document_is_answered_with_a_file_and_then_sent(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    url = f"/information/{_ask(app)}"
    soup = page(citizen.client.get(url))
    assert [h.get_text(strip=True) for h in soup.select(".cf-document h3")] == DOCUMENTS
    assert soup.select_one("input[type=file]#document-1[name=document-1]") is not None
    assert "smaller than 1MB" in soup.get_text()

    # Sent with no files: an error by each document, nothing answered.
    response = citizen.post(url, {"reply": ""})
    assert response.status_code == 200
    assert _errors(response) == [
        ("Select a file for ‘A copy of your tenancy agreement’", "#document-1"),
        ("Select a file for ‘A recent bank statement’", "#document-2"),
    ]

    response = _upload(citizen, url, 1, "lease scan.png", png_bytes())
    assert response.status_code == 303
    (row,) = _rows(app)
    assert response.headers["Location"].endswith(f"{url}?uploaded={row.id}#document-1")
    soup = page(citizen.client.get(response.headers["Location"]))
    assert "lease scan.png has been uploaded" in soup.select_one(".govuk-notification-banner").get_text(" ", strip=True)
    assert "lease scan.png" in soup.select_one("#document-1-section").get_text(" ", strip=True)
    assert (row.question, row.status, row.form_session_id, row.submission_id) == ("document-1", "clean", None, None)
    assert _files(app).storage.exists(f"files/{row.id}") and _files(app).storage.exists(f"thumbnails/{row.id}")

    assert _upload(citizen, url, 2, "statement.pdf", PDF_BYTES, "application/pdf").status_code == 303
    token = citizen.csrf(url)
    # A reply is optional beside documents.
    assert citizen.post(url, {"reply": ""}).status_code == 303
    with _session(app) as s:
        request = s.exec(select(InformationRequest)).one()
        assert request.answered_at is not None
        assert not s.exec(select(Case)).one().waiting_for_citizen
    assert [(r.question, r.filename, r.request_id) for r in _rows(app)] == [
        ("document-1", "lease scan.png", request.id),
        ("document-2", "statement.pdf", request.id),
    ]
    # Answered: no more files are taken (the page says it is answered), and nothing is kept.
    response = citizen.client.post(
        f"{url}/documents/1",
        data={"csrf_token": token, "document-1": (io.BytesIO(png_bytes()), "late.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    assert "already" in page(citizen.client.get(url)).get_text()
    assert len(_rows(app)) == 2


@pytest.mark.parametrize(
    ("name", "content", "mime", "message"),
    [
        ("lease.pdf", eicar_pdf(), "application/pdf", "The selected file contains a virus"),
        ("notes.pdf", b"just some text, not a PDF at all\n" * 20, "application/pdf", "The selected file must be a"),
        ("empty.png", b"", "image/png", "The selected file is empty"),
    ],
)
def test_a_bad_file_is_refused_by_its_document_and_nothing_is_kept(
    app: Flask, citizen: Citizen, name: str, content: bytes, mime: str, message: str
) -> None:
    _send(citizen)
    url = f"/information/{_ask(app)}"
    response = _upload(citizen, url, 2, name, content, mime)
    assert response.status_code == 200
    (error,) = _errors(response)
    assert error[0].startswith(message) and error[1] == "#document-2"
    assert page(response).select_one("#document-2-error") is not None
    assert _rows(app) == []
    assert [p.name for p in _files(app).quarantine_dir.iterdir()] == []


def test_no_file_chosen_says_select_a_file(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    url = f"/information/{_ask(app)}"
    token = citizen.csrf(url)
    response = citizen.client.post(f"{url}/documents/1", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert _errors(response) == [("Select a file", "#document-1")]


def test_a_file_too_large_is_refused_before_it_is_written(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    url = f"/information/{_ask(app)}"
    # By its Content-Length: thrown away unread, the page says so by the document.
    response = _upload(citizen, url, 1, "huge.png", b"\0" * (2 * 1024 * 1024))
    assert response.status_code == 303
    soup = page(citizen.client.get(response.headers["Location"]))
    assert [a.get_text(strip=True) for a in soup.select("#document-1-error")] or "smaller than 1MB" in soup.get_text()
    assert "smaller than 1MB" in soup.select_one("#document-1-section").get_text(" ", strip=True)
    # Within the body's allowance but past the limit as it streams: emptied, never kept.
    response = _upload(citizen, url, 1, "big.png", b"\0" * (1024 * 1024 + 10_000))
    assert response.status_code == 200
    assert "smaller than 1MB" in _errors(response)[0][0]
    assert _rows(app) == []
    assert [p.name for p in _files(app).quarantine_dir.iterdir()] == []


def test_a_document_not_asked_for_and_a_missing_csrf_token_are_refused(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    url = f"/information/{_ask(app)}"
    assert _upload(citizen, url, 3, "x.png", png_bytes()).status_code == 404
    assert _upload(citizen, url, 0, "x.png", png_bytes()).status_code == 404
    token = citizen.csrf(url)
    assert citizen.client.post(f"{url}/documents/x", data={"csrf_token": token}).status_code == 404
    response = citizen.client.post(
        f"{url}/documents/1",
        data={"document-1": (io.BytesIO(png_bytes()), "x.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert citizen.client.post("/information/not-a-token/documents/1", data={"csrf_token": token}).status_code == 404
    assert _rows(app) == []


def test_a_file_can_be_removed_once(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    url = f"/information/{_ask(app)}"
    assert _upload(citizen, url, 1, "wrong one.png", png_bytes()).status_code == 303
    (row,) = _rows(app)
    soup = page(citizen.client.get(url))
    form = soup.select_one("#document-1-section form[action$='/remove']")
    assert form is not None and "Remove wrong one.png" in form.get_text(" ", strip=True)
    remove = str(form["action"])
    response = citizen.client.post(remove, data={"csrf_token": citizen.csrf(url)})
    assert response.status_code == 303 and response.headers["Location"].endswith("?removed=1#document-1")
    assert _rows(app) == []
    assert not _files(app).storage.exists(f"files/{row.id}")
    assert "The file has been removed" in page(citizen.client.get(response.headers["Location"])).get_text()
    token = citizen.csrf(url)
    response = citizen.client.post(remove, data={"csrf_token": token})  # posted again
    assert response.status_code == 200
    assert _errors(response) == [("The file has already been removed", "#document-1")]


def test_at_most_five_files_for_a_document(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    url = f"/information/{_ask(app, ['Photos of the damage'])}"
    for n in range(5):
        assert _upload(citizen, url, 1, f"photo {n}.png", png_bytes((10 + n, 10))).status_code == 303
    soup = page(citizen.client.get(url))
    assert soup.select_one("input[type=file]") is None  # full: no more uploads offered
    response = _upload(citizen, url, 1, "photo 6.png", png_bytes())
    assert _errors(response) == [("You can only upload 5 files for this document", "#document-1")]
    assert len(_rows(app)) == 5


def test_the_status_pages_link_answers_with_files_too(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    _ask(app, ["A copy of your tenancy agreement"])
    url = f"{link}/information"
    soup = page(citizen.client.get(url))
    form = soup.select_one("#document-1-section form[enctype='multipart/form-data']")
    assert form is not None and form["action"] == f"{url}/documents/1"
    assert _upload(citizen, url, 1, "lease.pdf", PDF_BYTES, "application/pdf").status_code == 303
    assert citizen.post(url, {"reply": "Here it is"}).status_code == 303
    with _session(app) as s:
        assert s.exec(select(InformationRequest)).one().answers == {"reply": "Here it is"}


def test_a_file_waits_while_the_scanner_is_down_and_send_waits_for_it(
    app: Flask, citizen: Citizen, tmp_path: Path
) -> None:
    _send(citizen)
    url = f"/information/{_ask(app, ['A copy of your tenancy agreement'])}"
    working = _files(app)
    app.extensions["civicforms.uploads"] = dataclasses.replace(
        working, scanner=type(working.scanner)(str(tmp_path / "no-clamd.sock"), 1)
    )
    response = _upload(citizen, url, 1, "lease.png", png_bytes())
    assert response.status_code == 200
    assert "could not be checked for viruses" in _errors(response)[0][0]
    (row,) = _rows(app)
    assert row.status == "waiting" and working.waiting_path(row.id).exists()
    response = citizen.post(url, {"reply": ""})
    assert response.status_code == 200
    assert "still being checked for viruses" in _errors(response)[0][0]
    # The scanner is back: the page scans the file again, and the answer goes.
    app.extensions["civicforms.uploads"] = working
    assert citizen.post(url, {"reply": ""}).status_code == 303
    (row,) = _rows(app)
    assert row.status == "clean" and working.storage.exists(f"files/{row.id}")
    assert not working.waiting_path(row.id).exists()
