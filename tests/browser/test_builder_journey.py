"""A designer builds a service from blank in the builder, publishes it, and citizens complete it.

All in Chromium, with and without JavaScript: the designer signs in, creates "Report a fallen tree"
from blank, asks on page 1 whether the tree blocks the road and on page 2 (shown only if it does)
where it is, fills in the privacy and contact details, previews the service and publishes it into
the server's definitions folder. A citizen then finds it on the runtime's home page and sends it;
a second citizen answers "No" and never sees page 2. axe-core checks every page on the way.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESIGNER_DEPARTMENT, BuilderServer, new_page, sign_in
from tests.browser.helpers import arrive, continue_, settled

pytestmark = pytest.mark.browser

PREFIX = "TREE"
REFERENCE = re.compile(rf"{PREFIX}-[2-9A-HJKMNP-TV-Z]{{4}}-[2-9A-HJKMNP-TV-Z]{{4}}")
BLOCKING = "Is the tree blocking the road?"
WHERE = "Where exactly is the tree?"
PLACE = "Outside 14 Mill Lane, across both lanes"


def at(page: Any, path: str | re.Pattern[str]) -> None:
    """Wait until the browser shows ``path`` (a path, or a regex of one) and the page has settled."""
    pattern = path if isinstance(path, re.Pattern) else re.compile(re.escape(path) + r"(#[\w-]*)?$")
    expect(page).to_have_url(pattern)
    settled(page)
    expect(heading(page)).to_have_count(1)


def heading(page: Any) -> Any:
    """The page's h1 (a question's preview, inert, may hold the question's own h1)."""
    return page.locator("h1:not([inert] *)")


def link(page: Any, name: str) -> Any:
    return page.get_by_role("link", name=name, exact=True)


def add_question(page: Any, server: BuilderServer, service: str, kind: str, label: str, axe: Any) -> None:
    """From a page's edit page: the palette, the question form, then back to the page."""
    page.get_by_role("button", name="Add a question").click()
    at(page, re.compile(re.escape(server(f"/builder/services/{service}/pages/")) + r"[\w-]+/questions/new$"))
    expect(page.get_by_role("group", name="What type of question do you want to add?")).to_be_visible()
    axe(page)
    page.get_by_label(kind, exact=True).check()
    page.get_by_role("button", name="Continue").click()
    at(page, re.compile(r"/questions/new\?widget=[\w-]+$"))
    expect(heading(page)).to_have_text("Add a question")
    axe(page)
    page.get_by_label("Question text").fill(label)
    page.get_by_role("button", name="Add question").click()
    at(page, re.compile(re.escape(server(f"/builder/services/{service}/questions/")) + r"[a-z][a-z0-9_]*$"))
    expect(heading(page)).to_have_text("Edit question")
    expect(page.get_by_label("Question text")).to_have_value(label)
    axe(page)
    link(page, "Back to the page").click()


def build_and_publish(page: Any, server: BuilderServer, axe: Any, title: str) -> tuple[str, str]:
    """The designer's part: returns the new service's id and its second page's id."""
    sign_in(page, server)
    at(page, server("/builder/"))
    axe(page)

    # 1. Create the service from blank, in the designer's (only) department.
    page.get_by_role("button", name="Create a service").click()
    at(page, server("/builder/services/new"))
    axe(page)
    page.get_by_label("Name of the service").fill(title)
    page.get_by_label("Reference prefix").fill(PREFIX)
    department = page.get_by_role("group", name="Department").get_by_label(DESIGNER_DEPARTMENT)
    department.check()
    page.get_by_label("From a blank service").check()
    page.get_by_role("button", name="Create service").click()
    at(page, re.compile(re.escape(server("/builder/services/")) + r"[a-z][a-z0-9-]*/$"))
    service = page.url.removeprefix(server("/builder/services/")).rstrip("/")
    expect(heading(page)).to_have_text(title)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"Service ‘{title}’ created")
    axe(page)
    task_list = server(f"/builder/services/{service}/")

    # 2. Page 1, the blank service's own page (name and email): renamed, with the yes/no question.
    link(page, "Pages and questions").click()
    at(page, server(f"/builder/services/{service}/pages"))
    pages = page.locator("ol.cf-pages > li")
    expect(pages).to_have_count(1)
    axe(page)
    first = pages.first.get_attribute("data-page")
    link(page, "Edit page Your details").click()
    at(page, server(f"/builder/services/{service}/pages/{first}/"))
    axe(page)
    page.get_by_label("Page name").fill("About you and the tree")
    page.get_by_role("button", name="Save page").click()
    at(page, server(f"/builder/services/{service}/pages/{first}/"))
    expect(page.get_by_label("Page name")).to_have_value("About you and the tree")
    add_question(page, server, service, "Yes or no", BLOCKING, axe)
    at(page, server(f"/builder/services/{service}/pages/{first}/"))
    expect(page.locator("ol.cf-questions")).to_contain_text(BLOCKING)

    # 3. Page 2, with a long-text question, shown only if the tree blocks the road.
    link(page, "Back to pages").click()
    at(page, server(f"/builder/services/{service}/pages"))
    page.get_by_role("button", name="Add a page").click()
    at(page, server(f"/builder/services/{service}/pages/new"))
    axe(page)
    page.get_by_label("Page name").fill("Where the tree is")
    page.get_by_role("button", name="Add page").click()
    at(page, re.compile(re.escape(server(f"/builder/services/{service}/pages/")) + r"[\w-]+/$"))
    second = page.url.removeprefix(server(f"/builder/services/{service}/pages/")).rstrip("/")
    assert second != first
    expect(page.get_by_label("Page name")).to_have_value("Where the tree is")
    axe(page)
    add_question(page, server, service, "Long text", WHERE, axe)
    at(page, server(f"/builder/services/{service}/pages/{second}/"))

    link(page, "Change the condition for this page").click()
    at(page, server(f"/builder/services/{service}/pages/{second}/condition"))
    axe(page)
    clause = page.get_by_role("group", name="Condition", exact=True)
    clause.get_by_label("Question").select_option(label=BLOCKING)
    clause.get_by_label("How to compare").select_option(label="is")
    answer = clause.get_by_label("Answer to compare with")
    if answer.evaluate("e => e.tagName") == "SELECT":  # with JavaScript, the question's answers are offered
        answer.select_option(label="Yes")
    else:
        answer.fill("Yes")
    page.get_by_role("button", name="Save condition").click()
    at(page, server(f"/builder/services/{service}/pages/{second}/"))
    condition = page.locator(".cf-condition")
    expect(condition).to_contain_text(BLOCKING)
    expect(condition).not_to_contain_text("Always")
    axe(page)

    link(page, "Back to pages").click()
    at(page, server(f"/builder/services/{service}/pages"))
    expect(pages).to_have_count(2)
    expect(pages.nth(0)).to_contain_text(BLOCKING)
    expect(pages.nth(1)).to_contain_text(WHERE)
    expect(pages.nth(1).locator(".cf-page-condition")).to_contain_text(BLOCKING)

    # 4. Privacy and contact details, which publishing needs.
    page.goto(task_list)
    at(page, task_list)
    link(page, "Privacy and contact details").click()
    at(page, server(f"/builder/services/{service}/privacy-and-contact"))
    axe(page)
    page.get_by_label("Link to the privacy notice").fill("https://www.westbridge.example/privacy/trees")
    page.get_by_label("Contact email address (optional)").fill("trees@westbridge.example")
    page.get_by_label("Yes, I’ve completed this section").check()
    page.get_by_role("button", name="Save and continue").click()
    at(page, task_list)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Privacy and contact details saved")
    axe(page)

    # 5. The whole-service preview: both pages, as citizens will see them.
    link(page, "Preview and try the service").click()
    at(page, server(f"/builder/services/{service}/preview"))
    expect(page.locator("main")).to_contain_text(BLOCKING)
    expect(page.locator("main")).to_contain_text(WHERE)
    axe(page)
    link(page, "Back to your tasks").click()
    at(page, task_list)

    # 6. Publish.
    link(page, "Publish").click()
    at(page, server(f"/builder/services/{service}/publish"))
    expect(page.locator(".cf-check--todo")).to_have_count(0)
    expect(page.locator(".cf-check--done")).to_have_count(4)
    axe(page)
    page.get_by_role("button", name="Publish version 1").click()
    at(page, server(f"/builder/services/{service}/publish?done=live"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your changes are live.")
    expect(page.locator(".cf-no-changes")).to_be_visible()
    axe(page)

    published = server.definitions / f"{service}.json"
    assert published.is_file(), sorted(p.name for p in server.definitions.iterdir())
    doc = json.loads(published.read_text(encoding="utf-8"))
    assert doc["id"] == service and doc["title"] == title and doc["version"] == 1
    assert [p["id"] for p in doc["pages"]] == [first, second]
    assert doc["pages"][1].get("show_if"), doc["pages"][1]
    assert doc.get("live", True) is True, "a first publish must open the service to citizens"
    return service, second


def submissions(server: BuilderServer, service: str) -> list[dict[str, Any]]:
    with sqlite3.connect(server.database) as connection:
        rows = connection.execute(
            "SELECT reference, answers FROM submission WHERE service_id = ? ORDER BY id", (service,)
        ).fetchall()
    return [{"reference": reference, "answers": json.loads(answers)} for reference, answers in rows]


def citizen(
    browser: Any,
    server: BuilderServer,
    axe: Any,
    javascript: bool,
    service: str,
    title: str,
    second: str,
    blocking: bool,
) -> str:
    """A citizen (no staff cookie) finds the service on the home page and sends it; returns the reference."""
    with new_page(browser, java_script_enabled=javascript) as page:
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))
        service_url = server(f"/services/{service}")
        page.goto(server("/"))
        arrive(page, server("/"))
        axe(page)
        link(page, title).click()
        arrive(page, service_url)
        axe(page)
        page.get_by_role("button", name="Start now").click()
        expect(page).to_have_url(re.compile(re.escape(service_url + "/") + r"[\w-]+$"))
        arrive(page, page.url)
        axe(page)
        page.get_by_label("What is your full name?").fill("Sam Citizen")
        page.get_by_label("What is your email address?").fill("sam@example.com")
        page.get_by_role("group", name=BLOCKING).get_by_label("Yes" if blocking else "No", exact=True).check()
        continue_(page)
        if blocking:
            arrive(page, f"{service_url}/{second}")
            expect(page.locator("h1")).to_contain_text(WHERE)
            axe(page)
            page.get_by_label(WHERE).fill(PLACE)
            continue_(page)
        arrive(page, service_url + "/check-answers")
        summary = page.locator(".govuk-summary-list")
        expect(summary).to_contain_text("Sam Citizen")
        if blocking:
            expect(summary).to_contain_text(PLACE)
        else:
            expect(summary).not_to_contain_text(WHERE)
        axe(page)
        page.get_by_role("button", name="Accept and send").click()
        arrive(page, service_url + "/confirmation")
        panel = page.locator(".govuk-panel--confirmation")
        expect(panel).to_contain_text("Your reference number")
        reference = panel.locator(".cf-reference").inner_text().strip()
        assert REFERENCE.fullmatch(reference), reference
        axe(page)
        if not blocking:
            # Page 2 was never shown: its address was not even requested.
            assert seen and not [url for url in seen if url.split("?")[0].startswith(f"{service_url}/{second}")]
        return reference


@pytest.mark.parametrize(
    ("javascript", "title"),
    [(True, "Report a fallen tree"), (False, "Report a fallen tree on a footpath")],
    ids=["js", "no-js"],
)
def test_designer_builds_publishes_and_citizens_complete(
    builder_server: BuilderServer, browser: Any, axe: Any, javascript: bool, title: str
) -> None:
    errors: list[str] = []
    with new_page(browser, java_script_enabled=javascript) as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        service, second = build_and_publish(page, builder_server, axe, title)
    assert not errors

    assert submissions(builder_server, service) == []
    reference = citizen(browser, builder_server, axe, javascript, service, title, second, blocking=True)
    sent = submissions(builder_server, service)
    assert len(sent) == 1, sent
    assert sent[0]["reference"] == reference
    answers = sent[0]["answers"]
    assert answers.get("full_name") == "Sam Citizen" and answers.get("email") == "sam@example.com", answers
    assert True in answers.values() and PLACE in answers.values(), answers

    # A second citizen says the road is clear: page 2 is skipped, and its answer is not stored.
    other = citizen(browser, builder_server, axe, javascript, service, title, second, blocking=False)
    sent = submissions(builder_server, service)
    assert [s["reference"] for s in sent] == [reference, other]
    assert False in sent[1]["answers"].values() and PLACE not in sent[1]["answers"].values(), sent[1]
    assert len(sent[1]["answers"]) == len(answers) - 1, (answers, sent[1]["answers"])
