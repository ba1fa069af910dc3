"""An erasure closes the case's open request for information (docs/casework.md, "Erasure").

A case erased (on the person's request) while it waits for the applicant's answer to a request
for information: the erasure closes the request and the case stops waiting, in its transaction.
The applicant's link then says the request is no longer open, as it does for an answered or
lapsed one; it takes no file, no reply and no removal, and keeps no byte of a file streamed in.
Should an erased case still hold files or answers (from before this was so), the erasure plan
and retention count it as erasable again, so that a second erasure or retention removes them.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from runtime import cases
from runtime.models import Case, InformationRequest, Upload, utcnow
from runtime.services import case_files, uploading
from runtime.services import retention as privacy
from runtime.settings import Settings
from tests.casework.case_files_helpers import PDF_BYTES, add_file, png_bytes
from tests.conftest import Citizen, page
from tests.runtime import privacy_helpers as h
from tests.runtime.test_case_status import _send, _session, _status_link
from tests.runtime.test_document_uploads import _ask, _files, _rows, _upload
from tests.upload_servers import upload_settings

CLOSED = "This request is closed"  # the answer page of a request closed without an answer
NOT_WAITING = "We are no longer waiting for this information. You do not need to send anything."


# -- the applicant's pages -----------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, clamd_address: str) -> Settings:
    return dataclasses.replace(settings, **upload_settings(tmp_path, clamd_address=clamd_address, max_upload_mb=1))


def _erase(app: Flask, reason: str = "DSAR-77") -> privacy.ErasureResult:
    with _session(app) as s:
        case = s.exec(select(Case)).one()
        return privacy.erase_record(
            session=s, key=str(case.citizen_id), reason=reason, actor_id=None, files=_files(app)
        )


def _closed_page(response: Any) -> bool:
    soup = page(response)
    heading = soup.select_one("h1")
    return (
        response.status_code == 200
        and heading is not None
        and heading.get_text(strip=True) == CLOSED
        and NOT_WAITING in soup.get_text()
        and soup.select_one("input[type=file]") is None
        and soup.select_one("textarea") is None
    )


def test_an_erasure_closes_the_open_request_and_its_link_takes_nothing_more(
    app: Flask, citizen: Citizen, tmp_path: Path
) -> None:
    status = _status_link(_send(citizen))
    url = f"/information/{_ask(app)}"
    assert _upload(citizen, url, 1, "lease scan.png", png_bytes()).status_code == 303
    (sent,) = _rows(app)
    remove = f"{url}/documents/1/files/{sent.id}/remove"
    token = citizen.csrf(url)  # the page, open in the applicant's browser before the erasure

    result = _erase(app)
    assert result.erased.files == 1 and result.erased.cases == 1
    assert _rows(app) == [] and not _files(app).storage.exists(f"files/{sent.id}")
    with _session(app) as s:
        request = s.exec(select(InformationRequest)).one()
        case = s.exec(select(Case)).one()
        # Closed (as a lapse closes one), in the erasure's transaction; the case waits for nobody.
        assert request.lapsed_at is not None and request.answered_at is None and request.answers is None
        assert case.erased_at is not None and not case.waiting_for_citizen

    # Both links say the request is no longer open, and the status page no longer asks.
    assert _closed_page(citizen.client.get(url))
    assert _closed_page(citizen.client.get(f"{status}/information"))
    assert page(citizen.client.get(status)).select_one(f"a[href='{status}/information']") is None

    # A file posted from the page left open is refused: no row, no bytes, nothing in quarantine.
    for where in (url, f"{status}/information"):
        response = citizen.client.post(
            f"{where}/documents/1",
            data={"csrf_token": token, "document-1": (io.BytesIO(PDF_BYTES), "passport.pdf", "application/pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 303 and response.headers["Location"] == where
    assert _rows(app) == []
    assert list(_files(app).quarantine_dir.iterdir()) == []
    assert [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()] == []  # storage holds no byte

    # A reply and a removal are refused too; the request stays unanswered and empty.
    assert _closed_page(citizen.client.post(url, data={"csrf_token": token, "reply": f"I am {h.NAME}"}))
    response = citizen.client.post(remove, data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == url
    with _session(app) as s:
        request = s.exec(select(InformationRequest)).one()
        assert request.answered_at is None and request.answers is None
        assert s.exec(select(Upload)).all() == []


# -- the use cases, and what an erasure or retention finds left over -------------------------------


@pytest.fixture
def files(settings: Settings) -> uploading.Uploads:
    return uploading.uploads_for(settings)


def _waiting_case(s: Session) -> tuple[Case, int]:
    """The person's blue badge case, waiting for the answer to a request for a document."""
    case = h.send(s, "blue-badge", h.badge())
    row = InformationRequest(
        case_id=case.id,
        token_hash="x" * 64,
        questions=[],
        message="Send your lease",
        return_state=case.state,
        documents=["A copy of your tenancy agreement"],
    )
    s.add(row)
    found = s.get(Case, case.id)
    assert found is not None
    found.waiting_for_citizen = True
    s.add(found)
    s.commit()
    assert row.id is not None
    return found, row.id


def _erase_record(s: Session, case: Case, files: uploading.Uploads, reason: str = "DSAR-77") -> privacy.Counts:
    return privacy.erase_record(session=s, key=str(case.citizen_id), reason=reason, actor_id=None, files=files).erased


def test_the_use_cases_refuse_a_file_and_an_answer_for_an_erased_case(
    db_session: Session, files: uploading.Uploads
) -> None:
    case, request_id = _waiting_case(db_session)
    _erase_record(db_session, case, files)

    files.quarantine_dir.mkdir(parents=True, exist_ok=True)
    path = files.quarantine_dir / "incoming"
    path.write_bytes(png_bytes())
    with pytest.raises(case_files.RequestClosed):
        case_files.receive_document(
            session=db_session, files=files, request_id=request_id, number=1, filename=f"{h.NAME}.png", path=path
        )
    assert not path.exists()
    assert db_session.exec(select(Upload)).all() == []

    request = db_session.get(InformationRequest, request_id)
    assert request is not None
    with pytest.raises(cases.Conflict):
        cases.answer_information(db_session, request=request, answers={"reply": f"I am {h.NAME}"}, now=utcnow())
    db_session.rollback()
    db_session.expire_all()
    request = db_session.get(InformationRequest, request_id)
    assert request is not None and request.answered_at is None and request.answers is None


def test_a_file_kept_while_an_erasure_waits_is_erased_with_the_case(
    db_session: Session, files: uploading.Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's last transaction locks the case, as the erasure does first: an erasure that
    starts while the file is being stored waits for it, then deletes it (rows and bytes)."""
    engine = db_session.get_bind()
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite has one writer at a time")
    case, request_id = _waiting_case(db_session)
    storing, go_on = threading.Event(), threading.Event()
    store_clean = uploading.store_clean

    def slow_store(*args: Any, **kwargs: Any) -> Any:
        storing.set()
        assert go_on.wait(20)
        return store_clean(*args, **kwargs)

    monkeypatch.setattr(uploading, "store_clean", slow_store)
    files.quarantine_dir.mkdir(parents=True, exist_ok=True)
    path = files.quarantine_dir / "incoming"
    path.write_bytes(png_bytes())
    kept: dict[str, Any] = {}

    def upload() -> None:
        with Session(engine) as s:
            kept["row"] = case_files.receive_document(
                session=s, files=files, request_id=request_id, number=1, filename="lease.png", path=path
            )

    def erase() -> None:
        with Session(engine) as s:
            kept["erased"] = _erase_record(s, case, files)

    uploader, eraser = threading.Thread(target=upload), threading.Thread(target=erase)
    uploader.start()
    assert storing.wait(20)
    eraser.start()
    time.sleep(0.5)
    waited = eraser.is_alive()  # for the case row the file's transaction holds
    go_on.set()
    uploader.join(20)
    eraser.join(20)
    assert waited and kept["erased"].files == 1
    db_session.expire_all()
    assert db_session.exec(select(Upload)).all() == []
    assert not files.storage.exists(f"files/{kept['row'].id}")
    assert not files.storage.exists(f"thumbnails/{kept['row'].id}")


def _leave_behind(s: Session, files: uploading.Uploads, case: Case, request_id: int) -> Any:
    """What an erased case held when its link still took a file and a reply after the erasure."""
    kept = add_file(s, files.storage, case, name=f"{h.NAME} passport.png", question="document-1", request_id=request_id)
    request = s.get(InformationRequest, request_id)
    assert request is not None
    request.answers = {"reply": f"I am {h.NAME}"}
    request.answered_at = utcnow()
    s.add(request)
    s.commit()
    return kept


def test_an_erased_case_still_holding_a_file_or_an_answer_is_erased_again(
    db_session: Session, files: uploading.Uploads
) -> None:
    case, request_id = _waiting_case(db_session)
    assert _erase_record(db_session, case, files).cases == 1
    plan = privacy.erasure_plan(session=db_session, key=str(case.citizen_id))
    assert (len(plan.erasable), len(plan.erased)) == (0, 1)  # nothing left: erased already

    kept = _leave_behind(db_session, files, case, request_id)
    plan = privacy.erasure_plan(session=db_session, key=str(case.citizen_id))
    assert [i.case.id for i in plan.erasable if i.case] == [case.id] and plan.erased == []
    assert list(plan.files.values()) == [1]

    again = _erase_record(db_session, case, files, "DSAR-78")
    assert again.files == 1
    db_session.expire_all()
    assert db_session.exec(select(Upload)).all() == []
    assert not files.storage.exists(f"files/{kept.id}") and not files.storage.exists(f"thumbnails/{kept.id}")
    request = db_session.get(InformationRequest, request_id)
    assert request is not None and not request.answers
    assert h.scan(db_session, (h.NAME.lower(),)) == []
    plan = privacy.erasure_plan(session=db_session, key=str(case.citizen_id))
    assert (len(plan.erasable), len(plan.erased)) == (0, 1)


def test_retention_erases_what_an_erased_case_still_holds_and_then_leaves_it(
    db_session: Session, files: uploading.Uploads
) -> None:
    case, request_id = _waiting_case(db_session)
    _erase_record(db_session, case, files)
    h.close(db_session, case, datetime(2020, 1, 1, tzinfo=UTC))
    today = date(2040, 1, 1)
    assert privacy.run_retention(session=db_session, today=today, files=files).due == []

    kept = _leave_behind(db_session, files, case, request_id)
    ran = privacy.run_retention(session=db_session, today=today, files=files)
    assert [d.case_id for d in ran.due] == [case.id] and ran.erased.files == 1
    db_session.expire_all()
    assert db_session.exec(select(Upload)).all() == []
    assert not files.storage.exists(f"files/{kept.id}")
    request = db_session.get(InformationRequest, request_id)
    assert request is not None and not request.answers
    assert privacy.run_retention(session=db_session, today=today, files=files).due == []


def test_an_answer_given_before_the_erasure_leaves_the_case_erased_already(
    db_session: Session, files: uploading.Uploads
) -> None:
    case = h.send(db_session, "blue-badge", h.badge())
    h.add_casework(db_session, case)  # an answered request
    _erase_record(db_session, case, files)
    plan = privacy.erasure_plan(session=db_session, key=str(case.citizen_id))
    assert (len(plan.erasable), len(plan.erased)) == (0, 1)
    h.close(db_session, case, datetime(2020, 1, 1, tzinfo=UTC))
    assert privacy.run_retention(session=db_session, today=date(2040, 1, 1), files=files).due == []
