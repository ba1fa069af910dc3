"""Issue 15, findings 1 and 3 on the builder side: drafts that know what is live, attribution,
and publishing that happens once.

- A builder publish never puts back IT's edit: a draft behind the live version is refused (by
  the page and by the use case), the designer is told what arrived, and "Update your draft"
  merges it in; a conflict is shown side by side and must be chosen.
- Each designer is credited with their own changes: the publisher is the commit's author, every
  other designer a ``Co-authored-by:``, and the publish page says who changed what.
- Two publishes of the same revision at once give one version and a clear message; a stale
  Publish button makes nothing.
"""

from __future__ import annotations

# ruff: noqa: F811 - the settings fixture comes from test_publish, and the tests take it by name
import copy
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from builder import drafting
from builder.web import PREFIX
from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts
from runtime.definition import dumps, read_file
from runtime.models import DraftChange, StaffUser
from runtime.services import publishing as publishing_use_cases
from runtime.services import releasing
from runtime.settings import Settings
from tests.builder.conftest import StaffMembers
from tests.builder.test_publish import (  # noqa: F401 - settings and isolated_git are fixtures
    SERVICE,
    csrf,
    designer,
    git,
    isolated_git,
    live_doc,
    one,
    settings,
    versions,
)
from tests.conftest import page

IT_TEXT = "Application received: we will write to you"
LABEL = "Is your home in Westbridge?"


def save_as(app: Flask, user: StaffUser, change: Any) -> None:
    """A designer's save through the builder's use case (a draft made from the live version if none)."""
    assert user.id is not None
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        if draft is None:
            doc = live_doc(app)
            department = StaffMembers(app).department_of(SERVICE)
            base, revision = doc["version"], 0
        else:
            doc, department, base, revision = copy.deepcopy(draft.definition), draft.department_id, None, draft.revision
        change(doc)
        drafting.save_draft(
            session=s,
            actor=user.id,
            draft=draft,
            doc=doc,
            department_id=department,
            base_version=base,
            expected_revision=revision,
        )
        made = drafts.get_draft(session=s, service_id=SERVICE)
        assert made is not None
        if made.preview_visited_at is None:
            drafting.mark_previewed(session=s, actor=user.id, draft=made)


def reword(doc: dict[str, Any]) -> None:
    doc["questions"]["lives_in_area"]["label"] = LABEL


def draft_revision(app: Flask) -> int:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        return draft.revision


def it_publishes_from_git(app: Flask, settings: Settings, change: Any) -> None:
    """IT edits the file on main, bumps the version, commits and runs ``civicforms load``."""
    folder = settings.definitions_dir
    doc = read_file(folder / f"{SERVICE}.json")
    change(doc)
    doc["version"] += 1
    (folder / f"{SERVICE}.json").write_text(dumps(doc))
    git(folder.parent, "commit", "--quiet", "-am", "IT: confirmation text")
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        results = releasing.load_folder(session=s, folder=folder)
    assert all(not isinstance(r, Exception) for _, r in results), results


def commit_live_file(app: Flask, settings: Settings) -> None:
    """The reviewed folder holds the live services (blue-badge at version 3), on main."""
    folder = settings.definitions_dir
    for shipped in sorted((Path(__file__).parents[2] / "form_definitions").glob("*.json")):
        shutil.copy(shipped, folder / shipped.name)
    (folder / f"{SERVICE}.json").write_text(dumps(live_doc(app)))
    git(folder.parent, "add", ".")
    git(folder.parent, "commit", "--quiet", "-m", "The live services")


def post(client: FlaskClient, path: str, **data: str) -> Any:
    url = f"/services/{SERVICE}/publish"
    return client.post(path, data={"csrf_token": csrf(client, url), **data})


def confirm_it(doc: dict[str, Any]) -> None:
    doc["confirmation"]["title"] = IT_TEXT


# -- finding 1: a builder publish never undoes IT's edit ----------------------------------------------


@pytest.mark.parametrize("settings", ["review"], indirect=True)
def test_a_publish_after_it_changed_the_file_keeps_its_change_and_credits_nobody_else_with_it(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    commit_live_file(builder_app, settings)
    user = designer(staff)
    save_as(builder_app, user, reword)  # the designer's draft, based on version 3
    client = staff.sign_in(user)
    assert page(client.get(f"/services/{SERVICE}/")).select_one(".cf-newer-version") is None
    it_publishes_from_git(builder_app, settings, confirm_it)  # version 4, live
    assert versions(builder_app) == [3, 4]
    url = f"/services/{SERVICE}/publish"
    # The history names the commit IT's version came from, and what it changed.
    reviewer = staff.sign_in(designer(staff, role=core.REVIEWER, name="Rae Reviewer"))
    history = page(reviewer.get(f"/services/{SERVICE}/history"))
    newest = git(settings.definitions_dir.parent, "rev-parse", "HEAD")
    assert one(history, "code.cf-commit").text == newest[:7]
    assert IT_TEXT in history.select(".cf-summary")[0].text
    assert "No summary recorded" not in history.select("tbody tr")[0].text
    # The task list, where the designer starts, says so and links to the publish page.
    tasks = page(client.get(f"/services/{SERVICE}/"))
    assert one(tasks, ".cf-newer-version").text == "Version 4 went live after you started this draft."
    assert tasks.select_one(f'.govuk-notification-banner a[href="{PREFIX}{url}"]') is not None

    shown = page(client.get(url))
    assert one(shown, ".cf-arrived-source").text.startswith(
        f"Version 4 was published from git by IT (commit {newest[:7]})"
    )
    assert IT_TEXT in one(shown, ".cf-arrived-changes").text
    assert shown.select_one(".cf-conflict") is None and shown.select_one(".cf-merges") is not None
    assert shown.select_one("button.cf-publish") is None  # blocked until the draft is updated
    refused = post(client, url, revision=str(draft_revision(builder_app)))
    assert refused.status_code == 400
    assert "Update your draft" in one(page(refused), ".govuk-error-summary").text
    repo = settings.definitions_dir.parent
    assert git(repo, "branch", "--list", "service/*") == ""

    # The use case refuses it too, whatever the page does.
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and user.id is not None
        with pytest.raises(publishing_use_cases.DraftBehind):
            publishing_use_cases.publish_draft(
                session=s,
                actor=user.id,
                service_id=SERVICE,
                expected_revision=draft.revision,
                doc={**draft.definition, "version": 5},
                summary=[],
                department_id=draft.department_id,
                for_review=False,
                record=lambda: pytest.fail("nothing is recorded"),  # type: ignore[arg-type,return-value]
            )

    # "Update your draft": both changes kept, the draft now based on version 3.
    updated = post(client, f"{url}/update", revision=str(draft_revision(builder_app)))
    assert updated.status_code == 303
    shown = page(client.get(updated.headers["Location"].removeprefix(PREFIX)))
    assert one(shown, ".cf-updated") is not None
    assert shown.select_one(".cf-arrived") is None
    assert one(shown, "button.cf-publish").text.strip() == "Publish version 5"
    assert page(client.get(f"/services/{SERVICE}/")).select_one(".cf-newer-version") is None
    summary = one(shown, ".cf-summary").text
    assert LABEL in summary and "confirmation" not in summary.lower()

    assert post(client, url, revision=str(draft_revision(builder_app))).status_code == 303
    branch = f"service/{SERVICE}-v5"
    assert git(repo, "branch", "--list", "service/*") == branch
    sent = json.loads(git(repo, "show", f"{branch}:form_definitions/{SERVICE}.json"))
    assert sent["confirmation"]["title"] == IT_TEXT  # IT's text survives
    assert sent["questions"]["lives_in_area"]["label"] == LABEL
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert "onfirmation" not in message and IT_TEXT not in message
    assert LABEL in message
    assert git(repo, "log", "-1", "--format=%an", branch) == "Sam Designer"


def test_a_conflict_is_shown_side_by_side_and_must_be_chosen(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    user = designer(staff)
    save_as(builder_app, user, lambda d: d["confirmation"].update(title="Ours: thank you"))
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:  # IT loads version 4
        from runtime.data import published

        doc = live_doc(builder_app)
        doc["confirmation"]["title"] = IT_TEXT
        doc["version"] = 4
        published.publish(session=s, doc=doc)
        s.commit()
    client = staff.sign_in(user)
    url = f"/services/{SERVICE}/publish"
    shown = page(client.get(url))
    conflict = one(shown, ".cf-conflict")
    assert conflict["data-key"] == "confirmation/title"
    assert "The confirmation page: its title" in conflict.text
    assert one(conflict, ".cf-ours").text == "Ours: thank you"
    assert one(conflict, ".cf-theirs").text == IT_TEXT
    refused = post(client, f"{url}/update", revision=str(draft_revision(builder_app)))
    assert refused.status_code == 400
    assert (
        "Choose which text to keep for the confirmation page: its title"
        in one(page(refused), ".govuk-error-summary").text
    )
    chosen = post(
        client, f"{url}/update", revision=str(draft_revision(builder_app)), **{"choice.confirmation/title": "ours"}
    )
    assert chosen.status_code == 303
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and draft.definition["confirmation"]["title"] == "Ours: thank you"
        assert draft.base_version == 4 and draft.base_definition["confirmation"]["title"] == IT_TEXT  # type: ignore[index]
    response = post(client, url, revision=str(draft_revision(builder_app)))
    assert response.status_code == 303
    assert versions(builder_app) == [3, 4, 5]
    assert live_doc(builder_app)["confirmation"]["title"] == "Ours: thank you"


# -- finding 3: attribution, one publish, no stale button -----------------------------------------------


@pytest.mark.parametrize("settings", ["review"], indirect=True)
def test_each_designer_is_credited_with_their_own_changes(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    commit_live_file(builder_app, settings)
    ann = designer(staff, name="Ann Other")
    bo = designer(staff, name="Bo Publisher")
    save_as(builder_app, ann, reword)
    save_as(builder_app, bo, lambda d: d.update(title="Apply for a Blue Badge now"))
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        rows = s.exec(__import__("sqlmodel").select(DraftChange).order_by(DraftChange.revision)).all()
        assert [(r.user_id, r.parts) for r in rows] == [(ann.id, ["question:lives_in_area"]), (bo.id, ["title"])]
    client = staff.sign_in(bo)
    url = f"/services/{SERVICE}/publish"
    shown = page(client.get(url))
    lines = [li.text.strip() for li in shown.select(".cf-contribution")]
    assert lines == [
        f"Changes by Ann Other: the question '{LABEL}'",
        "Changes by Bo Publisher (you): the service's name",
    ]
    assert post(client, url, revision=str(draft_revision(builder_app))).status_code == 303
    repo = settings.definitions_dir.parent
    branch = f"service/{SERVICE}-v4"
    assert git(repo, "log", "-1", "--format=%an <%ae>", branch) == f"Bo Publisher <{bo.email}>"
    assert f"Co-authored-by: Ann Other <{ann.email}>" in git(repo, "log", "-1", "--format=%B", branch)
    # Credited once: the next version carries only what is changed after it.
    shown = page(client.get(url))
    assert shown.select(".cf-contribution") == []


def test_a_stale_publish_button_after_a_publish_makes_nothing(builder_app: Flask, staff: StaffMembers) -> None:
    user = designer(staff)
    save_as(builder_app, user, reword)
    client = staff.sign_in(user)
    url = f"/services/{SERVICE}/publish"
    revision = str(draft_revision(builder_app))
    assert post(client, url, revision=revision).status_code == 303
    again = post(client, url, revision=revision)
    assert again.status_code == 409
    assert (
        "This service was published a moment ago by Sam Designer as version 4"
        in one(page(again), ".govuk-error-summary").text
    )
    assert versions(builder_app) == [3, 4]


def test_two_publishes_at_once_make_one_version_and_a_clear_message(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    user = designer(staff)
    save_as(builder_app, user, reword)
    engine = builder_app.extensions["civicforms.engine"]
    with dbmod.session(engine) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        revision, department, doc = draft.revision, draft.department_id, {**draft.definition, "version": 4}
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    class Recorded:
        live, branch = True, None

    def record() -> Recorded:
        time.sleep(0.3)  # the file's commit takes a while: the other publish arrives meanwhile
        return Recorded()

    def publish() -> None:
        assert user.id is not None
        with dbmod.session(engine) as s:
            start.wait()
            try:
                outcomes.append(
                    publishing_use_cases.publish_draft(
                        session=s,
                        actor=user.id,
                        service_id=SERVICE,
                        expected_revision=revision,
                        doc=doc,
                        summary=["Reworded"],
                        department_id=department,
                        for_review=False,
                        record=record,
                    )
                )
            except Exception as exc:  # noqa: BLE001 - the test looks at what each got
                outcomes.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(errors) == 1, outcomes
    assert isinstance(errors[0], publishing_use_cases.AlreadyPublished), errors
    assert str(errors[0]).startswith("This service was published a moment ago by Sam Designer as version 4")
    assert versions(builder_app) == [3, 4]
