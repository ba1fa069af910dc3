"""Telling the applicant, in Chromium (issue 17, part C): a caseworker asks for more with a reply-by
date (a date in the past refused first), the applicant sees the date and answers in writing beside
the question, then the caseworker refuses with a reason; the reason and how to appeal reach the
applicant's status page and the decision email. axe-core (WCAG 2.2 A/AA) on every page visited,
error states included, with and without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime.models import utcnow
from tests.browser.conftest import CASEWORKER_EMAIL, CASEWORKER_NAME, BuilderServer, casework_sign_in, new_page
from tests.browser.helpers import arrive
from tests.browser.test_casework_journey import Variant, case_rows, citizen_applies, one_case, refused_at

pytestmark = pytest.mark.browser

ASK = "Ask the applicant for more information"
MESSAGE = "Send us the date your son moved out."
WRITTEN = "He moved out on 1 February 2024; his post still comes here."
REASON = "The electoral register shows another adult at the property since 2019."
REFUSED = "We cannot give you the single person discount."


def _date_input(form: Any, day: Any) -> None:
    group = form.get_by_role("group", name="Reply by")
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_request_with_a_reply_by_date_then_a_refusal_with_its_reason(
    casework_server: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    server = casework_server
    variant = Variant(javascript)
    variant.email = f"telling.{variant.slug}@example.com"
    today = utcnow().date()
    with (
        new_page(browser, java_script_enabled=javascript) as citizen,
        new_page(browser, java_script_enabled=javascript) as caseworker,
    ):
        reference, status_url = citizen_applies(citizen, server, axe, variant)
        case_url = server(f"/casework/cases/{reference}")

        # The caseworker asks, with a date in the past first: refused by the date, nothing changes.
        casework_sign_in(caseworker, server, CASEWORKER_EMAIL, axe)
        caseworker.goto(case_url)
        arrive(caseworker, case_url)
        form = caseworker.locator("form.cf-request-information")
        group = form.get_by_role("group", name="Reply by")
        expect(group.get_by_label("Day")).not_to_have_value("")  # the default is filled in
        axe(caseworker)
        form.get_by_role("group", name="Questions to ask again (optional)").get_by_label(
            "Date you became the only adult", exact=True
        ).check()
        form.get_by_label("Message to the applicant").fill(MESSAGE)
        _date_input(form, today - timedelta(days=1))
        form.get_by_role("button", name=ASK).click()
        arrive(caseworker, refused_at(case_url, "request-information", variant))
        expect(caseworker.locator(".govuk-error-summary")).to_contain_text("must be in the future")
        expect(caseworker.locator("#reply-by-day")).to_have_class(re.compile("govuk-input--error"))
        expect(caseworker.locator("#request-message")).to_have_value(MESSAGE)  # kept
        axe(caseworker)
        assert not one_case(server, reference)["waiting"]

        reply_by = today + timedelta(days=21)
        long = f"{reply_by.day} {reply_by:%B %Y}"
        form = caseworker.locator("form.cf-request-information")
        _date_input(form, reply_by)
        form.get_by_role("button", name=ASK).click()
        arrive(caseworker, case_url)
        expect(caseworker.locator(".cf-information-request")).to_contain_text(f"reply by {long}")
        axe(caseworker)

        # The applicant sees the date, and answers in writing beside the question.
        citizen.goto(status_url)
        arrive(citizen, status_url)
        expect(citizen.locator(".cf-reply-by")).to_have_text(f"Reply by {long}.")
        axe(citizen)
        citizen.get_by_role("button", name="Answer our questions").click()
        arrive(citizen, status_url + "/information")
        expect(citizen.locator(".cf-reply-by")).to_have_text(f"Reply by {long}.")
        axe(citizen)
        citizen.get_by_role("group", name=re.compile("When did you become the only adult")).get_by_label("Day").fill(
            "15"
        )
        citizen.get_by_label("Month").fill("3")
        citizen.get_by_label("Year").fill("2024")
        citizen.get_by_label("Anything else you want to tell us (optional)").fill("x" * 5001)
        citizen.get_by_role("button", name="Send").click()
        arrive(citizen, status_url + "/information")
        expect(citizen.locator(".govuk-error-summary")).to_contain_text("5,000 characters or less")
        axe(citizen)
        citizen.get_by_label("Anything else you want to tell us (optional)").fill(WRITTEN)
        citizen.get_by_role("button", name="Send").click()
        arrive(citizen, status_url + "/information/sent")
        axe(citizen)

        # Back with the caseworker: the written reply is on the case page; a refusal needs its reason.
        caseworker.goto(case_url)
        arrive(caseworker, case_url)
        expect(caseworker.locator(".cf-information-request")).to_contain_text(WRITTEN)
        reject = caseworker.locator("form.cf-case-action").filter(has=caseworker.get_by_role("button", name="Reject"))
        reject.get_by_role("button", name="Reject").click()
        arrive(caseworker, refused_at(case_url, "act", variant))
        expect(caseworker.locator(".govuk-error-summary")).to_contain_text("Enter the reason for this decision")
        axe(caseworker)
        reject = caseworker.locator("form.cf-case-action").filter(has=caseworker.get_by_role("button", name="Reject"))
        reject.get_by_label("Reason (the applicant will see this)").fill(REASON)
        reject.get_by_role("button", name="Reject").click()
        arrive(caseworker, case_url)
        expect(caseworker.locator(".cf-case-state")).to_contain_text("Rejected")
        axe(caseworker)

        # The applicant reads the decision, its reason and how to appeal; never the caseworker's name.
        citizen.goto(status_url)
        arrive(citizen, status_url)
        expect(citizen.locator(".cf-status")).to_contain_text(REFUSED)
        expect(citizen.get_by_role("heading", name="Why we made this decision")).to_be_visible()
        expect(citizen.locator(".cf-decision-reason")).to_have_text(REASON)
        expect(citizen.get_by_role("heading", name="If you disagree with our decision")).to_be_visible()
        expect(citizen.locator(".cf-appeal")).to_contain_text("Valuation Tribunal")
        expect(citizen.locator("main")).not_to_contain_text(CASEWORKER_NAME)
        axe(citizen)

    [(body,)] = case_rows(server, "SELECT body FROM outbox WHERE kind = 'decision' AND recipient = ?", variant.email)
    assert f"Why we made this decision:\n{REASON}" in body and "Valuation Tribunal" in body
    [(asked,)] = case_rows(
        server, "SELECT body FROM outbox WHERE kind = 'information_requested' AND recipient = ?", variant.email
    )
    assert MESSAGE in asked and f"Reply by {long}." in asked and "When did you become the only adult" in asked
