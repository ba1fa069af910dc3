"""The bytes of a removed, purged or erased file are deleted through a queue (migration 0011,
docs/uploads.md "Deleting"): queued in the transaction that deletes the row, deleted just after
it commits, and, when the storage refuses then, kept queued until the worker deletes them. Before,
a storage that failed at that moment left the bytes in storage for good (the purge looks for
rows, and the row was gone), and a document's removal answered 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlmodel import select

from runtime.cli import main
from runtime.db import session as new_session
from runtime.models import FormSession, StorageDeletion, Upload, utcnow
from runtime.services import uploading
from runtime.storage import StorageUnavailable
from tests.conftest import Citizen, page
from tests.runtime.test_document_uploads import _ask, _files, _send, _upload
from tests.runtime.test_document_uploads import settings as settings  # noqa: PLC0414  (its fixture: files here)
from tests.runtime.test_uploads_pages import PHOTO_PAGE, at_photo_page, settings_of, stored_files, upload
from tests.upload_servers import jpeg_bytes, png_bytes


def _engine(app: Flask) -> Any:
    return app.extensions["civicforms.engine"]


def _queued(app: Flask) -> list[StorageDeletion]:
    with new_session(_engine(app)) as s:
        return list(s.exec(select(StorageDeletion).order_by(StorageDeletion.id)))


def _uploads(app: Flask) -> list[Upload]:
    with new_session(_engine(app)) as s:
        return list(s.exec(select(Upload)))


@pytest.fixture
def storage_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The app's storage refuses every delete until the test undoes it."""

    def delete(key: str) -> None:
        raise StorageUnavailable("the bucket is not answering")

    monkeypatch.setattr(_files(app).storage, "delete", delete)
    yield monkeypatch


def _worker_pass_later(app: Flask) -> uploading.Deleted:
    """The worker's pass once every queued deletion's next try is due."""
    with new_session(_engine(app)) as s:
        for deletion in s.exec(select(StorageDeletion)):
            deletion.next_attempt_at = utcnow() - timedelta(seconds=1)
            s.add(deletion)
        s.commit()
    return uploading.delete_due(session_factory=lambda: new_session(_engine(app)), files=_files(app))


def test_a_removed_file_s_bytes_are_deleted_at_once_and_nothing_stays_queued(app: Flask, citizen: Citizen) -> None:
    at_photo_page(citizen)
    assert upload(citizen.client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64))).status_code == 303
    assert len(stored_files(settings_of(app))) == 2  # the photo and its thumbnail
    form = page(citizen.client.get(PHOTO_PAGE)).select_one("form[action$='/remove']")
    response = citizen.client.post(str(form["action"]), data={"csrf_token": citizen.csrf(PHOTO_PAGE)})
    assert response.status_code == 303 and "removed=" in response.headers["Location"]
    assert _uploads(app) == [] and stored_files(settings_of(app)) == [] and _queued(app) == []


def test_a_file_removed_while_the_storage_is_down_is_deleted_by_the_worker(
    app: Flask, citizen: Citizen, storage_down: pytest.MonkeyPatch
) -> None:
    storage_down.undo()  # the upload itself works
    at_photo_page(citizen)
    assert upload(citizen.client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64))).status_code == 303
    (row,) = _uploads(app)
    form = page(citizen.client.get(PHOTO_PAGE)).select_one("form[action$='/remove']")
    token = citizen.csrf(PHOTO_PAGE)
    storage_down.setattr(_files(app).storage, "delete", _refuse)
    response = citizen.client.post(str(form["action"]), data={"csrf_token": token})
    # The citizen's file is removed from the form: no row, no answer, listed nowhere.
    assert response.status_code == 303 and "removed=" in response.headers["Location"]
    assert _uploads(app) == []
    assert "face.jpg" not in page(citizen.client.get(PHOTO_PAGE)).get_text()
    with new_session(_engine(app)) as s:
        assert "photo" not in s.exec(select(FormSession)).one().answers
    # Its bytes wait in the queue (not forgotten, as before), with why and when to try again.
    (queued,) = _queued(app)
    assert queued.upload_id == row.id and queued.attempts == 1 and "not answering" in (queued.last_error or "")
    assert queued.next_attempt_at > utcnow()
    assert len(stored_files(settings_of(app))) == 2
    # Not tried again before it is due; then the storage answers and the worker deletes them.
    storage_down.undo()
    early = uploading.delete_due(session_factory=lambda: new_session(_engine(app)), files=_files(app))
    assert (early.deleted, early.left) == (0, 0) and len(_queued(app)) == 1
    done = _worker_pass_later(app)
    assert (done.deleted, done.left) == (1, 0)
    assert stored_files(settings_of(app)) == [] and _queued(app) == []


def _refuse(key: str) -> None:
    raise StorageUnavailable("the bucket is not answering")


def test_a_failed_try_waits_twice_as_long_each_time(app: Flask, citizen: Citizen) -> None:
    at_photo_page(citizen)
    assert upload(citizen.client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64))).status_code == 303
    files = _files(app)
    waits = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files.storage, "delete", _refuse)
        form = page(citizen.client.get(PHOTO_PAGE)).select_one("form[action$='/remove']")
        citizen.client.post(str(form["action"]), data={"csrf_token": citizen.csrf(PHOTO_PAGE)})
        for tries in range(1, 10):
            (queued,) = _queued(app)
            assert queued.attempts == tries
            waits.append(round((queued.next_attempt_at - utcnow()).total_seconds() / 60))
            assert _worker_pass_later(app).left == 1
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]  # minutes: doubling, at most an hour


def test_the_purge_of_unsent_forms_queues_what_the_storage_refuses(
    app: Flask, citizen: Citizen, storage_down: pytest.MonkeyPatch
) -> None:
    storage_down.undo()
    at_photo_page(citizen)
    assert upload(citizen.client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64))).status_code == 303
    with new_session(_engine(app)) as s:  # the form expired long ago
        form = s.exec(select(FormSession)).one()
        s.delete(form)
        s.commit()
    storage_down.setattr(_files(app).storage, "delete", _refuse)
    purged = uploading.purge_forgotten(session_factory=lambda: new_session(_engine(app)), files=_files(app))
    assert purged == 1 and _uploads(app) == [] and len(_queued(app)) == 1
    storage_down.undo()
    assert _worker_pass_later(app).deleted == 1
    assert stored_files(settings_of(app)) == [] and _queued(app) == []


def test_a_document_removed_while_the_storage_is_down_is_not_a_500(
    app: Flask, citizen: Citizen, storage_down: pytest.MonkeyPatch
) -> None:
    storage_down.undo()
    _send(citizen)
    url = f"/information/{_ask(app)}"
    assert _upload(citizen, url, 1, "tenancy.png", png_bytes()).status_code == 303
    (row,) = _uploads(app)
    form = page(citizen.client.get(url)).select_one("#document-1-section form[action$='/remove']")
    token = citizen.csrf(url)
    storage_down.setattr(_files(app).storage, "delete", _refuse)
    response = citizen.client.post(str(form["action"]), data={"csrf_token": token})
    assert response.status_code == 303
    assert _uploads(app) == [] and [q.upload_id for q in _queued(app)] == [row.id]
    assert "tenancy.png" not in page(citizen.client.get(url)).get_text()
    storage_down.undo()
    assert _worker_pass_later(app).deleted == 1
    assert not _files(app).storage.exists(f"files/{row.id}") and _queued(app) == []


def test_the_worker_deletes_what_is_queued(app: Flask, citizen: Citizen, settings: Any) -> None:
    at_photo_page(citizen)
    assert upload(citizen.client, PHOTO_PAGE, "face.jpg", jpeg_bytes((64, 64))).status_code == 303
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_files(app).storage, "delete", _refuse)
        form = page(citizen.client.get(PHOTO_PAGE)).select_one("form[action$='/remove']")
        citizen.client.post(str(form["action"]), data={"csrf_token": citizen.csrf(PHOTO_PAGE)})
    with new_session(_engine(app)) as s:
        for deletion in s.exec(select(StorageDeletion)):
            deletion.next_attempt_at = utcnow() - timedelta(seconds=1)
            s.add(deletion)
        s.commit()
    done = CliRunner().invoke(main, ["worker", "--once"], env=_worker_env(settings), catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "deleted the stored bytes of 1 removed file" in done.output
    assert stored_files(settings_of(app)) == [] and _queued(app) == []


def _worker_env(settings: Any) -> dict[str, str]:
    return {
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_DATABASE_URL": settings.database_url,
        "CIVICFORMS_SECRET_KEY": settings.secret_key,
        "CIVICFORMS_UPLOAD_DIR": str(settings.upload_dir),
        "CIVICFORMS_QUARANTINE_DIR": str(settings.quarantine_dir),
        "CIVICFORMS_CLAMD_ADDRESS": settings.clamd_address,
    }
