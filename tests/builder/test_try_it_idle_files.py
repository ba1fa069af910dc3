"""Files a designer uploaded while trying a service do not stay for ever.

A preview session ("try it"'s answers, which hold its files) idle longer than the citizens'
session timeout has expired, like a citizen's form session: ``civicforms sessions purge`` deletes
it, with its answers, then its files (rows, and bytes through the deletion queue); using "try it"
keeps it alive. A deactivated staff member's preview sessions go at once, and their files at the
next purge. The service here is live with no draft: "try it" shows the live version, and nothing
(no draft discarded or published) would ever end the preview session otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, delete, select

from runtime import db as dbmod
from runtime import staff as core
from runtime.cli import main
from runtime.data import drafts
from runtime.data import uploads as upload_data
from runtime.models import PreviewSession, StaffUser, utcnow
from runtime.services import accounts, uploading
from tests.builder.conftest import StaffMembers
from tests.builder.test_try_it_lists_and_files import BADGE, _base, _engine, _stored, _uploads, _walk
from tests.conftest import page


def _designer(app: Flask, staff: StaffMembers, name: str) -> tuple[StaffUser, FlaskClient]:
    """A designer of the live Blue Badge service (no draft of it) who has tried it, uploading
    the happy path's two files."""
    user = staff.create(roles=[(staff.department_of(BADGE), core.DESIGNER)], name=name)
    client = staff.sign_in(user)
    _walk(client, BADGE)
    return user, client


def _preview(app: Flask, user: StaffUser) -> PreviewSession | None:
    assert user.id is not None
    with dbmod.session(_engine(app)) as s:
        return drafts.get_preview_session(session=s, user_id=user.id, service_id=BADGE)


def _idle(app: Flask, user: StaffUser, minutes: float) -> None:
    """Make the staff member's preview session last used ``minutes`` ago."""
    assert user.id is not None
    with dbmod.session(_engine(app)) as s:
        row = drafts.get_preview_session(session=s, user_id=user.id, service_id=BADGE)
        assert row is not None
        row.updated_at = utcnow() - timedelta(minutes=minutes)
        s.add(row)
        s.commit()


def _used_at(app: Flask, user: StaffUser) -> datetime:
    row = _preview(app, user)
    assert row is not None
    return row.updated_at if row.updated_at.tzinfo is not None else row.updated_at.replace(tzinfo=UTC)


def _files_of(app: Flask, user: StaffUser) -> list[str]:
    """The ids of the files held by the staff member's preview session."""
    row = _preview(app, user)
    assert row is not None and row.id is not None
    return [u.id for u in _uploads(app) if u.form_session_id == upload_data.preview_holder(row.id)]


def _stored_ids(app: Flask) -> set[str]:
    """The uploads whose bytes are in storage."""
    return {p.name for p in _stored(app) if p.parent.name == "files"}


def _timeout(app: Flask) -> int:
    return int(app.extensions["civicforms.settings"].session_timeout_minutes)


def _purge(app: Flask) -> Any:
    """``civicforms sessions purge`` on the app's database and storage."""
    settings = app.extensions["civicforms.settings"]
    env = {
        "CIVICFORMS_DATABASE_URL": settings.database_url,
        "CIVICFORMS_SECRET_KEY": settings.secret_key,
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_UPLOAD_DIR": str(settings.upload_dir),
        "CIVICFORMS_QUARANTINE_DIR": str(settings.quarantine_dir),
        "CIVICFORMS_SESSION_TIMEOUT_MINUTES": str(settings.session_timeout_minutes),
    }
    result = CliRunner().invoke(main, ["sessions", "purge"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_the_purge_deletes_try_it_files_idle_past_the_timeout(builder_app: Flask, staff: StaffMembers) -> None:
    idle, _ = _designer(builder_app, staff, "Idle Designer")
    busy, _ = _designer(builder_app, staff, "Busy Designer")
    idle_files, busy_files = _files_of(builder_app, idle), _files_of(builder_app, busy)
    assert len(idle_files) == 2 and len(busy_files) == 2
    assert _stored_ids(builder_app) == set(idle_files + busy_files)

    # Within the timeout both are kept.
    _idle(builder_app, idle, _timeout(builder_app) - 2)
    assert _purge(builder_app).stdout == "deleted 0 expired sessions and 0 unsent files\n"
    assert len(_uploads(builder_app)) == 4 and len(_stored_ids(builder_app)) == 4

    # Idle past the timeout: the preview session, its answers, its files' rows and bytes go.
    _idle(builder_app, idle, _timeout(builder_app) + 1)
    result = _purge(builder_app)
    assert result.stdout == "deleted 0 expired sessions, 1 idle preview session and 2 unsent files\n"
    assert _preview(builder_app, idle) is None
    assert [u.id for u in _uploads(builder_app)] == busy_files
    assert _stored_ids(builder_app) == set(busy_files)
    # The colleague trying it now keeps theirs, answers and all.
    kept = _preview(builder_app, busy)
    assert kept is not None and [f["name"] for f in kept.answers["photo"]] == ["my photo.jpg"]
    assert _purge(builder_app).stdout == "deleted 0 expired sessions and 0 unsent files\n"


def test_files_of_an_idle_preview_session_are_forgotten_before_it_is_deleted(
    builder_app: Flask, staff: StaffMembers
) -> None:
    """The purge of files, given the timeout, does not rely on the preview session's row having
    been deleted first (one that expired since the sessions were purged)."""
    user, _ = _designer(builder_app, staff, "Sam Designer")
    files = builder_app.extensions["civicforms.uploads"]

    def purge(**over: Any) -> int:
        factory = lambda: dbmod.session(_engine(builder_app))  # noqa: E731
        return uploading.purge_forgotten(session_factory=factory, files=files, **over)

    _idle(builder_app, user, _timeout(builder_app) - 2)
    assert purge(preview_minutes=_timeout(builder_app)) == 0 and len(_stored_ids(builder_app)) == 2
    _idle(builder_app, user, _timeout(builder_app) + 1)
    assert purge() == 0 and len(_uploads(builder_app)) == 2  # without the timeout: held while the row is there
    assert purge(preview_minutes=_timeout(builder_app)) == 2
    assert _uploads(builder_app) == [] and _stored_ids(builder_app) == set()


def test_trying_keeps_the_preview_session_alive(builder_app: Flask, staff: StaffMembers) -> None:
    user, client = _designer(builder_app, staff, "Sam Designer")
    before = _files_of(builder_app, user)

    # Reading a page of "try it" counts as using it (as a citizen's page read does).
    _idle(builder_app, user, _timeout(builder_app) - 2)
    assert client.get(f"{_base(BADGE)}/pages/photo").status_code == 200
    assert utcnow() - _used_at(builder_app, user) < timedelta(minutes=1)
    _idle(builder_app, user, _timeout(builder_app) - 2)
    assert client.get(f"{_base(BADGE)}/check-answers").status_code == 200
    assert utcnow() - _used_at(builder_app, user) < timedelta(minutes=1)
    assert _purge(builder_app).stdout == "deleted 0 expired sessions and 0 unsent files\n"
    assert _files_of(builder_app, user) == before and len(_stored_ids(builder_app)) == 2


def test_coming_back_after_the_timeout_starts_afresh(builder_app: Flask, staff: StaffMembers) -> None:
    """An expired preview session not purged yet is not taken up again (what the purge may
    delete at any moment is never shown): it goes with its files, and a new one begins, which
    never holds the old one's files even where SQLite gives it the same id."""
    user, client = _designer(builder_app, staff, "Sam Designer")
    old = _preview(builder_app, user)
    assert old is not None
    _idle(builder_app, user, _timeout(builder_app) + 1)

    photo = client.get(f"{_base(BADGE)}/pages/photo")
    assert photo.status_code == 303  # the earlier answers are gone: back to the first question
    assert "my photo.jpg" not in page(client.get(f"{_base(BADGE)}/")).get_text(" ", strip=True)
    new = _preview(builder_app, user)
    assert new is not None and new.answers == {} and new.updated_at > old.updated_at
    assert _uploads(builder_app) == [] and _stored_ids(builder_app) == set()
    assert _purge(builder_app).stdout == "deleted 0 expired sessions and 0 unsent files\n"


def test_deactivating_a_staff_member_deletes_their_try_it_answers_and_files(
    builder_app: Flask, staff: StaffMembers
) -> None:
    user, _ = _designer(builder_app, staff, "Leaving Designer")
    colleague, _ = _designer(builder_app, staff, "Staying Designer")
    kept = _files_of(builder_app, colleague)
    assert user.id is not None
    with dbmod.session(_engine(builder_app)) as s:
        accounts.deactivate(session=s, actor=None, user_id=user.id)
    with dbmod.session(_engine(builder_app)) as s:
        assert s.exec(select(PreviewSession).where(col(PreviewSession.user_id) == user.id)).all() == []
    assert _purge(builder_app).stdout == "deleted 0 expired sessions and 2 unsent files\n"
    assert [u.id for u in _uploads(builder_app)] == kept and _stored_ids(builder_app) == set(kept)


def test_a_new_preview_session_never_holds_the_files_of_a_deleted_one(builder_app: Flask, staff: StaffMembers) -> None:
    """SQLite gives a new row the id of the last row deleted: the new preview session of a
    staff member whose last one was deleted with its files left for the purge (a draft
    discarded, a deactivation) must not take those files as its own."""
    user, client = _designer(builder_app, staff, "Sam Designer")
    assert user.id is not None
    with dbmod.session(_engine(builder_app)) as s:
        s.exec(delete(PreviewSession).where(col(PreviewSession.user_id) == user.id))  # type: ignore[call-overload]
        s.commit()
    assert client.get(f"{_base(BADGE)}/").status_code == 200
    assert _files_of(builder_app, user) == []
    photo = _walk(client, BADGE, until="photo")
    assert photo.status_code == 303
    assert "my photo.jpg" not in page(client.get(f"{_base(BADGE)}/pages/photo")).get_text(" ", strip=True)
    _purge(builder_app)
    assert _uploads(builder_app) == [] and _stored_ids(builder_app) == set()
