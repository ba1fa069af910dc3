"""Two designers in review mode (issue 15): a git remote (a bare repository made here), the builder
publishing review branches to it, and IT working on ``main``.

- Dana renames the service, Erin rewords the confirmation; Erin's publish page credits Dana with
  her change, and the branch's commit has Erin as author and Dana as co-author.
- Dana's Publish button, left open while Erin sent the version, says who sent it as which version.
- IT merges the branch and rewords the confirmation again on main; Dana, who changed the
  confirmation meanwhile, sees both texts side by side and chooses, then publishes.
- Rolling back asks first. axe-core finds nothing on any of these pages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from civicforms.dev import create_dev_app
from runtime import db as dbmod
from runtime import staff
from runtime.data import departments
from runtime.services import releasing
from runtime.settings import PROJECT_ROOT, Settings

from .conftest import (
    ADMIN_EMAIL,
    DESIGNER_DEPARTMENT,
    DESIGNER_EMAIL,
    DESIGNER_PASSWORD,
    ORGANISATION,
    LiveServer,
    new_page,
    serve_app,
    sign_in,
)

pytestmark = pytest.mark.browser

SERVICE = "blue-badge"
ERIN_EMAIL = "erin@westbridge.example"
REVIEWER_EMAIL = "rae@westbridge.example"


def git(repo: Path, *args: str) -> str:
    env_free = {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env_free)
    return done.stdout.strip()


@dataclass
class ReviewServer(LiveServer):
    remote: Path
    it: Path  # IT's clone of the remote


@pytest.fixture(scope="module")
def review_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewServer]:
    folder = tmp_path_factory.mktemp("review-mode")
    database = folder / "civicforms.db"
    shutil.copy(sqlite_template, database)
    remote = folder / "remote.git"
    remote.mkdir()
    git(remote, "init", "--quiet", "--bare", "--initial-branch=main")
    it = folder / "it"
    git(folder, "clone", "--quiet", str(remote), str(it))
    git(it, "config", "user.name", "IT Lead")
    git(it, "config", "user.email", "it@westbridge.example")
    (it / "form_definitions").mkdir()
    for shipped in sorted((PROJECT_ROOT / "form_definitions").glob("*.json")):
        shutil.copy(shipped, it / "form_definitions" / shipped.name)
    git(it, "add", ".")
    git(it, "commit", "--quiet", "-m", "The live services")
    git(it, "push", "--quiet", "origin", "HEAD:main")
    definitions = folder / "form_definitions"
    definitions.mkdir()
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-" + "x" * 16,
        database_url=f"sqlite:///{database}",
        definitions_dir=definitions,
        secure_cookies=False,
        organisation_name=ORGANISATION,
        publish_mode="review",
        git_remote=str(remote),
        git_base="main",
        git_workdir=folder / "builder-clone",
        git_folder="form_definitions",
    ).check()
    engine = dbmod.make_engine(settings.database_url)
    with dbmod.session(engine) as s:
        department = departments.find_department(session=s, key=DESIGNER_DEPARTMENT)
        assert department is not None and department.id is not None
        for email, name, role in (
            (DESIGNER_EMAIL, "Dana Designer", "designer"),
            (ERIN_EMAIL, "Erin Editor", "designer"),
            (ADMIN_EMAIL, "Ada Admin", "admin"),
            (REVIEWER_EMAIL, "Rae Reviewer", "reviewer"),
        ):
            staff.create_user(
                session=s, email=email, name=name, department_id=department.id, role=role, password=DESIGNER_PASSWORD
            )
        s.commit()
    engine.dispose()
    with serve_app(create_dev_app({"SETTINGS": settings}), database, "review-server") as server:
        yield ReviewServer(server.url, database=database, remote=remote, it=it)


def edit(page: Any, server: LiveServer, form: str, label: str, value: str) -> None:
    page.goto(server(f"/builder/services/{SERVICE}/{form}"))
    page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("load")


def preview(page: Any, server: LiveServer) -> None:
    page.goto(server(f"/builder/services/{SERVICE}/preview"))


def test_two_designers_in_review_mode(review_server: ReviewServer, browser: Any, axe: Any) -> None:
    server = review_server
    publish_url = server(f"/builder/services/{SERVICE}/publish")
    with new_page(browser) as dana, new_page(browser) as erin:
        sign_in(dana, server, DESIGNER_EMAIL)
        sign_in(erin, server, ERIN_EMAIL)

        # Dana renames the service; Erin rewords the confirmation.
        edit(dana, server, "details", "Name of the service", "Apply for a Blue Badge parking permit")
        preview(dana, server)
        edit(erin, server, "confirmation", "Confirmation page title", "We have your application")
        preview(erin, server)

        # Dana has the publish page open (her button says version 4) while Erin publishes.
        dana.goto(publish_url)
        expect(dana.locator("button.cf-publish")).to_have_text("Publish version 4")
        erin.goto(publish_url)
        credits = erin.locator(".cf-contribution")
        expect(credits).to_have_count(2)
        expect(credits.nth(0)).to_have_text("Changes by Dana Designer: the service's name")
        expect(credits.nth(1)).to_have_text("Changes by Erin Editor (you): the confirmation page")
        axe(erin)
        erin.locator("button.cf-publish").click()
        expect(erin.locator(".cf-published")).to_contain_text("sent to IT for review")
        expect(erin.locator(".cf-sent")).to_contain_text("Version 4 with these changes was sent to IT for review")
        expect(erin.locator("button.cf-publish")).to_have_count(0)
        axe(erin)

        branch = f"service/{SERVICE}-v4"
        assert git(server.remote, "log", "-1", "--format=%an", branch) == "Erin Editor"
        message = git(server.remote, "log", "-1", "--format=%B", branch)
        assert f"Co-authored-by: Dana Designer <{DESIGNER_EMAIL}>" in message

        # Dana's stale button: a clear message, nothing more sent.
        dana.locator("button.cf-publish").click()
        expect(dana.locator(".govuk-error-summary")).to_contain_text(
            "These changes were sent to IT for review a moment ago by Erin Editor as version 4"
        )
        axe(dana)
        assert git(server.remote, "branch", "--list", "service/*").split() == [branch]

        # IT merges the branch and rewords the confirmation on main; Dana changed it meanwhile.
        edit(dana, server, "confirmation", "Confirmation page title", "Dana: application sent")
        git(server.it, "fetch", "--quiet", "origin")
        git(server.it, "merge", "--quiet", f"origin/{branch}")
        path = server.it / "form_definitions" / f"{SERVICE}.json"
        doc = json.loads(path.read_text())
        doc["confirmation"]["title"] = "IT: application received"
        doc["version"] = 5
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        git(server.it, "commit", "--quiet", "-am", "IT rewords the confirmation")
        git(server.it, "push", "--quiet", "origin", "HEAD:main")

        dana.goto(publish_url)
        # Judged against main as fetched from IT's repository (the server has no checkout of it).
        expect(dana.locator(".cf-review-status")).to_have_text("Accepted by IT, waiting to be loaded")
        conflict = dana.locator(".cf-conflict")
        expect(conflict).to_have_count(1)
        expect(conflict.locator(".cf-ours")).to_have_text("Dana: application sent")
        expect(conflict.locator(".cf-theirs")).to_have_text("IT: application received")
        expect(dana.locator("button.cf-publish")).to_have_count(0)
        axe(dana)
        dana.get_by_role("button", name="Update your draft").click()
        expect(dana.locator(".govuk-error-summary")).to_contain_text("Choose which text to keep")
        axe(dana)
        dana.locator(".cf-conflict").get_by_label("The newer version").check()
        dana.get_by_role("button", name="Update your draft").click()
        expect(dana.locator(".cf-updated")).to_be_visible()
        axe(dana)

    # IT loads main (version 5 goes live); rolling back to version 3 (the shipped one) asks first.
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    try:
        with dbmod.session(engine) as s:
            results = releasing.load_folder(session=s, folder=server.it / "form_definitions")
        assert all(not isinstance(r, Exception) for _, r in results), results
    finally:
        engine.dispose()
    with new_page(browser) as rae:
        sign_in(rae, server, REVIEWER_EMAIL)
        rae.goto(server(f"/builder/services/{SERVICE}/history"))
        axe(rae)  # the roll back buttons' names contain their visible text (WCAG 2.5.3)
        rae.get_by_role("button", name="Roll back to this version (version 3)").click()
        expect(rae.locator("h1")).to_have_text("Roll back to version 3?")
        expect(rae.locator(".cf-roll-back-what")).to_contain_text("This sends version 6 with version 3's content")
        expect(rae.locator(".cf-summary")).to_contain_text("IT: application received")
        axe(rae)
        rae.locator("a.cf-cancel").click()
        expect(rae.locator("h1")).to_have_text("Version history")
        assert git(server.remote, "branch", "--list", "service/*").split() == [f"service/{SERVICE}-v4"]
