"""Files go with retention, erasure and subject access (issue 18, part F; docs/uploads.md, "Staff").

Erasure (on request or by retention) deletes a case's files: their rows, and their bytes and
thumbnails in storage (a folder, or S3 over HTTP), before the transaction commits, so that a
storage failure erases nothing. A legal hold keeps them. A subject access report lists the
files the person sent, and its ZIP version carries them byte for byte.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from runtime import subject_access, versions
from runtime.cli import main
from runtime.models import InformationRequest, StorageDeletion, Submission, Upload, utcnow
from runtime.services import case_files, uploading
from runtime.services import retention as privacy
from runtime.settings import Settings
from runtime.storage import StorageUnavailable
from tests.casework.case_files_helpers import PDF_BYTES, add_file
from tests.runtime import privacy_helpers as h
from tests.upload_servers import upload_settings

TODAY = date(2030, 6, 15)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, **upload_settings(tmp_path))


@pytest.fixture
def files(settings: Settings) -> uploading.Uploads:
    """Storage and the quarantine folder, as the commands make them."""
    return uploading.uploads_for(settings)


@pytest.fixture
def storage(files: uploading.Uploads) -> Any:
    return files.storage


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVICFORMS_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("CIVICFORMS_UPLOAD_DIR", str(settings.upload_dir))
    monkeypatch.setenv("CIVICFORMS_QUARANTINE_DIR", str(settings.quarantine_dir))
    return CliRunner()


@pytest.fixture
def person(db_session: Session, files: uploading.Uploads, storage: Any) -> dict[str, Any]:
    """The person's blue badge case with a photo, a PDF sent in answer to a request, and a file
    still waiting for its scan; someone else's case with a file of theirs."""
    case = h.send(db_session, "blue-badge", h.badge())
    h.add_casework(db_session, case)
    request_id = db_session.exec(select(InformationRequest.id).where(InformationRequest.case_id == case.id)).one()
    photo = add_file(db_session, storage, case, name=f"{h.NAME} passport.png")
    lease = add_file(
        db_session,
        storage,
        case,
        name="tenancy.pdf",
        content=PDF_BYTES,
        content_type="application/pdf",
        question="document-1",
        request_id=request_id,
    )
    waiting = add_file(db_session, storage, case, name="waiting.png", status="waiting")
    files.quarantine_dir.mkdir(parents=True, exist_ok=True)
    files.waiting_path(waiting.id).write_bytes(b"waiting for clamd")
    other_case = h.send(
        db_session,
        "blue-badge",
        h.badge(name=h.OTHER["name"], email=h.OTHER["email"], dob=h.OTHER["dob"], postcode=h.OTHER["postcode"]),
    )
    theirs = add_file(db_session, storage, other_case, name="olwen.png")
    return {
        "case": case,
        "record": case.citizen_id,
        "photo": photo,
        "lease": lease,
        "waiting": waiting,
        "theirs": theirs,
        "other": other_case,
    }


def _keys(storage: Any, *files: Any) -> dict[str, bool]:
    out = {}
    for f in files:
        out[f"files/{f.id}"] = storage.exists(f"files/{f.id}")
        if f.thumbnail is not None:
            out[f"thumbnails/{f.id}"] = storage.exists(f"thumbnails/{f.id}")
    return out


def _rows(s: Session) -> set[str]:
    s.expire_all()
    return set(s.exec(select(Upload.id)).all())


def test_erasure_on_request_deletes_the_files_rows_and_bytes(
    db_session: Session, files: uploading.Uploads, storage: Any, person: dict[str, Any]
) -> None:
    mine = (person["photo"], person["lease"])
    assert all(_keys(storage, *mine).values())
    result = privacy.erase_record(
        session=db_session, key=str(person["record"]), reason="DPO-2026-18", actor_id=None, files=files
    )
    assert result.complete and result.erased.files == 3  # the photo, the request's PDF, the waiting one
    assert not any(_keys(storage, *mine).values()), _keys(storage, *mine)
    assert not files.waiting_path(person["waiting"].id).exists()  # the quarantined bytes too
    assert _rows(db_session) == {person["theirs"].id}
    assert all(_keys(storage, person["theirs"]).values())
    assert h.scan(db_session) == []  # the file named after the person is gone with its row


def test_a_storage_failing_part_way_leaves_no_half_erasure_and_the_worker_finishes_it(
    db_session: Session, files: uploading.Uploads, storage: Any, person: dict[str, Any]
) -> None:
    """The storage deletes a key or two, then stops answering: the erasure is done all the same
    (rows gone, recorded), the bytes it could not delete stay queued, and the worker deletes
    them once the storage answers again. Before, the erasure rolled back with some bytes gone."""

    class FailsPartWay:
        def __init__(self) -> None:
            self.calls = 0

        def delete(self, key: str) -> None:
            self.calls += 1
            if self.calls > 2:
                raise StorageUnavailable("the bucket is not answering")
            storage.delete(key)

    result = privacy.erase_record(
        session=db_session,
        key=str(person["record"]),
        reason="DPO-2026-18",
        actor_id=None,
        files=dataclasses.replace(files, storage=FailsPartWay()),
    )
    assert result.complete and result.erased.files == 3
    assert _rows(db_session) == {person["theirs"].id}  # erased: no row of the person's files is left
    submission = db_session.get(Submission, person["case"].submission_id)
    assert submission is not None and submission.erased_at is not None
    with db_session.no_autoflush:
        queued = db_session.exec(select(StorageDeletion)).all()
    assert len(queued) == 2 and all(d.attempts == 1 and d.last_error for d in queued)  # the first deleted
    assert any(_keys(storage, person["photo"], person["lease"]).values())  # not all gone yet

    # The storage answers again: the worker's pass (its next try due) deletes the rest.
    db_session.rollback()
    for d in queued:
        d.next_attempt_at = utcnow()
        db_session.add(d)
    db_session.commit()
    done = uploading.delete_due(session_factory=lambda: Session(db_session.get_bind()), files=files)
    assert (done.deleted, done.left) == (2, 0)
    assert not any(_keys(storage, person["photo"], person["lease"]).values())
    assert not files.waiting_path(person["waiting"].id).exists()
    db_session.expire_all()
    assert db_session.exec(select(StorageDeletion)).all() == []
    assert all(_keys(storage, person["theirs"]).values())  # someone else's file untouched


def test_an_erasure_that_removes_files_refuses_to_run_without_storage(
    db_session: Session, person: dict[str, Any]
) -> None:
    with pytest.raises(RuntimeError, match="needs the storage"):
        privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-2026-18", actor_id=None)
    db_session.rollback()
    assert len(_rows(db_session)) == 4


def test_a_legal_hold_keeps_the_files(
    db_session: Session, files: uploading.Uploads, storage: Any, person: dict[str, Any]
) -> None:
    h.hold(db_session, person["case"])
    result = privacy.erase_record(
        session=db_session, key=str(person["record"]), reason="DPO-2026-18", actor_id=None, files=files
    )
    assert not result.complete and result.erased.files == 0
    assert len(_rows(db_session)) == 4
    assert all(_keys(storage, person["photo"], person["lease"]).values())


def test_retention_deletes_the_files_of_a_case_past_its_period(
    db_session: Session, files: uploading.Uploads, storage: Any, person: dict[str, Any]
) -> None:
    h.close(db_session, person["case"], datetime(2026, 6, 15, 17, 0, tzinfo=UTC))  # blue badge keeps 4 years
    result = privacy.run_retention(session=db_session, today=TODAY, files=files)
    assert [d.reference for d in result.due] == [person["case"].reference]
    assert result.erased.files == 3
    assert not any(_keys(storage, person["photo"], person["lease"]).values())
    assert _rows(db_session) == {person["theirs"].id}


def test_the_retention_command_deletes_files_from_the_configured_storage(
    runner: CliRunner, db_session: Session, storage: Any, person: dict[str, Any]
) -> None:
    h.close(db_session, person["case"], datetime(2026, 6, 15, 17, 0, tzinfo=UTC))
    done = runner.invoke(main, ["retention", "run", "--today", TODAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert "3 files" in done.output
    assert not any(_keys(storage, person["photo"], person["lease"]).values())


def test_erasure_deletes_files_kept_in_s3(
    db_session: Session, tmp_path: Path, s3_endpoint: Any, settings: Settings
) -> None:
    files = uploading.uploads_for(dataclasses.replace(settings, **upload_settings(tmp_path, **s3_endpoint.settings())))
    s3 = files.storage
    case = h.send(db_session, "blue-badge", h.badge())
    photo = add_file(db_session, s3, case)
    assert s3.exists(f"files/{photo.id}") and s3.exists(f"thumbnails/{photo.id}")
    privacy.erase_record(session=db_session, key=str(case.citizen_id), reason="DPO-2026-18", actor_id=None, files=files)
    assert not s3.exists(f"files/{photo.id}") and not s3.exists(f"thumbnails/{photo.id}")
    listed = s3_endpoint.client().list_objects_v2(Bucket=s3_endpoint.bucket)
    assert listed.get("KeyCount", 0) == 0


# -- subject access ----------------------------------------------------------------------------------


def _definition(db_session: Session) -> dict[str, Any]:
    found = versions.definition(session=db_session, service_id="blue-badge")
    assert found is not None
    return found.doc


def _report(db_session: Session, person: dict[str, Any], output: str = "json") -> tuple[dict[str, Any], Any]:
    data = privacy.subject_access(session=db_session, key=str(person["record"]), actor_id=None, output=output)
    return data, subject_access.build(data, made_at=utcnow())


def test_the_report_lists_the_files_the_person_sent(db_session: Session, person: dict[str, Any]) -> None:
    _, report = _report(db_session, person)
    reference = person["case"].reference
    assert [(f["file"], f["kind"], f["sent_in"], f["for"]) for f in report["files"]] == [
        (f"{h.NAME} passport.png", "PNG", reference, subject_access._question_title(_definition(db_session), "photo")),
        ("tenancy.pdf", "PDF", reference, "A request for more information"),
    ]
    assert report["files"][0]["saved_as"] == f"files/{reference}/1-{h.NAME} passport.png"
    assert report["files"][1]["saved_as"] == f"files/{reference}/2-tenancy.pdf"
    assert "waiting.png" not in json.dumps(report) and "olwen.png" not in json.dumps(report)
    html = subject_access.html_document(report)
    assert "Files you sent" in html and "tenancy.pdf" in html


def test_the_zip_report_carries_the_files_byte_for_byte(
    db_session: Session, storage: Any, person: dict[str, Any]
) -> None:
    data, report = _report(db_session, person, "zip")
    out = io.BytesIO()
    subject_access.write_bundle(report, case_files.report_files(data, report, storage), out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as bundle:
        names = bundle.namelist()
        assert names[-2:] == ["report.json", "report.html"]  # written after the files: it says which are in
        assert json.loads(bundle.read("report.json"))["files"] == report["files"]
        assert bundle.read(report["files"][0]["saved_as"]) == person["photo"].content
        assert bundle.read(report["files"][1]["saved_as"]) == PDF_BYTES
        assert len(names) == 4
        assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "/abs/olute.png", "a\\..\\b.png", "\x00.png"])
def test_a_hostile_name_stays_inside_the_files_folder(name: str) -> None:
    report = subject_access.build(
        {
            "record": {"id": 1, "created_at": None, "erased_at": None, "merged": []},
            "identifiers": [],
            "submissions": [],
            "cases": [],
            "links": [],
            "possible_matches": [],
            "access": [],
            "files": [
                {
                    "name": name,
                    "kind": "PNG",
                    "size": "1KB",
                    "reference": "../BB-1",
                    "definition": {},
                    "question": "photo",
                    "in_reply": False,
                    "uploaded_at": None,
                }
            ],
        },
        made_at=utcnow(),
    )
    saved_as = report["files"][0]["saved_as"]
    parts = saved_as.split("/")
    assert parts[0] == "files" and len(parts) == 3 and ".." not in parts and all(parts), saved_as
    assert not parts[2].startswith(".") and "\\" not in saved_as and "\x00" not in saved_as


def test_the_export_command_writes_a_zip_with_the_files(
    runner: CliRunner, tmp_path: Path, person: dict[str, Any]
) -> None:
    target = tmp_path / "report.zip"
    done = runner.invoke(
        main, ["citizens", "export", str(person["record"]), "--format", "zip", "--output", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert "(2 files)" in done.output
    assert os.stat(target).st_mode & 0o777 == 0o600
    with zipfile.ZipFile(target) as bundle:
        assert bundle.read(f"files/{person['case'].reference}/2-tenancy.pdf") == PDF_BYTES


def test_a_file_whose_bytes_are_gone_is_left_out_and_the_report_says_so(
    db_session: Session, storage: Any, person: dict[str, Any]
) -> None:
    storage.delete(f"files/{person['lease'].id}")  # lost in a storage restore, say; the photo is there
    data, report = _report(db_session, person, "zip")
    out = io.BytesIO()
    missing = subject_access.write_bundle(report, case_files.report_files(data, report, storage), out)
    assert missing == [report["files"][1]["saved_as"]]
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as bundle:
        assert bundle.read(report["files"][0]["saved_as"]) == person["photo"].content
        assert report["files"][1]["saved_as"] not in bundle.namelist()
        listed = json.loads(bundle.read("report.json"))["files"]
        assert [(f["file"], f["saved_as"], f.get("not_included")) for f in listed] == [
            (report["files"][0]["file"], report["files"][0]["saved_as"], None),
            ("tenancy.pdf", None, subject_access.NOT_INCLUDED),
        ]
        html = bundle.read("report.html").decode()
        assert "tenancy.pdf" in html and subject_access.NOT_INCLUDED in html


def test_the_export_command_says_which_files_it_could_not_find(
    runner: CliRunner, tmp_path: Path, storage: Any, person: dict[str, Any]
) -> None:
    storage.delete(f"files/{person['lease'].id}")
    target = tmp_path / "report.zip"
    done = runner.invoke(
        main, ["citizens", "export", str(person["record"]), "--format", "zip", "--output", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert "(1 file)" in done.output
    assert "warning: 1 of the person's files could not be found in storage" in done.output
    assert f"files/{person['case'].reference}/2-tenancy.pdf" in done.output
    with zipfile.ZipFile(target) as bundle:
        assert json.loads(bundle.read("report.json"))["files"][1]["not_included"] == subject_access.NOT_INCLUDED


def test_the_export_command_wants_a_file_for_a_zip(runner: CliRunner, person: dict[str, Any]) -> None:
    done = runner.invoke(main, ["citizens", "export", str(person["record"]), "--format", "zip"])
    assert done.exit_code == 2
    assert "--format zip needs --output FILE" in done.output
