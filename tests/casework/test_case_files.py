"""A case's files in the back office (issue 18, part F; docs/uploads.md, "Staff").

The case page lists each clean file with what it answers, its kind and size, a thumbnail for an
image and a download link; a download is an attachment with the stored type, a safe name
(RFC 6266 ``filename*``), nosniff and a sandboxing Content-Security-Policy; every download and
thumbnail is in the access log; nobody but the case's own staff gets a byte, and a file waiting
for its virus scan is never shown. Requests for information can ask for documents.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlmodel import col, select

from runtime import versions
from runtime.data import access
from runtime.models import AccessLog, InformationRequest, Upload
from runtime.settings import Settings
from runtime.storage import storage_for
from runtime.web.common import FILE_POLICY
from tests.casework.case_files_helpers import PDF_BYTES, add_file
from tests.casework.conftest import Office, banner, case_form, case_url, errors_of
from tests.conftest import page
from tests.upload_servers import upload_settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The usual test settings, with files kept in this test's own folder."""
    return dataclasses.replace(settings, **upload_settings(tmp_path))


@pytest.fixture
def storage(settings: Settings) -> Any:
    return storage_for(settings)


def _add(office: Office, storage: Any, reference: str, **kwargs: Any) -> Any:
    with office.session() as s:
        return add_file(s, storage, office.case(reference), **kwargs)


def _log(office: Office, action: str | None = None) -> list[AccessLog]:
    with office.session() as s:
        query = select(AccessLog).order_by(col(AccessLog.id))
        if action:
            query = query.where(AccessLog.action == action)
        return list(s.exec(query))


def _disposition(header: str) -> tuple[str, dict[str, str]]:
    """ "attachment; filename="a.pdf"; filename*=UTF-8''a.pdf" -> ("attachment", {"filename": "a.pdf",
    "filename*": "a.pdf"}), the second decoded."""
    kind, _, rest = header.partition(";")
    params = {}
    plain = re.search(r'filename="((?:[^"\\]|\\.)*)"', rest)
    if plain:
        params["filename"] = plain.group(1)
    encoded = re.search(r"filename\*=UTF-8''(\S+)", rest)
    if encoded:
        params["filename*"] = unquote(encoded.group(1))
    return kind.strip(), params


def _get(client: Any, url: str) -> Any:
    """The response, read to its end and closed (a file's stream is closed with it)."""
    with client.get(url) as response:
        response.get_data()
    return response


def test_the_case_page_lists_the_clean_files_with_a_thumbnail_for_an_image(office: Office, storage: Any) -> None:
    reference = office.new_case()
    photo = _add(office, storage, reference, name="passport photo.png", minutes_ago=5)
    proof = _add(
        office,
        storage,
        reference,
        name="council tax bill.pdf",
        content=PDF_BYTES,
        content_type="application/pdf",
        question="condition_description",
    )
    waiting = _add(office, storage, reference, name="not scanned yet.png", status="waiting")
    other = _add(office, storage, office.new_case(name="Bob Other", email="bob@example.com"), name="bobs.png")
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    rows = soup.select("table.cf-case-files tbody tr")
    assert [r["data-upload"] for r in rows] == [photo.id, proof.id]
    first, second = rows
    link = first.select_one("a.cf-download")
    assert link is not None and link.get_text(strip=True) == "passport photo.png"
    assert link["href"] == f"/casework/cases/{reference}/files/{photo.id}"
    assert link.has_attr("download") and link["hx-boost"] == "false"
    assert "PNG, 1KB" in first.get_text(" ", strip=True)
    image = first.select_one("img.cf-thumbnail")
    assert image is not None and image["src"] == f"/casework/cases/{reference}/files/{photo.id}/thumbnail"
    assert image["alt"] == "Preview of passport photo.png"
    assert second.select_one("img") is None and "No preview" in second.get_text()
    with office.session() as s:
        definition = versions.definition(session=s, service_id="blue-badge")
    assert definition is not None
    cells = [c.get_text(" ", strip=True) for c in second.select("td")]
    assert cells[0].startswith("council tax bill.pdf PDF, 1KB, uploaded ")
    assert cells[1] == definition.short_label("condition_description")
    text = soup.get_text(" ", strip=True)
    assert "not scanned yet.png" not in text and "bobs.png" not in text
    assert waiting.id not in str(soup) and other.id not in str(soup)


def test_a_case_without_files_has_no_files_section(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    assert soup.select_one("#files") is None and soup.select_one("table.cf-case-files") is None


def test_a_download_is_an_attachment_with_the_stored_type_and_is_logged(office: Office, storage: Any) -> None:
    reference = office.new_case()
    proof = _add(office, storage, reference, name="tenancy.pdf", content=PDF_BYTES, content_type="application/pdf")
    user = office.staff("Cas Caseworker", "caseworker")
    client = office.sign_in(user)
    before = len(_log(office))
    response = _get(client, f"/cases/{reference}/files/{proof.id}")
    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    kind, params = _disposition(response.headers["Content-Disposition"])
    assert kind == "attachment"
    assert params["filename"] == "tenancy.pdf"
    assert params["filename*"] == "tenancy.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == FILE_POLICY
    assert "sandbox" in FILE_POLICY and "default-src 'none'" in FILE_POLICY
    assert response.headers["Cache-Control"] == "no-store"
    logged = _log(office)[before:]
    assert [(r.action, r.staff_id, r.case_id, r.detail) for r in logged] == [
        (access.DOWNLOAD, user.id, office.case(reference).id, {"upload": proof.id})
    ]
    assert logged[0].citizen_id == office.case(reference).citizen_id
    assert logged[0].department_id == office.case(reference).department_id


def test_a_thumbnail_is_a_png_and_is_logged_and_a_pdf_has_none(office: Office, storage: Any) -> None:
    reference = office.new_case()
    photo = _add(office, storage, reference)
    proof = _add(office, storage, reference, name="bill.pdf", content=PDF_BYTES, content_type="application/pdf")
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    response = _get(client, f"/cases/{reference}/files/{photo.id}/thumbnail")
    assert response.status_code == 200
    assert response.mimetype == "image/png" and response.data == photo.thumbnail
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == FILE_POLICY
    assert [r.detail for r in _log(office, access.VIEW_THUMBNAIL)] == [{"upload": photo.id}]
    assert _get(client, f"/cases/{reference}/files/{proof.id}/thumbnail").status_code == 404
    assert len(_log(office, access.VIEW_THUMBNAIL)) == 1


@pytest.mark.parametrize(
    ("name", "content_type", "saved_as", "ascii_name"),
    [
        ("naïve résumé.pdf", "application/pdf", "naïve résumé.pdf", "naive resume.pdf"),
        ("letter.html", "image/png", "letter.html.png", "letter.html.png"),
        ('say "hi"; x=1.pdf', "application/pdf", "say _hi__ x=1.pdf", "say _hi__ x_1.pdf"),
        ("\u202egpj.exe", "image/png", "gpj.exe.png", "gpj.exe.png"),
    ],
)
def test_a_hostile_name_is_saved_safely(
    office: Office, storage: Any, name: str, content_type: str, saved_as: str, ascii_name: str
) -> None:
    """The name comes from the citizen: quotes, header syntax, right-to-left overrides and a
    name whose ending belies its content never reach the header as they were."""
    reference = office.new_case()
    content = PDF_BYTES if content_type == "application/pdf" else None
    stored = _add(office, storage, reference, name=name, content=content, content_type=content_type)
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    response = _get(client, f"/cases/{reference}/files/{stored.id}")
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header and "\u202e" not in header
    assert header.isascii()
    kind, params = _disposition(header)
    assert kind == "attachment"
    assert params["filename"] == ascii_name
    assert params["filename*"] == saved_as


def test_only_clean_files_of_this_case_are_sent(office: Office, storage: Any) -> None:
    reference = office.new_case()
    other_reference = office.new_case(name="Bob Other", email="bob@example.com")
    waiting = _add(office, storage, reference, status="waiting")
    theirs = _add(office, storage, other_reference)
    mine = _add(office, storage, reference)
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    for url in (
        f"/cases/{reference}/files/{waiting.id}",
        f"/cases/{reference}/files/{theirs.id}",  # another case's file, through this case's URL
        f"/cases/{reference}/files/{theirs.id}/thumbnail",
        f"/cases/{reference}/files/{'0' * 32}",
        f"/cases/{reference}/files/{mine.id.upper()}",
        f"/cases/{reference}/files/{mine.id}x",
        f"/cases/{reference}/files/..%2F..%2Fetc%2Fpasswd",
        f"/cases/{reference}/files/{'a' * 5000}",
        f"/cases/NOPE-0000-0000/files/{mine.id}",
    ):
        response = _get(client, url)
        assert response.status_code == 404, url
        assert response.headers.get("Content-Disposition") is None
    assert _log(office, access.DOWNLOAD) == [] and _log(office, access.VIEW_THUMBNAIL) == []
    assert _get(client, f"/cases/{other_reference}/files/{theirs.id}").status_code == 200


@pytest.mark.parametrize("tail", ["", "/thumbnail"])
def test_a_head_request_opens_nothing_and_logs_nothing(office: Office, storage: Any, tail: str) -> None:
    reference = office.new_case()
    photo = _add(office, storage, reference)
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    response = client.head(f"/cases/{reference}/files/{photo.id}{tail}")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    assert "Content-Disposition" not in response.headers and not response.data
    assert _log(office, access.DOWNLOAD) == [] and _log(office, access.VIEW_THUMBNAIL) == []
    assert _get(client, f"/cases/{reference}/files/{photo.id}{tail}").status_code == 200
    assert len(_log(office, access.DOWNLOAD) + _log(office, access.VIEW_THUMBNAIL)) == 1


def test_bytes_gone_from_storage_are_a_404_and_nothing_is_logged(office: Office, storage: Any) -> None:
    reference = office.new_case()
    stored = _add(office, storage, reference)
    storage.delete(f"files/{stored.id}")
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    assert _get(client, f"/cases/{reference}/files/{stored.id}").status_code == 404
    assert _log(office, access.DOWNLOAD) == []


@pytest.mark.parametrize("role", ["designer", "records", "dpo", "reviewer", "admin"])
def test_staff_who_cannot_work_the_case_get_nothing(office: Office, storage: Any, role: str) -> None:
    reference = office.new_case()
    stored = _add(office, storage, reference)
    client = office.sign_in(office.staff(f"Role {role}", role))
    for url in (f"/cases/{reference}/files/{stored.id}", f"/cases/{reference}/files/{stored.id}/thumbnail"):
        response = _get(client, url)
        assert response.status_code in (403, 404), (role, url)
        assert response.data != stored.content
    assert _log(office, access.DOWNLOAD) == []


@pytest.mark.parametrize("role", ["caseworker", "manager"])
def test_another_departments_staff_get_a_404(office: Office, storage: Any, role: str) -> None:
    reference = office.new_case()
    stored = _add(office, storage, reference)
    client = office.sign_in(office.staff("Other", role, department=office.other_department))
    case_id = office.case(reference).id
    for key in (reference, str(case_id)):
        assert _get(client, f"/cases/{key}/files/{stored.id}").status_code == 404
        assert _get(client, f"/cases/{key}/files/{stored.id}/thumbnail").status_code == 404
    assert _log(office, access.DOWNLOAD) == []


def test_a_signed_out_browser_is_sent_to_sign_in(casework: Any, office: Office, storage: Any) -> None:
    reference = office.new_case()
    stored = _add(office, storage, reference)
    response = casework.get(f"/cases/{reference}/files/{stored.id}")
    assert response.status_code in (302, 303) and "/sign-in" in response.headers["Location"]


def test_a_download_through_s3_streams_the_stored_bytes(office: Office, tmp_path: Path, s3_endpoint: Any) -> None:
    """The same download with the files in S3-compatible storage (moto's server, over HTTP)."""
    settings = dataclasses.replace(
        office.app.extensions["civicforms.settings"], **upload_settings(tmp_path, **s3_endpoint.settings())
    )
    office.app.extensions["civicforms.settings"] = settings
    office.app.extensions.pop("civicforms.storage", None)
    s3 = storage_for(settings)
    reference = office.new_case()
    big = PDF_BYTES + b"%" + b"x" * (3 * 1024 * 1024) + b"\n"
    stored = _add(office, s3, reference, name="scan.pdf", content=big, content_type="application/pdf")
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    response = _get(client, f"/cases/{reference}/files/{stored.id}")
    assert response.status_code == 200 and response.data == big
    assert response.mimetype == "application/pdf"
    assert len(_log(office, access.DOWNLOAD)) == 1


# -- requests for documents ----------------------------------------------------------------------


def _ask(client: Any, reference: str, documents: str) -> Any:
    data = case_form(client, reference, "form.cf-request-information")
    data |= {"message": "We need to see your tenancy agreement.", "documents": documents}
    return client.post(case_url(reference, "request-information"), data=data)


def test_the_request_form_asks_for_documents(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Cas Caseworker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    forms = soup.select("form.cf-request-information")
    if not forms:
        pytest.skip("the blue badge service offers no request for information at its first step")
    box = forms[0].select_one("textarea[name=documents]#request-documents")
    assert box is not None
    assert "Documents to ask for (optional)" in forms[0].get_text(" ", strip=True)


def _requesting_case(office: Office) -> tuple[str, Any]:
    for service in ("council-tax-single-person-discount", "blue-badge"):
        reference = office.new_case(service_id=service, answers=None if service == "blue-badge" else {})
        client = office.sign_in(office.staff(f"Cas {service}", "caseworker", department=office.department_of(service)))
        if page(client.get(case_url(reference))).select_one("form.cf-request-information") is not None:
            return reference, client
    pytest.fail("no shipped service asks for information at its first step")


def test_documents_asked_for_are_stored_shown_and_emailed(office: Office) -> None:
    reference, client = _requesting_case(office)
    response = _ask(
        client,
        reference,
        "A copy of your tenancy agreement\r\n\r\n  A recent   bank statement \nA copy of your tenancy agreement",
    )
    assert response.status_code == 303, errors_of(page(response))
    with office.session() as s:
        row = s.exec(select(InformationRequest)).one()
    assert row.documents == ["A copy of your tenancy agreement", "A recent bank statement"]
    soup = page(client.get(case_url(reference)))
    shown = soup.select_one(".cf-documents-asked")
    assert shown is not None and "A copy of your tenancy agreement, A recent bank statement" in shown.get_text()
    email = office.outbox("information_requested")[-1]
    assert "We will ask you to upload:\n- A copy of your tenancy agreement\n- A recent bank statement" in email.body
    assert "You asked the applicant for more information" in banner(soup)


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ("\n".join(f"Document {n}" for n in range(6)), "Ask for at most 5 documents in one request"),
        ("x" * 201, "Each document you ask for must be 200 characters or less"),
        ("A copy of\x07 your lease", "The documents to ask for cannot contain control characters"),
    ],
)
def test_documents_that_cannot_be_asked_for_are_refused_by_the_box(
    office: Office, documents: str, message: str
) -> None:
    reference, client = _requesting_case(office)
    response = _ask(client, reference, documents)
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup) == [message]
    assert soup.select_one(".govuk-error-summary a")["href"] == "#request-documents"
    box = soup.select_one("textarea#request-documents")
    assert box is not None and box.get_text() == documents.replace("\r\n", "\n")  # what was typed is kept
    with office.session() as s:
        assert s.exec(select(InformationRequest)).first() is None
    assert not office.case(reference).waiting_for_citizen


def test_a_request_without_documents_stores_none(office: Office) -> None:
    reference, client = _requesting_case(office)
    assert _ask(client, reference, "  \n\n ").status_code == 303
    with office.session() as s:
        assert s.exec(select(InformationRequest)).one().documents is None


def test_files_sent_for_a_request_are_listed_with_the_document(office: Office, storage: Any) -> None:
    reference, client = _requesting_case(office)
    assert _ask(client, reference, "A copy of your tenancy agreement\nA recent bank statement").status_code == 303
    with office.session() as s:
        request_id = s.exec(select(InformationRequest.id)).one()
    lease = _add(
        office,
        storage,
        reference,
        name="lease.pdf",
        content=PDF_BYTES,
        content_type="application/pdf",
        question="document-1",
        request_id=request_id,
    )
    bank = _add(office, storage, reference, name="bank.png", question="document-2", request_id=request_id)
    # Until the applicant presses Send, the files are theirs: not listed, not downloadable.
    assert page(client.get(case_url(reference))).select_one("table.cf-case-files") is None
    assert _get(client, f"/cases/{reference}/files/{lease.id}").status_code == 404
    with office.session() as s:
        from runtime import cases
        from runtime.models import utcnow

        request = s.exec(select(InformationRequest)).one()
        cases.answer_information(s, request=request, answers={}, now=utcnow())
        s.commit()
    soup = page(client.get(case_url(reference)))
    rows = {r["data-upload"]: r.get_text(" ", strip=True) for r in soup.select("table.cf-case-files tbody tr")}
    assert "Request 1: A copy of your tenancy agreement" in rows[lease.id]
    assert "Request 1: A recent bank statement" in rows[bank.id]
    response = _get(client, f"/cases/{reference}/files/{lease.id}")
    assert response.status_code == 200 and response.data == PDF_BYTES


def test_the_applicants_answer_needs_a_file_for_each_document(office: Office, storage: Any) -> None:
    """runtime.cases.answer_information: every document has a clean file, none waits for its
    scan; a written reply is optional beside documents."""
    from runtime import cases
    from runtime.models import utcnow

    reference, client = _requesting_case(office)
    assert _ask(client, reference, "A copy of your tenancy agreement\nA recent bank statement").status_code == 303
    with office.session() as s:
        request = s.exec(select(InformationRequest)).one()
        request_id = request.id
        with pytest.raises(cases.InformationError) as refused:
            cases.answer_information(s, request=request, answers={}, now=utcnow())
        s.rollback()
    assert refused.value.errors == {
        "document-1": "Select a file for ‘A copy of your tenancy agreement’",
        "document-2": "Select a file for ‘A recent bank statement’",
    }
    _add(office, storage, reference, question="document-1", request_id=request_id)
    _add(office, storage, reference, question="document-2", request_id=request_id, status="waiting")
    with office.session() as s:
        request = s.exec(select(InformationRequest)).one()
        with pytest.raises(cases.InformationError) as refused:
            cases.answer_information(s, request=request, answers={"reply": "Here they are"}, now=utcnow())
        s.rollback()
    assert list(refused.value.errors) == ["document-2"]
    assert "still being checked for viruses" in refused.value.errors["document-2"]
    with office.session() as s:
        s.exec(select(Upload).where(Upload.status == "waiting")).one()
        for row in s.exec(select(Upload).where(Upload.status == "waiting")):
            s.delete(row)
        s.commit()
    _add(office, storage, reference, question="document-2", request_id=request_id)
    with office.session() as s:
        request = s.exec(select(InformationRequest)).one()
        case = cases.answer_information(s, request=request, answers={}, now=utcnow())
        s.commit()
        assert not case.waiting_for_citizen


# -- the data protection officer: subject access with the files, erasure --------------------------


def test_a_subject_access_zip_with_a_file_gone_from_storage_still_comes_and_says_so(
    office: Office, storage: Any
) -> None:
    reference = office.new_case()
    photo = _add(office, storage, reference, name="Ada passport.png")
    proof = _add(office, storage, reference, name="lease.pdf", content=PDF_BYTES, content_type="application/pdf")
    storage.delete(f"files/{proof.id}")
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    soup = page(dpo.get(f"/data-protection/subject-access?key={reference}"))
    data = {str(i["name"]): str(i["value"]) for i in soup.select("form.cf-make-report input[type=hidden]")}
    with dpo.post("/data-protection/subject-access", data={**data, "format": "zip"}) as response:
        body = response.get_data()
    assert response.status_code == 200 and response.mimetype == "application/zip"  # not a 500
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        report = json.loads(bundle.read("report.json"))
        assert bundle.read(report["files"][0]["saved_as"]) == photo.content
        assert report["files"][1]["file"] == "lease.pdf" and report["files"][1]["saved_as"] is None
        assert "could not be found in our storage" in bundle.read("report.html").decode()


def test_the_subject_access_zip_carries_the_files_and_erasure_deletes_them(office: Office, storage: Any) -> None:
    reference = office.new_case()
    photo = _add(office, storage, reference, name="Ada passport.png")
    proof = _add(office, storage, reference, name="lease.pdf", content=PDF_BYTES, content_type="application/pdf")
    dpo_user = office.staff("Dee Protection", "dpo")
    dpo = office.sign_in(dpo_user)
    url = f"/data-protection/subject-access?key={reference}"
    soup = page(dpo.get(url))
    form = soup.select_one("form.cf-make-report")
    assert form is not None and form["hx-boost"] == "false"  # two of its buttons answer with a file
    assert form.select_one("button[value=zip]").get_text(strip=True) == "Download with the files (ZIP)"
    data = {str(i["name"]): str(i["value"]) for i in form.select("input[type=hidden]")}
    with dpo.post("/data-protection/subject-access", data={**data, "format": "zip"}) as response:
        body = response.get_data()
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=subject-access-record-")
    assert response.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        report = json.loads(bundle.read("report.json"))
        assert [f["file"] for f in report["files"]] == ["Ada passport.png", "lease.pdf"]
        assert bundle.read(report["files"][0]["saved_as"]) == photo.content
        assert bundle.read(report["files"][1]["saved_as"]) == PDF_BYTES
    shown = page(dpo.post("/data-protection/subject-access", data={**data, "format": "html"}))
    assert "lease.pdf" in shown.select_one(".cf-subject-access").get_text(" ", strip=True)
    assert [r.detail for r in _log(office, access.SUBJECT_ACCESS)] == [{"format": "zip"}, {"format": "html"}]

    # Erasure on request, from the back office: the files' rows and bytes go too.
    erase = page(dpo.get(f"/data-protection/erasure?key={reference}"))
    (row,) = erase.select("table.cf-erasable tbody tr")
    assert [c.get_text(strip=True) for c in row.select("th, td")][0] == reference
    assert [c.get_text(strip=True) for c in row.select("th, td")][-1] == "2"  # the Files column
    fields = {str(i["name"]): str(i.get("value", "")) for i in erase.select("form input[type=hidden]")}
    response = dpo.post("/data-protection/erasure", data={**fields, "key": reference, "reason": "DPO-2026-31"})
    assert response.status_code == 303
    assert "(2 files deleted)" in banner(page(dpo.get(response.headers["Location"].removeprefix("/casework"))))
    with office.session() as s:
        assert s.exec(select(Upload)).all() == []
    for stored in (photo, proof):
        assert not storage.exists(f"files/{stored.id}")
    assert not storage.exists(f"thumbnails/{photo.id}")
