"""Approval steps end to end: a citizen applies, a caseworker asks for more, the citizen answers,
the caseworker recommends, a manager approves, and the citizen sees the decision.

All in Chromium on the development app (citizen runtime at /, back office at /casework/), with and
without JavaScript, for the shipped council tax single person discount service, whose `workflow`
is received -> recommended (a caseworker) -> approved / rejected (a manager). With JavaScript the
caseworker asks one of the service's own questions again; without it, for a written reply.
axe-core (WCAG 2.2 A/AA) checks every page on the way, error states included, and the database
must hold one case with its history in order.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    CASEWORKER_EMAIL,
    CASEWORKER_NAME,
    MANAGER_EMAIL,
    BuilderServer,
    casework_sign_in,
    new_page,
)
from tests.browser.helpers import arrive, continue_, fill
from tests.journeys import HAPPY_PATHS

pytestmark = pytest.mark.browser

SERVICE = "council-tax-single-person-discount"
TITLE = "Apply for a council tax single person discount"
REFERENCE = re.compile(r"CTD-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")
STATUS = re.compile(r"/status/[^/?#]+$")
CHECKING = "We are checking your application"
APPROVED = "We have given you the single person discount. We will send you a new council tax bill."
ASK = "Ask the applicant for more information"
REQUEST_MESSAGE = "Our records show another adult at the property until March 2024. Check the date you gave us."
REPLY = "My son moved out to university on 1 February 2024; his post still comes here."
ANSWERED_DATE = {"sole_adult_date-day": "15", "sole_adult_date-month": "3", "sole_adult_date-year": "2024"}


class Variant:
    """What differs between the two runs: JavaScript, the citizen, and what the caseworker asks."""

    def __init__(self, javascript: bool):
        self.javascript = javascript
        self.slug = "js" if javascript else "nojs"
        self.name = "Sam Single" if javascript else "Robin Alone"
        self.email = f"{self.name.split()[0].lower()}.{self.slug}@example.com"
        self.question = javascript  # ask the date again (with JS) or for a written reply (without)


# The deliberately refused posts answer 400 with the page and its error; the browser logs the status
# (htmx swaps a 4xx in as a page, not as an error: the layout's responseHandling).
EXPECTED_ERROR = re.compile(
    r"Failed to load resource: the server responded with a status of 400 .* @ \S+/casework/cases/CTD-[\w-]+"
    r"/(act|request-information)$"
)


def console_error(message: Any) -> str:
    return f"{message.text} @ {message.location.get('url', '')}"


# -- small helpers --------------------------------------------------------------------------------


def link(page: Any, name: str) -> Any:
    return page.get_by_role("link", name=name, exact=True)


def banner(page: Any) -> Any:
    return page.locator(".govuk-notification-banner--success")


def case_rows(server: BuilderServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.database) as connection:
        return connection.execute(sql, args).fetchall()


def one_case(server: BuilderServer, reference: str) -> dict[str, Any]:
    rows = case_rows(
        server,
        "SELECT id, state, waiting_for_citizen, closed_at, assigned_to, lock_version, service_version "
        "FROM case_record WHERE reference = ?",
        reference,
    )
    assert len(rows) == 1, rows
    keys = ("id", "state", "waiting", "closed_at", "assigned_to", "lock_version", "service_version")
    return dict(zip(keys, rows[0], strict=True))


def events(server: BuilderServer, case_id: int) -> list[tuple[Any, ...]]:
    """The audit log: (action, actor kind, actor's email, from, to, comment), oldest first."""
    return case_rows(
        server,
        "SELECT e.action, e.actor_kind, u.email, e.from_state, e.to_state, c.text FROM case_event e "
        "LEFT JOIN staff_user u ON u.id = e.actor_id LEFT JOIN case_event_comment c ON c.event_id = e.id "
        "WHERE e.case_id = ? ORDER BY e.id",
        case_id,
    )


def refused_at(case_url: str, action: str, variant: Variant) -> str:
    """Where a refused post leaves the browser: without JavaScript, the address it posted to (the
    page with its errors is the answer); with it, htmx keeps the case's address."""
    return case_url if variant.javascript else f"{case_url}/{action}"


def status_says(page: Any, tag: str, text: str) -> None:
    progress = page.locator(".cf-status")
    expect(progress.locator(".govuk-tag")).to_have_text(tag)
    expect(progress).to_contain_text(text)


# -- the parts ------------------------------------------------------------------------------------


def citizen_applies(page: Any, server: BuilderServer, axe: Any, variant: Variant) -> tuple[str, str]:
    """The council tax service from its start page to the confirmation; returns (reference, status URL)."""
    service_url = server(f"/services/{SERVICE}")
    page.goto(service_url)
    arrive(page, service_url)
    axe(page)
    page.get_by_role("button", name="Start now").click()
    for page_id, data in HAPPY_PATHS[SERVICE]:
        arrive(page, f"{service_url}/{page_id}")
        axe(page)
        if page_id == "your-details":
            data = {**data, "full_name": variant.name, "email": variant.email}
        fill(page, data)
        continue_(page)
    arrive(page, f"{service_url}/check-answers")
    expect(page.locator(".govuk-summary-list")).to_contain_text(variant.name)
    axe(page)
    page.get_by_role("button", name="Accept and send").click()
    arrive(page, f"{service_url}/confirmation")
    reference = page.locator(".govuk-panel--confirmation .cf-reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    status = link(page, "check the progress of your application")
    expect(status).to_have_attribute("href", STATUS)
    axe(page)
    status_url = server(status.get_attribute("href"))
    # No personal data in the link: neither the reference nor the citizen's name or email.
    for secret in (reference, variant.email, variant.name.split()[0]):
        assert secret.lower() not in status_url.lower()
    status.click()
    arrive(page, status_url)
    expect(page.locator(".cf-reference")).to_have_text(reference)
    status_says(page, "In progress", CHECKING)
    expect(page.get_by_role("heading", name="We need more information")).to_have_count(0)
    axe(page)
    return reference, status_url


def open_from_inbox(page: Any, server: BuilderServer, axe: Any, reference: str, step: str) -> None:
    """From the inbox: search for the reference, find the one case, open it."""
    inbox = server("/casework/")
    if not page.url.startswith(inbox) or "/cases/" in page.url:
        link(page, "Cases").click()
    arrive(page, inbox)
    axe(page)
    page.get_by_label("Search", exact=True).fill(reference.lower())  # as typed
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(re.escape(inbox) + r"\?.*q="))
    arrive(page, page.url)
    rows = page.locator("table.cf-inbox tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reference", reference)
    expect(rows.first).to_contain_text(step)
    # The case is back in the caseworkers' hands whenever they open it here: never waiting.
    expect(rows.first).not_to_contain_text("Waiting for the applicant")
    axe(page)
    link(page, reference).click()
    case_url = server(f"/casework/cases/{reference}")
    arrive(page, case_url)
    expect(page.locator("h1")).to_have_text(f"Case {reference}")
    expect(page.locator(".cf-case-state")).to_contain_text(step)
    axe(page)


def caseworker_asks(page: Any, server: BuilderServer, axe: Any, reference: str, variant: Variant) -> None:
    case_url = server(f"/casework/cases/{reference}")
    # A signed-out caseworker is sent to sign in, and comes back to the inbox.
    page.goto(server("/casework/"))
    expect(page).to_have_url(re.compile(re.escape(server("/casework/sign-in"))))
    casework_sign_in(page, server, CASEWORKER_EMAIL, axe)
    open_from_inbox(page, server, axe, reference, "Received")
    expect(page.locator(".cf-case-deadline")).not_to_contain_text("None")
    expect(page.locator(".cf-answers")).to_contain_text(variant.name)

    page.get_by_role("button", name="Assign to me").click()
    arrive(page, case_url)
    expect(banner(page)).to_contain_text("The case is assigned to you")
    expect(page.locator(".cf-case-assignee")).to_have_text(f"{CASEWORKER_NAME} (you)")
    axe(page)

    form = page.locator("form.cf-request-information")
    # Bad input first: no message is refused, nothing changes, and the page says where.
    form.get_by_role("button", name=ASK).click()
    arrive(page, refused_at(case_url, "request-information", variant))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a message")
    expect(page.locator(".cf-case-state")).not_to_contain_text("Waiting for the applicant")
    axe(page)

    form = page.locator("form.cf-request-information")
    if variant.question:
        questions = form.get_by_role("group", name="Questions to ask again (optional)")
        questions.get_by_label("Date you became the only adult", exact=True).check()
    form.get_by_label("Message to the applicant").fill(REQUEST_MESSAGE)
    form.get_by_role("button", name=ASK).click()
    arrive(page, case_url)
    expect(banner(page)).to_contain_text("You asked the applicant for more information")
    expect(page.locator(".cf-case-state")).to_contain_text("Waiting for the applicant")
    expect(page.locator(".cf-information-request")).to_contain_text("not answered yet")
    expect(page.locator("form.cf-case-action")).to_have_count(0)
    axe(page)


def citizen_answers(page: Any, server: BuilderServer, axe: Any, status_url: str, variant: Variant) -> None:
    page.goto(status_url)
    arrive(page, status_url)
    status_says(page, "We need more information from you", CHECKING)
    expect(page.get_by_role("heading", name="We need more information")).to_be_visible()
    expect(page.locator(".cf-request-message")).to_have_text(REQUEST_MESSAGE)
    # The caseworker's name is not shown to the citizen.
    expect(page.locator("main")).not_to_contain_text(CASEWORKER_NAME)
    axe(page)
    page.get_by_role("button", name="Answer our questions").click()
    answer_url = status_url + "/information"
    arrive(page, answer_url)
    expect(page.locator("h1")).to_have_text("We need more information")
    expect(page.locator(".cf-request-message")).to_have_text(REQUEST_MESSAGE)
    axe(page)

    # Sent empty: an error, on the page itself, checked by axe too.
    page.get_by_role("button", name="Send").click()
    arrive(page, answer_url)
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert page.title().startswith("Error: "), page.title()
    axe(page)
    if variant.question:
        expect(page.get_by_role("group", name=re.compile("When did you become the only adult"))).to_be_visible()
        fill(page, ANSWERED_DATE)
    else:
        page.get_by_label("Your reply").fill(REPLY)
    page.get_by_role("button", name="Send").click()
    arrive(page, status_url + "/information/sent")
    expect(page.locator(".govuk-panel")).to_contain_text("Information sent")
    axe(page)
    link(page, "Check the progress of your application").click()
    arrive(page, status_url)
    status_says(page, "In progress", CHECKING)
    expect(page.locator(".cf-timeline")).to_contain_text("You sent the information we asked for")
    expect(page.get_by_role("button", name="Answer our questions")).to_have_count(0)
    axe(page)
    # The link does not work twice: the request is answered.
    page.goto(answer_url)
    arrive(page, status_url)


def caseworker_recommends(page: Any, server: BuilderServer, axe: Any, reference: str, variant: Variant) -> None:
    case_url = server(f"/casework/cases/{reference}")
    open_from_inbox(page, server, axe, reference, "Received")
    expect(page.locator(".cf-case-state")).not_to_contain_text("Waiting for the applicant")
    answered = page.locator(".cf-information-request")
    expect(answered).to_contain_text(re.compile(r"; answered \d"))
    expect(answered).not_to_contain_text("not answered yet")
    expect(answered).to_contain_text("15 March 2024" if variant.question else REPLY)

    # Reject needs a comment: refused with a message by the box, nothing changes.
    reject = page.locator("form.cf-case-action").filter(has=page.get_by_role("button", name="Reject"))
    reject.get_by_role("button", name="Reject").click()
    arrive(page, refused_at(case_url, "act", variant))
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("#comment-reject-error")).to_be_visible()
    expect(page.locator(".cf-case-state")).to_contain_text("Received")
    axe(page)

    recommend = page.locator("form.cf-case-action").filter(has=page.get_by_role("button", name="Recommend approval"))
    recommend.get_by_label("Comment (optional)").fill("Electoral register agrees from March 2024.")
    recommend.get_by_role("button", name="Recommend approval").click()
    arrive(page, case_url)
    expect(banner(page)).to_contain_text(f"Case {reference} is now: Recommended for approval")
    expect(page.locator(".cf-case-state")).to_contain_text("Recommended for approval")
    # Only a manager decides from here.
    expect(page.locator(".cf-no-actions")).to_be_visible()
    expect(page.locator("form.cf-case-action")).to_have_count(0)
    axe(page)


def manager_approves(page: Any, server: BuilderServer, axe: Any, reference: str) -> None:
    case_url = server(f"/casework/cases/{reference}")
    casework_sign_in(page, server, MANAGER_EMAIL, axe)
    open_from_inbox(page, server, axe, reference, "Recommended for approval")
    history = page.locator("table.cf-history")
    expect(history).to_contain_text("Asked the applicant for more information")
    expect(history).to_contain_text("Sent the information asked for")
    expect(history).to_contain_text("Electoral register agrees from March 2024.")
    page.get_by_role("button", name="Approve", exact=True).click()
    arrive(page, case_url)
    expect(banner(page)).to_contain_text(f"Case {reference} is now: Approved")
    expect(page.locator(".cf-case-state")).to_contain_text("Closed")
    expect(page.locator("form.cf-case-action")).to_have_count(0)
    axe(page)


def outbox_lists_messages(page: Any, server: BuilderServer, axe: Any, reference: str, variant: Variant) -> None:
    link(page, "Outbox").click()
    arrive(page, server("/casework/outbox"))
    axe(page)
    mine = page.locator("table.cf-outbox tbody tr").filter(has_text=variant.email)
    # Newest first: the decision, the request for information, the acknowledgement.
    expect(mine).to_have_count(3)
    expect(mine.nth(0)).to_contain_text(f"{TITLE}: our decision on {reference}")
    expect(mine.nth(1)).to_contain_text(f"{TITLE}: we need more information")
    expect(mine.nth(2)).to_contain_text(f"{TITLE}: we have received your application")
    for row in range(3):
        expect(mine.nth(row).locator(".cf-message-body")).to_contain_text(reference)
    expect(mine.nth(0).locator(".cf-message-body")).to_contain_text(APPROVED)
    expect(mine.nth(1).locator(".cf-message-body")).to_contain_text(server("/information/"))
    # Staff heard of the new work.
    expect(page.locator("table.cf-outbox tbody tr").filter(has_text=CASEWORKER_EMAIL).first).to_be_visible()
    expect(page.locator("table.cf-outbox tbody tr").filter(has_text=MANAGER_EMAIL).first).to_be_visible()
    mine.nth(0).locator("summary").click()
    axe(page)


# -- the test -------------------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_citizen_caseworker_and_manager_decide_an_application(
    casework_server: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    server = casework_server
    variant = Variant(javascript)
    errors: list[str] = []

    def watch(page: Any) -> None:
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: errors.append(console_error(message)) if message.type == "error" else None)

    with (
        new_page(browser, java_script_enabled=javascript) as citizen,
        new_page(browser, java_script_enabled=javascript) as caseworker,
        new_page(browser, java_script_enabled=javascript) as manager,
    ):
        for page in (citizen, caseworker, manager):
            watch(page)

        reference, status_url = citizen_applies(citizen, server, axe, variant)
        case = one_case(server, reference)
        assert case["state"] == "received" and not case["waiting"] and case["closed_at"] is None, case
        assert case["service_version"] == 2, case  # the version with the approval steps

        caseworker_asks(caseworker, server, axe, reference, variant)
        assert one_case(server, reference)["waiting"] == 1

        citizen_answers(citizen, server, axe, status_url, variant)
        caseworker_recommends(caseworker, server, axe, reference, variant)

        # Seen by the citizen meanwhile: still being checked.
        citizen.goto(status_url)
        arrive(citizen, status_url)
        status_says(citizen, "In progress", CHECKING)
        axe(citizen)

        manager_approves(manager, server, axe, reference)

        citizen.goto(status_url)
        arrive(citizen, status_url)
        status_says(citizen, "Decided", APPROVED)
        timeline = citizen.locator(".cf-timeline li")
        expect(timeline.first).to_contain_text(APPROVED)
        expect(citizen.locator(".cf-timeline")).to_contain_text("We asked you for more information")
        expect(citizen.locator("main")).not_to_contain_text("Electoral register")  # staff comments stay inside
        axe(citizen)

        outbox_lists_messages(manager, server, axe, reference, variant)
    unexpected = [e for e in errors if not EXPECTED_ERROR.search(e)]
    assert not unexpected, unexpected
    if javascript:  # the two refused posts (caseworker, and reject without a comment): nothing else
        assert len(errors) == 2, errors

    # The database: one case, decided, with its history in order.
    case = one_case(server, reference)
    assert case["state"] == "approved" and case["closed_at"] is not None and not case["waiting"], case
    assert len(case_rows(server, "SELECT id FROM submission WHERE reference = ?", reference)) == 1
    comment = "Electoral register agrees from March 2024."
    assert events(server, case["id"]) == [
        ("submitted", "citizen", None, None, "received", None),
        ("assign", "staff", CASEWORKER_EMAIL, None, None, None),
        ("request-information", "staff", CASEWORKER_EMAIL, "received", None, REQUEST_MESSAGE),
        ("information-answered", "citizen", None, None, "received", None),
        ("recommend", "staff", CASEWORKER_EMAIL, "received", "recommended", comment),
        ("assign", "staff", CASEWORKER_EMAIL, None, None, None),  # back to the team: only a manager approves
        ("approve", "staff", MANAGER_EMAIL, "recommended", "approved", None),
    ]
    approvals = case_rows(
        server,
        "SELECT a.state, a.action, u.email FROM case_approval a JOIN staff_user u ON u.id = a.staff_id "
        "WHERE a.case_id = ? ORDER BY a.id",
        case["id"],
    )
    assert approvals == [("received", "recommend", CASEWORKER_EMAIL), ("recommended", "approve", MANAGER_EMAIL)]
    requests = case_rows(
        server,
        "SELECT questions, message, answers, answered_at, return_state FROM information_request WHERE case_id = ?",
        case["id"],
    )
    assert len(requests) == 1, requests
    questions, message, answers, answered_at, return_state = requests[0]
    assert message == REQUEST_MESSAGE and answered_at is not None and return_state == "received"
    if variant.question:
        assert json.loads(questions) == ["sole_adult_date"]
        assert json.loads(answers) == {"sole_adult_date": "2024-03-15"}
    else:
        assert json.loads(questions) == []
        assert json.loads(answers) == {"reply": REPLY}
    sent = case_rows(server, "SELECT kind, recipient FROM outbox WHERE case_id = ? ORDER BY id", case["id"])
    to_citizen = [kind for kind, recipient in sent if recipient == variant.email]
    assert to_citizen == ["submitted", "information_requested", "decision"], sent
