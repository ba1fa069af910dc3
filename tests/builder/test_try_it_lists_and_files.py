"""Try it through an add-another question's pages and a file question's, as a citizen would.

The pages and their writes are the runtime's (runtime.web.add_another and
runtime.services.repeating; runtime.web.upload_pages and runtime.services.uploading), given the
designer's preview session as where the answers are kept. A file uploaded while trying a draft
is checked and scanned by the run's clamd like a citizen's, is held by the preview session
(apart from citizens' files, never sent), and goes when the designer starts again, or with the
preview session when the draft is discarded.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts
from runtime.data import uploads as upload_data
from runtime.models import FormSession, PreviewSession, StaffUser, Submission, Upload
from runtime.services import uploading
from tests.builder.conftest import StaffMembers
from tests.builder.test_try_it import PREFIX, _make_draft
from tests.conftest import page
from tests.journeys import HAPPY_PATHS, UploadFile, has_files, multipart_fields
from tests.runtime.helpers import error_summary, inline_errors
from tests.upload_servers import EICAR

HOUSEHOLD = "household-members"
BADGE = "blue-badge"


def _base(service_id: str) -> str:
    return f"/services/{service_id}/try"


def _engine(app: Flask) -> Any:
    return app.extensions["civicforms.engine"]


def _designer(app: Flask, staff: StaffMembers, service_id: str) -> tuple[StaffUser, FlaskClient]:
    user = staff.create(roles=[(staff.department_of(service_id), core.DESIGNER)])
    _make_draft(app, user, service_id)
    return user, staff.sign_in(user)


@pytest.fixture
def household(builder_app: Flask, staff: StaffMembers) -> FlaskClient:
    return _designer(builder_app, staff, HOUSEHOLD)[1]


@pytest.fixture
def badge(builder_app: Flask, staff: StaffMembers) -> tuple[StaffUser, FlaskClient]:
    return _designer(builder_app, staff, BADGE)


def _hidden(soup: BeautifulSoup, selector: str = "main form[method=post]") -> dict[str, str]:
    form = soup.select_one(selector)
    assert form is not None, f"no {selector}"
    return {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}


def _post(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    """Post a page as its own form does: a file question's upload form (multipart, with the
    file and Continue), or the page's form, with the hidden fields (CSRF token, fingerprint)."""
    shown = client.get(url)
    assert shown.status_code == 200, (url, shown.status_code, shown.headers.get("Location"))
    soup = page(shown)
    assert soup.select_one(".cf-try-it-banner") is not None, f"no try-it banner on {url}"
    if has_files(data):
        fields, files = multipart_fields(data)
        upload = soup.select_one("main form[enctype='multipart/form-data']")
        assert upload is not None
        sent = {name: (io.BytesIO(f.content), f.name, f.mime) for name, f in files.items()}
        return client.post(
            str(upload["action"]).removeprefix(PREFIX), data={**_hidden(soup, "main form[enctype]"), **fields, **sent}
        )
    return client.post(url, data={**_hidden(soup), **data})


def _walk(client: FlaskClient, service_id: str, until: str | None = None, after: str | None = None) -> Any:
    """Start (or carry on from step ``after``) and answer the happy path, to ``until`` or check answers."""
    base = _base(service_id)
    path = HAPPY_PATHS[service_id]
    response = None
    if after is None:
        start = page(client.get(f"{base}/"))
        response = client.post(f"{base}/start", data=_hidden(start))
    else:
        path = path[[step for step, _data in path].index(after) :]
    for page_id, data in path:
        if response is not None:
            assert response.status_code == 303
            assert response.headers["Location"] == f"{PREFIX}{base}/pages/{page_id}", response.headers["Location"]
        if page_id == until:
            return response
        response = _post(client, f"{base}/pages/{page_id}", data)
        assert response.status_code == 303, (page_id, error_summary(page(response)), inline_errors(page(response)))
    assert until is None
    assert response.headers["Location"] == f"{PREFIX}{base}/check-answers"
    return response


def _rows(soup: BeautifulSoup) -> dict[str, str]:
    return {
        row.select_one(".govuk-summary-list__key").get_text(" ", strip=True): row.select_one(  # type: ignore[union-attr]
            ".govuk-summary-list__value"
        ).get_text(" ", strip=True)
        for row in soup.select("main .govuk-summary-list__row")
        if row.select_one(".govuk-summary-list__key") is not None
    }


def _count(app: Flask, model: Any) -> int:
    with dbmod.session(_engine(app)) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _uploads(app: Flask) -> list[Upload]:
    with dbmod.session(_engine(app)) as s:
        return list(s.exec(select(Upload).order_by(Upload.created_at)))


# -- add another -------------------------------------------------------------------------------


def test_walk_a_list_to_check_answers_with_nothing_sent(builder_app: Flask, household: FlaskClient) -> None:
    """The housing service's happy path: item 1 asked on the list's page, "Yes" to item 2's
    page, "No" on; the list page says who was added; check answers lists both people."""
    _walk(household, HOUSEHOLD, until="household-members/2")
    listed = page(household.get(f"{_base(HOUSEHOLD)}/pages/household-members"))
    assert "You have added 1 person" in listed.get_text(" ", strip=True)
    assert listed.select_one("main .govuk-summary-list").get_text(" ", strip=True).startswith("John Smith")  # type: ignore[union-attr]
    change = listed.select_one("main .govuk-summary-list__actions a")
    assert change is not None and change["href"] == f"{PREFIX}{_base(HOUSEHOLD)}/pages/household-members/1"

    _walk(household, HOUSEHOLD, after="household-members/2")
    check = page(household.get(f"{_base(HOUSEHOLD)}/check-answers"))
    text = check.get_text(" ", strip=True)
    assert "John Smith" in text and "Amy Smith" in text
    sent = household.post(f"{_base(HOUSEHOLD)}/check-answers", data=_hidden(check))
    assert sent.headers["Location"] == f"{PREFIX}{_base(HOUSEHOLD)}/confirmation"
    assert _count(builder_app, FormSession) == 0 and _count(builder_app, Submission) == 0


def test_change_and_remove_an_item(household: FlaskClient) -> None:
    _walk(household, HOUSEHOLD)
    base = f"{_base(HOUSEHOLD)}/pages/household-members"
    item = page(household.get(f"{base}/2"))
    assert item.select_one("h1").get_text(strip=True) == "Change the details of Amy Smith"  # type: ignore[union-attr]
    changed = household.post(f"{base}/2", data={**_hidden(item), "full_name": "Amy Jones", "relationship": "child"})
    assert changed.status_code == 303 and changed.headers["Location"] == f"{PREFIX}{base}"
    assert "Amy Jones" in page(household.get(base)).get_text(" ", strip=True)

    asked = page(household.get(f"{base}/2/remove"))
    assert asked.select_one("h1").get_text(strip=True) == "Are you sure you want to remove Amy Jones?"  # type: ignore[union-attr]
    removal = {**_hidden(asked), "remove-item": "yes"}
    gone = household.post(f"{base}/2/remove", data=removal)
    assert gone.headers["Location"] == f"{PREFIX}{base}?removed=1"
    shown = page(household.get(base + "?removed=1"))
    assert "Person removed" in shown.get_text(" ", strip=True)
    assert "Amy Jones" not in shown.get_text(" ", strip=True)

    # The removal posted again (the back button): refused, nothing written.
    again = household.post(f"{base}/2/remove", data=removal)
    assert again.status_code == 303 and "problem=no-such-item" in again.headers["Location"]
    twice = household.post(f"{base}/1/remove", data=removal)  # item 1's page, with item 2's fingerprint
    assert "problem=changed" in twice.headers["Location"]
    assert "John Smith" in page(household.get(base)).get_text(" ", strip=True)


def test_an_item_out_of_range_and_an_invalid_item(household: FlaskClient) -> None:
    _walk(household, HOUSEHOLD)
    base = f"{_base(HOUSEHOLD)}/pages/household-members"
    for number in ("9", "0", "x", "99999"):
        response = household.get(f"{base}/{number}")
        assert response.status_code == 303 and response.headers["Location"] == f"{PREFIX}{base}?problem=no-such-item"
    banner = page(household.get(f"{base}?problem=no-such-item")).get_text(" ", strip=True)
    assert "There is no person with that number in your list. Nothing has been changed." in banner

    adding = page(household.get(f"{base}/3"))
    refused = household.post(f"{base}/3", data={**_hidden(adding), "full_name": "", "relationship": "cousin"})
    assert refused.status_code == 200
    errors = error_summary(page(refused))
    assert [href for _text, href in errors] == ["#full-name", "#relationship"]
    assert "2 people" in page(household.get(base)).get_text(" ", strip=True)  # nothing added


def test_start_again_forgets_the_list(builder_app: Flask, household: FlaskClient) -> None:
    _walk(household, HOUSEHOLD)
    start = page(household.get(f"{_base(HOUSEHOLD)}/"))
    household.post(f"{_base(HOUSEHOLD)}/restart", data=_hidden(start, "form.cf-try-it-restart"))
    response = household.get(f"{_base(HOUSEHOLD)}/pages/household-members")
    assert response.status_code == 303  # not reached: the address is asked first again
    assert _count(builder_app, PreviewSession) == 1  # made again by that page's read, with no answers


# -- files ---------------------------------------------------------------------------------------


def _stored(app: Flask) -> list[Path]:
    folder = Path(app.extensions["civicforms.settings"].upload_dir)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _purge(app: Flask) -> int:
    """``civicforms sessions purge``'s pass over unsent files."""
    return uploading.purge_forgotten(
        session_factory=lambda: dbmod.session(_engine(app)), files=app.extensions["civicforms.uploads"]
    )


def test_upload_files_as_a_citizen_would(builder_app: Flask, badge: tuple[StaffUser, FlaskClient]) -> None:
    """Blue Badge's photo and proof of identity: uploaded (checked, scanned, stored), listed on
    check answers, held by the preview session and never sent."""
    user, client = badge
    _walk(client, BADGE)
    check = page(client.get(f"{_base(BADGE)}/check-answers"))
    rows = _rows(check)
    assert "my photo.jpg" in " ".join(rows.values()) and "passport scan.png" in " ".join(rows.values())

    files = _uploads(builder_app)
    assert [(f.question, f.status, f.submission_id) for f in files] == [
        ("photo", "clean", None),
        ("proof_of_identity", "clean", None),
    ]
    with dbmod.session(_engine(builder_app)) as s:
        assert user.id is not None
        preview = drafts.get_preview_session(session=s, user_id=user.id, service_id=BADGE)
        assert preview is not None and preview.id is not None
        assert {f.form_session_id for f in files} == {upload_data.preview_holder(preview.id)}
        assert [f["name"] for f in preview.answers["photo"]] == ["my photo.jpg"]
    assert len([p for p in _stored(builder_app) if p.parent.name == "files"]) == 2

    sent = client.post(f"{_base(BADGE)}/check-answers", data=_hidden(check))
    assert sent.headers["Location"] == f"{PREFIX}{_base(BADGE)}/confirmation"
    assert _count(builder_app, Submission) == 0 and _count(builder_app, FormSession) == 0
    # Still held by the preview session (not forgotten by the purge of citizens' unsent files).
    purged = _purge(builder_app)
    assert purged == 0 and len(_uploads(builder_app)) == 2


def test_a_virus_an_empty_file_and_the_wrong_kind_are_refused(
    builder_app: Flask, badge: tuple[StaffUser, FlaskClient]
) -> None:
    _user, client = badge
    _walk(client, BADGE, until="photo")
    url = f"{_base(BADGE)}/pages/photo"
    for file, message in (
        (UploadFile("photo.jpg", EICAR, "image/jpeg"), "The selected file"),
        (UploadFile("empty.jpg", b"", "image/jpeg"), "The selected file is empty"),
        (UploadFile("notes.jpg", b"just some text, not a photo", "image/jpeg"), "The selected file must be"),
    ):
        refused = _post(client, url, {"photo": file})
        assert refused.status_code == 200, file.name
        assert inline_errors(page(refused))[0].startswith(message), (file.name, inline_errors(page(refused)))
    assert _uploads(builder_app) == [] and _stored(builder_app) == []
    assert not list(Path(builder_app.extensions["civicforms.settings"].quarantine_dir).glob("*"))
    # Continue with nothing uploaded: the page's own rule.
    shown = page(client.get(url))
    empty = client.post(url, data=_hidden(shown, "main form[enctype]"))
    assert empty.status_code == 200 and inline_errors(page(empty))


def test_remove_a_file_and_start_again_deletes_them(builder_app: Flask, badge: tuple[StaffUser, FlaskClient]) -> None:
    _user, client = badge
    _walk(client, BADGE)
    url = f"{_base(BADGE)}/pages/photo"
    shown = page(client.get(url))
    remove = shown.select_one("main form[action*='/files/']")
    assert remove is not None and "my photo.jpg" in shown.get_text(" ", strip=True)
    removed = client.post(
        str(remove["action"]).removeprefix(PREFIX), data=_hidden(shown, "main form[action*='/files/']")
    )
    assert removed.headers["Location"] == f"{PREFIX}{url}?removed=1"
    assert "The file has been removed" in page(client.get(f"{url}?removed=1")).get_text(" ", strip=True)
    assert [f.question for f in _uploads(builder_app)] == ["proof_of_identity"]
    # Posted again: refused, nothing changed.
    again = client.post(str(remove["action"]).removeprefix(PREFIX), data=_hidden(shown, "main form[action*='/files/']"))
    assert again.status_code == 200 and "The file has already been removed" in inline_errors(page(again))

    start = page(client.get(f"{_base(BADGE)}/"))
    client.post(f"{_base(BADGE)}/restart", data=_hidden(start, "form.cf-try-it-restart"))
    assert _uploads(builder_app) == [] and _stored(builder_app) == []


def test_files_go_with_the_preview_session_when_the_draft_goes(
    builder_app: Flask, badge: tuple[StaffUser, FlaskClient]
) -> None:
    _user, client = badge
    _walk(client, BADGE)
    assert len(_uploads(builder_app)) == 2
    with dbmod.session(_engine(builder_app)) as s:
        drafts.delete_draft(session=s, service_id=BADGE)  # discarded: everyone's preview sessions go
        s.commit()
    purged = _purge(builder_app)
    assert purged == 2 and _uploads(builder_app) == [] and _stored(builder_app) == []


def test_a_file_too_large_is_refused_before_it_is_written(
    builder_app: Flask, badge: tuple[StaffUser, FlaskClient]
) -> None:
    _user, client = badge
    _walk(client, BADGE, until="photo")
    url = f"{_base(BADGE)}/pages/photo"
    shown = page(client.get(url))
    big = UploadFile("huge.jpg", b"\xff\xd8\xff" + b"\0" * (25 * 1024 * 1024), "image/jpeg")
    # Built in memory: the test client spools a large body to a file it leaves open.
    data = MultiDict({**_hidden(shown, "main form[enctype]"), "photo": FileStorage(io.BytesIO(big.content), big.name)})
    boundary, body = encode_multipart(data)
    response = client.post(f"{url}/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 303 and response.headers["Location"] == f"{PREFIX}{url}?error=too-large"
    assert "must be smaller than" in " ".join(inline_errors(page(client.get(f"{url}?error=too-large"))))
    assert _uploads(builder_app) == [] and _stored(builder_app) == []
    assert not list(Path(builder_app.extensions["civicforms.settings"].quarantine_dir).glob("*"))


def test_uploads_need_a_signed_in_designer_of_the_service(
    builder: FlaskClient, builder_app: Flask, staff: StaffMembers, badge: tuple[StaffUser, FlaskClient]
) -> None:
    """Nobody signed in, a designer of another department, and a post without its CSRF token:
    each refused, and no file kept."""
    _user, client = badge
    _walk(client, BADGE, until="photo")
    url = f"{_base(BADGE)}/pages/photo/upload"
    photo = HAPPY_PATHS[BADGE][[step for step, _data in HAPPY_PATHS[BADGE]].index("photo")][1]["photo"]

    def file() -> dict[str, Any]:
        return {"photo": (io.BytesIO(photo.content), photo.name, photo.mime), "action": "upload"}

    anonymous = builder.post(url, data=file())
    assert anonymous.status_code in (302, 303, 400) and "/pages/photo" not in anonymous.headers.get("Location", "")
    outsider = staff.sign_in(staff.create(roles=[(staff.department("Parks"), core.DESIGNER)]))
    token = page(outsider.get("/")).select_one("input[name=csrf_token]")
    assert token is not None
    assert outsider.post(url, data={**file(), "csrf_token": str(token["value"])}).status_code in (403, 404)
    assert client.post(url, data=file()).status_code == 400  # no CSRF token
    assert _uploads(builder_app) == [] and _stored(builder_app) == []
