"""Publishing from the builder: checklist, change summary, files and git, history, rollback, the definition tab."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from builder.web import PREFIX
from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts
from runtime.definition import dumps, read_file
from runtime.models import Service, ServiceVersion, StaffUser
from runtime.services import releasing
from runtime.settings import Settings
from tests.builder.conftest import StaffMembers
from tests.builder.test_publishing import git, isolated_git, make_repo  # noqa: F401 - isolated_git is a fixture
from tests.conftest import Citizen, page

SERVICE = "blue-badge"
QUESTION = "Do you live in Westbridge?"


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """The test settings with a definitions folder of the test's own; a git repository in review/direct mode."""
    mode = getattr(request, "param", "file")
    folder = tmp_path / "repo" / "form_definitions"
    if mode == "file":
        folder.mkdir(parents=True)
    else:
        make_repo(tmp_path / "repo")
        folder.mkdir()
    return Settings(
        environment="test",
        secret_key="test-secret-key-" + "x" * 32,
        database_url=database_url,
        secure_cookies=False,
        organisation_name="Westbridge Council",
        definitions_dir=folder,
        publish_mode="review" if mode == "review" else "direct",
        git_workdir=tmp_path / "git-working-copy",
    )


def one(soup: Any, selector: str) -> Any:
    """The one element the selector finds (the test fails here if there is none)."""
    found = soup.select_one(selector)
    assert found is not None, selector
    return found


def live_doc(app: Flask, version: int | None = None) -> dict[str, Any]:
    """A published definition, read from its row (the versions cache outlives a truncated test database)."""
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        service = s.get(Service, SERVICE)
        assert service is not None
        wanted = version if version is not None else service.current_version
        row = s.exec(
            select(ServiceVersion).where(ServiceVersion.service_id == SERVICE, ServiceVersion.version == wanted)
        ).one()
        return copy.deepcopy(row.definition)


def make_draft(app: Flask, user: StaffUser, doc: dict[str, Any], *, previewed: bool = True) -> None:
    assert user.id is not None
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        service_department = StaffMembers(app).department_of(SERVICE)
        draft = drafts.create_draft(
            session=s, doc=doc, department_id=service_department, user_id=user.id, base_version=doc["version"]
        )
        if previewed:
            drafts.mark_draft(session=s, draft=draft, preview_visited=True)
        s.commit()


def reworded(app: Flask) -> dict[str, Any]:
    doc = live_doc(app)
    doc["questions"]["lives_in_area"]["label"] = "Is your home in Westbridge?"
    return doc


def csrf(client: FlaskClient, url: str) -> str:
    field = page(client.get(url)).select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])


def post_publish(client: FlaskClient, revision: int = 1) -> Any:
    url = f"/services/{SERVICE}/publish"
    return client.post(url, data={"csrf_token": csrf(client, url), "revision": str(revision)})


def versions(app: Flask) -> list[int]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        rows = s.exec(select(ServiceVersion.version).where(ServiceVersion.service_id == SERVICE)).all()
        return sorted(rows)


def designer(staff: StaffMembers, role: str = core.DESIGNER, name: str = "Sam Designer") -> StaffUser:
    return staff.create(roles=[(staff.department_of(SERVICE), role)], name=name)


# -- publishing ---------------------------------------------------------------------------------


def test_publishing_a_draft_makes_a_new_live_version(
    builder_app: Flask, staff: StaffMembers, settings: Settings, citizen: Citizen
) -> None:
    user = designer(staff)
    make_draft(builder_app, user, reworded(builder_app))
    client = staff.sign_in(user)
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert [li.text for li in shown.select(".cf-summary li")] == [
        f"Reworded question '{QUESTION}' to 'Is your home in Westbridge?'"
    ]
    assert len(shown.select(".cf-check--done")) == 4
    assert one(shown, "button.cf-publish").text.strip() == "Publish version 4"

    response = post_publish(client)
    assert response.status_code == 303
    assert versions(builder_app) == [3, 4]
    assert live_doc(builder_app)["questions"]["lives_in_area"]["label"] == "Is your home in Westbridge?"
    written = settings.definitions_dir / f"{SERVICE}.json"
    assert written.read_text(encoding="utf-8") == dumps(live_doc(builder_app))
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert drafts.get_draft(session=s, service_id=SERVICE) is None
        row = s.exec(select(ServiceVersion).where(ServiceVersion.version == 4)).one()
        assert row.published_by == user.id
        assert row.change_summary == [f"Reworded question '{QUESTION}' to 'Is your home in Westbridge?'"]
    after = page(client.get(response.headers["Location"].removeprefix(PREFIX)))
    assert "Your changes are live." in after.text

    citizen.start(SERVICE)
    shown_to_citizen = citizen.client.get(f"/services/{SERVICE}/where-you-live")
    assert one(page(shown_to_citizen), "h1, legend").text.strip() == "Is your home in Westbridge?"


def test_publishing_is_refused_while_the_checklist_is_not_done(builder_app: Flask, staff: StaffMembers) -> None:
    user = designer(staff)
    doc = reworded(builder_app)
    doc["pages"][0]["questions"].append("no_such_question")
    del doc["privacy"]
    make_draft(builder_app, user, doc, previewed=False)
    client = staff.sign_in(user)
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert len(shown.select(".cf-check--todo")) == 4
    problems = " ".join(li.text for li in shown.select(".cf-problems li"))
    assert "Page 'Where you live': " in problems and "no_such_question" in problems
    assert "privacy notice" in problems
    assert "Preview the service" in problems
    assert shown.select_one("button.cf-publish") is None
    response = post_publish(client)
    assert response.status_code == 400
    assert "checklist" in one(page(response), ".govuk-error-summary").text
    assert versions(builder_app) == [3]


def test_a_draft_without_changes_is_not_published(builder_app: Flask, staff: StaffMembers) -> None:
    user = designer(staff)
    make_draft(builder_app, user, live_doc(builder_app))
    client = staff.sign_in(user)
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert shown.select_one("button.cf-publish") is None
    assert one(shown, ".cf-unchanged").text.startswith("There is nothing to publish")
    response = post_publish(client)
    assert response.status_code == 400
    assert "There are no changes to publish" in one(page(response), ".govuk-error-summary").text
    assert versions(builder_app) == [3]


def test_publishing_an_old_revision_is_refused(builder_app: Flask, staff: StaffMembers) -> None:
    user = designer(staff)
    make_draft(builder_app, user, reworded(builder_app))
    client = staff.sign_in(user)
    response = post_publish(client, revision=7)
    assert response.status_code == 409
    assert "A colleague changed this service" in one(page(response), ".govuk-error-summary").text
    assert versions(builder_app) == [3]


def test_a_failed_write_leaves_the_database_as_it_was(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    user = designer(staff)
    make_draft(builder_app, user, reworded(builder_app))
    settings.definitions_dir.rmdir()
    settings.definitions_dir.write_text("a file where the folder should be")
    client = staff.sign_in(user)
    response = post_publish(client)
    assert response.status_code == 400
    assert "The service was not published" in one(page(response), ".govuk-error-summary").text
    assert versions(builder_app) == [3]
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert drafts.get_draft(session=s, service_id=SERVICE) is not None


@pytest.mark.parametrize("settings", ["direct"], indirect=True)
def test_direct_mode_commits_with_the_staff_author(builder_app: Flask, staff: StaffMembers, settings: Settings) -> None:
    user = designer(staff, name="Asha Patel")
    make_draft(builder_app, user, reworded(builder_app))
    assert post_publish(staff.sign_in(user)).status_code == 303
    repo = settings.definitions_dir.parent
    assert git(repo, "log", "-1", "--format=%an <%ae>") == f"Asha Patel <{user.email}>"
    message = git(repo, "log", "-1", "--format=%B")
    assert f"Reworded question '{QUESTION}'" in message
    assert git(repo, "status", "--porcelain") == ""
    assert versions(builder_app) == [3, 4]


@pytest.mark.parametrize("settings", ["review"], indirect=True)
def test_review_mode_waits_for_it(builder_app: Flask, staff: StaffMembers, settings: Settings) -> None:
    user = designer(staff)
    make_draft(builder_app, user, reworded(builder_app))
    client = staff.sign_in(user)
    response = post_publish(client)
    assert response.status_code == 303
    assert versions(builder_app) == [3]  # not live until IT merges and loads it
    repo = settings.definitions_dir.parent
    assert git(repo, "branch", "--list", "service/*").strip() == f"service/{SERVICE}-v4"
    assert not (settings.definitions_dir / f"{SERVICE}.json").exists()  # the work tree is untouched
    shown = page(client.get(response.headers["Location"].removeprefix(PREFIX)))
    assert one(shown, ".cf-review-status").text.strip() == "Waiting for review"
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and draft.review_branch == f"service/{SERVICE}-v4"
    # Sent: the page offers no "Publish version 5" with the same changes, and a stale button makes nothing.
    assert shown.select_one("button.cf-publish") is None
    assert "Version 4 with these changes was sent to IT for review" in one(shown, ".cf-sent").text
    stale = post_publish(client, revision=1)
    assert stale.status_code == 409
    assert (
        "sent to IT for review a moment ago by Sam Designer as version 4"
        in one(page(stale), ".govuk-error-summary").text
    )
    assert git(repo, "branch", "--list", "service/*").split() == [f"service/{SERVICE}-v4"]
    # Changed again while IT reviews: the next version gets a branch of its own, with only the new change.
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        changed = copy.deepcopy(draft.definition)
        changed["title"] = "Apply for a Blue Badge today"
        drafts.save_draft(session=s, draft=draft, doc=changed, expected_revision=draft.revision, user_id=user.id)
        s.commit()
        revision = drafts.get_draft(session=s, service_id=SERVICE).revision  # type: ignore[union-attr]
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert one(shown, "button.cf-publish").text.strip() == "Publish version 5"
    assert "Blue Badge today" in one(shown, ".cf-summary").text
    assert "Westbridge" not in one(shown, ".cf-summary").text
    assert post_publish(client, revision=revision).status_code == 303
    assert git(repo, "branch", "--list", "service/*").split() == [f"service/{SERVICE}-v4", f"service/{SERVICE}-v5"]
    git(repo, "merge", "--quiet", f"service/{SERVICE}-v5")
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert one(shown, ".cf-review-status").text == "Accepted by IT, waiting to be loaded"
    assert shown.select_one(".cf-arrived") is None  # what IT merged is what the draft sent
    assert versions(builder_app) == [3]
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:  # IT runs civicforms load --allow-close
        # (the folder holds only this service: the test's other services close)
        loaded = releasing.release(session=s, folder=settings.definitions_dir, allow_close=True)
        assert loaded.applied and [p.version for p in loaded.services if p.service_id == SERVICE] == [5]
    # Live now, and the draft had nothing else: it is settled, and nothing is offered again.
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert shown.select_one(".cf-no-changes") is not None
    assert shown.select_one("button.cf-publish") is None
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert drafts.get_draft(session=s, service_id=SERVICE) is None


# -- permissions --------------------------------------------------------------------------------


def test_a_designer_cannot_publish_a_colleagues_draft_but_a_reviewer_can(
    builder_app: Flask, staff: StaffMembers
) -> None:
    author = designer(staff, name="Alex Author")
    make_draft(builder_app, author, reworded(builder_app))
    colleague = staff.sign_in(designer(staff, name="Casey Colleague"))
    shown = page(colleague.get(f"/services/{SERVICE}/publish"))
    assert shown.select_one("button.cf-publish") is None
    assert shown.select_one(".cf-not-yours") is not None
    assert post_publish(colleague).status_code == 403
    reviewer = staff.sign_in(designer(staff, role=core.REVIEWER, name="Rae Reviewer"))
    assert post_publish(reviewer).status_code == 303
    assert versions(builder_app) == [3, 4]


def test_another_department_gets_404(builder_app: Flask, staff: StaffMembers) -> None:
    make_draft(builder_app, designer(staff), reworded(builder_app))
    stranger = staff.create(roles=[(staff.department("Highways"), core.REVIEWER)])
    client = staff.sign_in(stranger)
    for url in ("publish", "history", "definition"):
        assert client.get(f"/services/{SERVICE}/{url}").status_code == 404, url
    assert post_publish(client).status_code == 404


# -- history and rollback -----------------------------------------------------------------------


def test_history_lists_versions_and_rollback_publishes_an_old_one(builder_app: Flask, staff: StaffMembers) -> None:
    user = designer(staff, name="Sam Designer")
    make_draft(builder_app, user, reworded(builder_app))
    assert post_publish(staff.sign_in(user)).status_code == 303
    reviewer = staff.sign_in(designer(staff, role=core.REVIEWER, name="Rae Reviewer"))
    shown = page(reviewer.get(f"/services/{SERVICE}/history"))
    rows = shown.select("tr.cf-version")
    assert [row["data-version"] for row in rows] == ["4", "3"]
    assert one(rows[0], ".cf-by").text == "Sam Designer"
    assert "Reworded question" in one(rows[0], ".cf-summary").text
    assert one(rows[1], ".cf-by").text.startswith(("IT", "Loaded from git"))

    url = f"/services/{SERVICE}/history"
    # Rolling back asks first: what it publishes, with Confirm and Cancel; nothing changes yet.
    response = reviewer.post(url, data={"csrf_token": csrf(reviewer, url), "version": "3"})
    assert response.status_code == 200
    asked = page(response)
    assert one(asked, "h1").text.strip() == "Roll back to version 3?"
    assert "This publishes version 5 with version 3's content" in one(asked, ".cf-roll-back-what").text
    assert "Is your home in Westbridge?" in one(asked, ".cf-summary").text
    assert one(asked, "a.cf-cancel")["href"].endswith(f"/services/{SERVICE}/history")
    assert versions(builder_app) == [3, 4]
    confirm = one(asked, "form[action$='/roll-back']")
    assert confirm["action"].endswith(f"/services/{SERVICE}/history/roll-back")
    token = str(one(confirm, "input[name=csrf_token]")["value"])
    assert reviewer.post(url + "/roll-back", data={"version": "3"}).status_code == 400  # no CSRF token
    designer_client = staff.sign_in(designer(staff, name="Dee Designer"))
    assert designer_client.post(url + "/roll-back", data={"csrf_token": token, "version": "3"}).status_code in (
        400,
        403,
    )
    assert versions(builder_app) == [3, 4]
    response = reviewer.post(url + "/roll-back", data={"csrf_token": token, "version": "3"})
    assert response.status_code == 303
    assert versions(builder_app) == [3, 4, 5]
    old, new = live_doc(builder_app, 3), live_doc(builder_app, 5)
    assert new == {**old, "version": 5}
    rows = page(reviewer.get(url)).select("tr.cf-version")
    assert "Rolled back to version 3" in rows[0].text

    for bad in ("", "99", "<script>", "1" * 10_000):
        for target in (url, url + "/roll-back"):
            response = reviewer.post(target, data={"csrf_token": csrf(reviewer, url), "version": bad})
            assert response.status_code == 400
            assert "Choose a version" in one(page(response), ".govuk-error-summary").text
    assert versions(builder_app) == [3, 4, 5]


def test_a_designer_cannot_see_history(builder_app: Flask, staff: StaffMembers) -> None:
    client = staff.sign_in(designer(staff))
    assert client.get(f"/services/{SERVICE}/history").status_code == 403


# -- the definition file ------------------------------------------------------------------------


def test_the_definition_tab_is_read_only_for_a_designer(builder_app: Flask, staff: StaffMembers) -> None:
    client = staff.sign_in(designer(staff))
    shown = page(client.get(f"/services/{SERVICE}/definition"))
    assert one(shown, "pre.cf-definition").text == dumps(live_doc(builder_app))
    assert shown.select_one("textarea") is None
    response = client.post(
        f"/services/{SERVICE}/definition",
        data={"csrf_token": csrf(client, f"/services/{SERVICE}/definition"), "definition": "{}"},
    )
    assert response.status_code == 403


def test_an_admin_edits_the_definition(builder_app: Flask, staff: StaffMembers) -> None:
    client = staff.sign_in(designer(staff, role=core.ADMIN))
    url = f"/services/{SERVICE}/definition"
    shown = page(client.get(url))
    assert one(shown, "textarea#definition").text == dumps(live_doc(builder_app))

    hostile = '{"id": "blue-badge", "title": "<script>alert(1)</script>"'
    for text, expected in [
        ("", "$: enter the definition as JSON"),
        (hostile, "$: not valid JSON"),
        ("[1]", "$: a definition must be a JSON object"),
        (json.dumps({**live_doc(builder_app), "id": "other-service"}), "$.id: must stay 'blue-badge'"),
        (json.dumps({**live_doc(builder_app), "title": ""}), "$.title: "),
        ("\x00" * 10_000, "$: not valid JSON"),
    ]:
        response = client.post(url, data={"csrf_token": csrf(client, url), "definition": text, "revision": "0"})
        assert response.status_code == 400, text[:50]
        result = page(response)
        assert expected in one(result, ".govuk-error-summary").text, (text[:50], result.text[:500])
        assert one(result, "textarea#definition").text == text.replace("\r\n", "\n")
        assert "<script>alert" not in response.get_data(as_text=True)
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert drafts.get_draft(session=s, service_id=SERVICE) is None

    changed = reworded(builder_app)
    response = client.post(url, data={"csrf_token": csrf(client, url), "definition": dumps(changed), "revision": "0"})
    assert response.status_code == 303
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and draft.definition == changed
    assert versions(builder_app) == [3]  # saved to the draft, not published
    # A second save against the revision the admin no longer has is a conflict: the text is kept.
    again = {**changed, "title": "Apply for a Blue Badge parking permit"}
    response = client.post(url, data={"csrf_token": csrf(client, url), "definition": dumps(again), "revision": "0"})
    assert response.status_code == 400
    assert "A colleague changed this service" in one(page(response), ".govuk-error-summary").text
    assert one(page(response), "textarea#definition").text == dumps(again)


def test_a_shipped_definition_file_reads_back(tmp_path: Path) -> None:
    """The canonical text the definition tab shows is what IT has in the repository."""
    from tests.conftest import DEFINITIONS

    doc = read_file(DEFINITIONS / f"{SERVICE}.json")
    assert dumps(doc) == (DEFINITIONS / f"{SERVICE}.json").read_text(encoding="utf-8")


def test_unreachable_pages() -> None:
    """A condition that can never hold, and everything after a stop page every citizen sees."""
    from builder.web.views.publish import unreachable_pages
    from tests.core.sample import sample_doc

    doc = sample_doc()
    assert unreachable_pages(doc) == []
    about = next(p for p in doc["pages"] if p["id"] == "about-you")
    lives = {"properties": {"lives_in_area": {"const": True}}, "required": ["lives_in_area"]}
    away = {"properties": {"lives_in_area": {"const": False}}, "required": ["lives_in_area"]}
    about["show_if"] = {"allOf": [lives, away]}
    assert unreachable_pages(doc) == ["About you"]
    doc = sample_doc()
    del doc["pages"][1]["show_if"]  # the stop page is now asked of everyone
    assert unreachable_pages(doc)[:2] == ["About you", "your-pet"]


# -- open cases and a version that removes their step ---------------------------------------------

NEW_STEPS = {
    "initial": "checking",
    "states": {
        "checking": {"label": "Checking"},
        "done": {"label": "Done", "final": True},
    },
    "transitions": [{"from": "checking", "action": "close", "label": "Close", "to": "done", "roles": ["caseworker"]}],
}


def test_publishing_asks_where_open_cases_go_when_their_step_is_removed(
    builder_app: Flask, staff: StaffMembers, citizen: Citizen
) -> None:
    from runtime.models import Case
    from tests.runtime.helpers import walk

    walk(citizen, SERVICE)
    assert citizen.submit(SERVICE).status_code == 303
    user = designer(staff)
    doc = live_doc(builder_app)
    doc["workflow"] = NEW_STEPS
    make_draft(builder_app, user, doc)
    client = staff.sign_in(user)
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    label = one(shown, "label[for=move-1]").get_text(" ", strip=True)
    assert label.startswith("1 open case is in the step ‘received’, which this version removes")
    assert [o["value"] for o in shown.select("select[name='move.received'] option")] == ["", "checking", "done"]

    refused = post_publish(client)  # no choice made: refused, nothing published
    assert refused.status_code == 400
    assert 'open case is in the state "received"' in one(page(refused), ".govuk-error-summary").get_text()
    assert versions(builder_app) == [3]

    url = f"/services/{SERVICE}/publish"
    moved = client.post(url, data={"csrf_token": csrf(client, url), "revision": "1", "move.received": "checking"})
    assert moved.status_code == 303
    assert versions(builder_app) == [3, 4]
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert s.exec(select(Case.state)).one() == "checking"
