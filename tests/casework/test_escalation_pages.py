"""Issue 17, part D in the back office: the case page's "Decide by" and "Escalated" rows, a
manager sending an escalated case back to the caseworker, the email settings page, and the
outbox page showing each department only its own messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from runtime import cases
from runtime.models import OutboxMessage, StaffUser, utcnow
from tests.casework.conftest import OTHER_SERVICE, Office, csrf

URLS = cases.CaseUrls("https://forms.example.gov.uk")


def page(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _escalated(office: Office, assignee: StaffUser | None = None) -> str:
    """A case past its step's deadline, escalated by the worker's own function."""
    reference = office.new_case()
    office.update_case(
        reference,
        deadline_at=utcnow() - timedelta(hours=2),
        decision_due_at=utcnow() - timedelta(hours=1),
        assigned_to=assignee.id if assignee else None,
    )
    with office.session() as s:
        assert cases.escalate_overdue(s, now=utcnow(), urls=URLS) == 1
        s.commit()
    return reference


def _row(html: str, key: str) -> str | None:
    for row in page(html).select(".cf-case-facts .govuk-summary-list__row"):
        found = row.select_one(".govuk-summary-list__key")
        if found is not None and found.get_text(strip=True) == key:
            return " ".join(row.get_text(" ", strip=True).split())
    return None


# -- the case page ----------------------------------------------------------------------------------


def test_the_case_page_says_when_to_decide_by_and_why_the_case_escalated(office: Office) -> None:
    manager = office.staff("Mona Manager", "manager")
    caseworker = office.staff("Casey Worker", "caseworker")
    reference = _escalated(office, caseworker)
    html = office.sign_in(manager).get(f"/cases/{reference}").get_data(as_text=True)
    decide_by = _row(html, "Decide by")
    assert decide_by is not None and "Overdue" in decide_by
    escalated = _row(html, "Escalated")
    assert escalated is not None
    assert "It passed the deadline for its step, on" in escalated
    link = page(html).select_one("a.cf-send-back-link")
    assert link is not None and link.get_text(strip=True) == "Send back to the caseworker"
    assert link["href"] == f"/casework/cases/{reference}/send-back-to-caseworker"
    history = page(html).get_text(" ", strip=True)
    assert "Escalated: it passed the deadline for its step" in history
    # A caseworker sees the escalation but gets no link (the route is a manager's: 403).
    worker = office.sign_in(caseworker)
    html = worker.get(f"/cases/{reference}").get_data(as_text=True)
    assert _row(html, "Escalated") is not None
    assert page(html).select_one("a.cf-send-back-link") is None
    assert worker.get(f"/cases/{reference}/send-back-to-caseworker").status_code == 403


def test_a_case_without_a_target_or_escalation_has_neither_row(office: Office) -> None:
    reference = office.new_case()
    html = office.sign_in(office.staff("Casey Worker", "caseworker")).get(f"/cases/{reference}").get_data(as_text=True)
    assert _row(html, "Decide by") is None and _row(html, "Escalated") is None


# -- sending back -----------------------------------------------------------------------------------


def test_a_manager_sends_an_escalated_case_back_with_a_note(office: Office) -> None:
    manager = office.staff("Mona Manager", "manager")
    caseworker = office.staff("Casey Worker", "caseworker")
    reference = _escalated(office, caseworker)
    client = office.sign_in(manager)
    url = f"/cases/{reference}/send-back-to-caseworker"
    form_page = page(client.get(url).get_data(as_text=True))
    assert form_page.select_one("h1").get_text(strip=True) == "Send the case back to Casey Worker"  # type: ignore[union-attr]
    note = "Evidence checked <script>alert(1)</script>: please decide it today."
    response = client.post(
        url,
        data={"csrf_token": csrf(client, url), "lock_version": office.case(reference).lock_version, "note": note},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{reference}")
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    banner = page(html).select_one(".govuk-notification-banner")
    assert banner is not None and "The case is back with Casey Worker" in banner.get_text()
    assert _row(html, "Escalated") is None
    assert "Sent the escalated case back to the caseworker" in page(html).get_text()
    assert note in page(html).get_text() and "<script>alert(1)</script>" not in html
    assert not office.case(reference).escalated
    told = office.outbox("sent_back_to_you")
    assert [m.recipient for m in told] == [caseworker.email]
    assert office.events(reference)[-1] == ("send-back-to-caseworker", "received", "received", note)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "Enter a note for the caseworker"),
        ("   \n ", "Enter a note for the caseworker"),
        ("x" * 5001, "The note must be 5,000 characters or less"),
        ("x" * 20_000, "The note must be 5,000 characters or less"),
    ],
)
def test_a_bad_note_is_refused_and_kept(office: Office, note: str, message: str) -> None:
    manager = office.staff("Mona Manager", "manager")
    reference = _escalated(office, office.staff("Casey Worker", "caseworker"))
    client = office.sign_in(manager)
    url = f"/cases/{reference}/send-back-to-caseworker"
    response = client.post(
        url,
        data={"csrf_token": csrf(client, url), "lock_version": office.case(reference).lock_version, "note": note},
    )
    assert response.status_code == 400
    html = page(response.get_data(as_text=True))
    assert html.select_one(".govuk-error-summary a[href='#note']").get_text(strip=True) == message  # type: ignore[union-attr]
    assert html.title is not None and html.title.get_text().startswith("Error: ")
    assert office.case(reference).escalated
    assert office.outbox("sent_back_to_you") == []


def test_a_stale_missing_or_forged_form_changes_nothing(office: Office) -> None:
    manager = office.staff("Mona Manager", "manager")
    reference = _escalated(office, office.staff("Casey Worker", "caseworker"))
    client = office.sign_in(manager)
    url = f"/cases/{reference}/send-back-to-caseworker"
    token = csrf(client, url)
    seen = office.case(reference).lock_version
    assert client.post(url, data={"lock_version": seen, "note": "No token"}).status_code == 400
    assert client.post(url, data={"csrf_token": token, "note": "No version"}).status_code == 400
    assert client.post(url, data={"csrf_token": token, "lock_version": "1e9", "note": "Bad"}).status_code == 400
    stale = client.post(url, data={"csrf_token": token, "lock_version": seen - 1, "note": "Old page"})
    assert stale.status_code == 303
    assert "Nothing has been changed" in client.get(f"/cases/{reference}").get_data(as_text=True)
    assert office.case(reference).escalated
    # A manager of another department: no such case.
    other = office.staff("Otto Other", "manager", department=office.other_department)
    outsider = office.sign_in(other)
    assert outsider.get(url).status_code == 404


def test_a_case_that_is_not_escalated_has_nothing_to_send_back(office: Office) -> None:
    manager = office.staff("Mona Manager", "manager")
    reference = office.new_case()
    client = office.sign_in(manager)
    url = f"/cases/{reference}/send-back-to-caseworker"
    response = client.get(url)
    assert response.status_code == 303
    token = csrf(client, f"/cases/{reference}")
    refused = client.post(
        url, data={"csrf_token": token, "lock_version": office.case(reference).lock_version, "note": "x"}
    )
    assert refused.status_code == 400
    assert "This case is not escalated" in page(refused.get_data(as_text=True)).get_text()


# -- email settings ---------------------------------------------------------------------------------


def test_staff_choose_a_daily_digest_and_back(office: Office) -> None:
    caseworker = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(caseworker)
    html = page(client.get("/email-settings").get_data(as_text=True))
    assert html.select_one("legend h1").get_text(strip=True) == "Your email settings"  # type: ignore[union-attr]
    assert html.select_one("input[name=notify][value=each]").has_attr("checked")  # type: ignore[union-attr]
    nav = [a.get_text(strip=True) for a in html.select(".govuk-service-navigation__link")]
    assert "Email settings" in nav
    response = client.post("/email-settings", data={"csrf_token": csrf(client, "/email-settings"), "notify": "daily"})
    assert response.status_code == 303
    html = page(client.get("/email-settings").get_data(as_text=True))
    assert html.select_one("input[name=notify][value=daily]").has_attr("checked")  # type: ignore[union-attr]
    assert "one email a day" in html.select_one(".govuk-notification-banner").get_text()  # type: ignore[union-attr]
    assert office.user(caseworker.id).notify == "daily"  # type: ignore[arg-type]
    # What happens next is kept for the digest, not sent.
    office.new_case()
    assert {m.status for m in office.outbox("new_case") if m.recipient == caseworker.email} == {"held"}
    client.post("/email-settings", data={"csrf_token": csrf(client, "/email-settings"), "notify": "each"})
    assert office.user(caseworker.id).notify == "each"  # type: ignore[arg-type]
    assert {m.status for m in office.outbox("new_case") if m.recipient == caseworker.email} == {"pending"}


@pytest.mark.parametrize("choice", [None, "", "weekly", "daily\x00", "x" * 10_000, "<script>alert(1)</script>"])
def test_a_bad_email_setting_is_refused(office: Office, choice: str | None) -> None:
    caseworker = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(caseworker)
    data = {"csrf_token": csrf(client, "/email-settings")}
    if choice is not None:
        data["notify"] = choice
    response = client.post("/email-settings", data=data)
    assert response.status_code == 400
    html = page(response.get_data(as_text=True))
    error = html.select_one(".govuk-error-summary a[href='#notify']")
    assert error is not None and error.get_text(strip=True) == "Choose how you want to get emails about cases"
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert office.user(caseworker.id).notify == "each"  # type: ignore[arg-type]


def test_the_email_settings_need_a_csrf_token_and_a_sign_in(office: Office) -> None:
    caseworker = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(caseworker)
    assert client.post("/email-settings", data={"notify": "daily"}).status_code == 400
    assert office.user(caseworker.id).notify == "each"  # type: ignore[arg-type]
    stranger = office.app.test_client()
    assert stranger.get("/email-settings").status_code in (302, 303)


# -- the outbox page --------------------------------------------------------------------------------


def test_the_outbox_shows_each_department_only_its_own_messages(office: Office) -> None:
    blue = office.staff("Casey Worker", "caseworker")
    waste = office.staff("Wendy Waste", "caseworker", department=office.other_department)
    mine = office.new_case(email="ada@example.com")
    theirs = office.new_case(service_id=OTHER_SERVICE, name="Bo Bin", email="bo@example.com")
    html = page(office.sign_in(blue).get("/outbox").get_data(as_text=True))
    text = html.get_text(" ", strip=True)
    assert mine in text and "ada@example.com" in text
    assert theirs not in text and "bo@example.com" not in text and waste.email not in text
    other = page(office.sign_in(waste).get("/outbox").get_data(as_text=True)).get_text(" ", strip=True)
    assert theirs in other and mine not in other


def test_the_outbox_pages_fifty_at_a_time(office: Office) -> None:
    blue = office.staff("Casey Worker", "caseworker")
    department = office.department
    with office.session() as s:
        for n in range(60):
            s.add(
                OutboxMessage(
                    kind="submitted",
                    recipient=f"person{n}@example.com",
                    subject=f"Message number {n:02d}",
                    body="Hello",
                    department_id=department,
                    created_at=utcnow(),
                    next_attempt_at=utcnow(),
                )
            )
        s.commit()
    client = office.sign_in(blue)
    first = page(client.get("/outbox").get_data(as_text=True))
    subjects = [s.get_text(strip=True) for s in first.select(".govuk-details__summary-text")]
    assert len(subjects) == 50 and subjects[0] == "Message number 59"
    older = first.select_one(".govuk-pagination__next a")
    assert older is not None
    second = page(client.get(str(older["href"]).removeprefix("/casework")).get_data(as_text=True))
    rest = [s.get_text(strip=True) for s in second.select(".govuk-details__summary-text")]
    assert rest[0] == "Message number 09" and "Message number 00" in rest and len(rest) == 10
    assert second.select_one(".govuk-pagination__next") is None
    assert second.select_one(".govuk-pagination__prev a") is not None
    # A malformed page address is the first page, never an error.
    for before in ("banana", "-1", "9" * 30, "<script>"):
        assert client.get("/outbox", query_string={"before": before}).status_code == 200
    with office.session() as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 60
