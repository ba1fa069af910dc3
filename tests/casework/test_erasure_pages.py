"""The data protection officer's erasure and subject access pages: only the DPO, CSRF on every
POST, what will be erased and what a legal hold keeps (with its reason), the report as a page and
as JSON, and the access log and audit log entries they leave."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from runtime.models import AccessLog, Case, Citizen, RecordEvent
from tests.casework.conftest import Office, csrf, errors_of
from tests.conftest import page
from tests.runtime import privacy_helpers as h

ERASE, REPORT = "/data-protection/erasure", "/data-protection/subject-access"


@pytest.fixture
def person(office: Office) -> dict[str, Any]:
    with office.session() as s:
        gp_case = h.send(s, "register-with-gp", h.gp())
        badge_case = h.send(s, "blue-badge", h.badge())
        h.add_casework(s, badge_case)
        s.expunge_all()
    return {"gp": gp_case, "badge": badge_case, "record": gp_case.citizen_id}


def _form(client: Any, url: str, selector: str) -> dict[str, str]:
    form = page(client.get(url)).select_one(selector)
    assert form is not None, f"no {selector} on {url}"
    return {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}


@pytest.mark.parametrize("role", ["caseworker", "manager", "records", "admin"])
def test_only_the_data_protection_officer(office: Office, person: dict[str, Any], role: str) -> None:
    client = office.sign_in(office.staff("Someone", role))
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    form = _form(dpo, f"{ERASE}?key={person['record']}", "form.cf-erase")
    for url in (ERASE, f"{ERASE}?key={person['record']}", REPORT, f"{REPORT}?key={person['record']}"):
        assert client.get(url).status_code == 403, url
    assert client.post(ERASE, data={**form, "reason": "DPO-1"}).status_code in (400, 403)
    assert client.post(REPORT, data={"key": str(person["record"]), "format": "json"}).status_code in (400, 403)
    with office.session() as s:
        assert s.get(Case, person["gp"].id).erased_at is None  # type: ignore[union-attr]
        assert s.exec(select(AccessLog).where(AccessLog.action == "subject-access")).all() == []
    stranger = office.app.test_client()
    assert stranger.get(ERASE).status_code in (302, 303)


def test_posts_without_the_csrf_token_are_refused(office: Office, person: dict[str, Any]) -> None:
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    refused = dpo.post(ERASE, data={"key": str(person["record"]), "reason": "DPO-2"})
    assert refused.status_code == 400
    refused = dpo.post(REPORT, data={"key": str(person["record"]), "format": "json"})
    assert refused.status_code == 400
    with office.session() as s:
        assert s.get(Case, person["badge"].id).erased_at is None  # type: ignore[union-attr]
        assert s.exec(select(RecordEvent).where(RecordEvent.action == "subject-access")).all() == []


def test_the_page_lists_what_will_be_erased_and_what_a_hold_keeps(office: Office, person: dict[str, Any]) -> None:
    with office.session() as s:
        h.hold(s, s.get(Case, person["badge"].id), reason="Ombudsman complaint OC-31 open")  # type: ignore[arg-type]
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    soup = page(dpo.get(ERASE, query_string={"key": person["gp"].reference.lower()}))
    assert soup.select_one("h2#record").get_text(strip=True) == f"Citizen record {person['record']}"  # type: ignore[union-attr]
    erasable = [tr.select_one("th").get_text(strip=True) for tr in soup.select("table.cf-erasable tbody tr")]  # type: ignore[union-attr]
    assert erasable == [person["gp"].reference]
    held = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in soup.select("table.cf-held tbody tr")]
    assert held[0][0] == person["badge"].reference and held[0][-1] == "Ombudsman complaint OC-31 open"

    form = _form(dpo, f"{ERASE}?key={person['record']}", "form.cf-erase")
    done = dpo.post(ERASE, data={**form, "reason": "DPO-2026-40"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{ERASE}?key={person['record']}")
    banner = page(dpo.get(ERASE, query_string={"key": str(person["record"])})).select_one(".govuk-notification-banner")
    assert banner is not None
    text = banner.get_text(" ", strip=True)
    assert "erased from 1 form" in text and f"{person['badge'].reference} (Ombudsman complaint OC-31 open)" in text
    with office.session() as s:
        assert s.get(Case, person["gp"].id).erased_at is not None  # type: ignore[union-attr]
        kept = s.get(Case, person["badge"].id)
        assert kept is not None and kept.citizen_name == h.NAME
        logged = s.exec(select(AccessLog).where(AccessLog.action == "erasure")).one()
        assert logged.citizen_id == person["record"] and logged.detail is not None
        assert logged.detail["held_cases"] == [person["badge"].id]


def test_erasing_everything_leaves_nothing_in_any_table(office: Office, person: dict[str, Any]) -> None:
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    form = _form(dpo, f"{ERASE}?key={person['record']}", "form.cf-erase")
    assert dpo.post(ERASE, data={**form, "reason": "DPO-2026-41"}).status_code == 303
    with office.session() as s:
        assert (left := h.scan(s)) == [], left
        assert s.get(Citizen, person["record"]).erased_at is not None  # type: ignore[union-attr]
    soup = page(dpo.get(ERASE, query_string={"key": str(person["record"])}))
    assert soup.select_one(".cf-record-erased") is not None
    assert soup.select_one("form.cf-erase") is None  # nothing left to erase


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Enter why the data is being erased"),
        ("Zebedee asked by phone", "must not contain the person's details"),
        ("x" * 600, "500 characters or less"),
    ],
)
def test_a_bad_reason_is_shown_where_it_is_typed(
    office: Office, person: dict[str, Any], reason: str, message: str
) -> None:
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    form = _form(dpo, f"{ERASE}?key={person['record']}", "form.cf-erase")
    response = dpo.post(ERASE, data={**form, "reason": reason})
    assert response.status_code == 400
    soup = page(response)
    assert any(message in e for e in errors_of(soup))
    assert message in soup.select_one("#reason-error").get_text()  # type: ignore[union-attr]
    with office.session() as s:
        assert s.get(Case, person["gp"].id).erased_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("x" * 10_000, "characters or less"),
        ("ab\x00cd", "control characters"),
        ("no-such-person@example.org", "No citizen record matches"),
    ],
)
def test_hostile_keys(office: Office, person: dict[str, Any], key: str, message: str) -> None:
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    for url in (ERASE, REPORT):
        soup = page(dpo.get(url, query_string={"key": key}))
        assert message in soup.select_one("#key-error").get_text()  # type: ignore[union-attr]
    token = csrf(dpo, REPORT)
    response = dpo.post(REPORT, data={"csrf_token": token, "key": key, "format": "json"})
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_subject_access_report_as_a_page_and_as_json(office: Office, person: dict[str, Any]) -> None:
    dpo_user = office.staff("Dee Protection", "dpo")
    dpo = office.sign_in(dpo_user)
    form = _form(dpo, f"{REPORT}?key={person['badge'].reference}", "form.cf-make-report")
    shown = dpo.post(REPORT, data={**form, "format": "html"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    soup = page(shown)
    assert (
        soup.select_one("h1").get_text(strip=True) == f"Information held about you: citizen record {person['record']}"
    )  # type: ignore[union-attr]
    text = soup.select_one(".cf-subject-access").get_text(" ", strip=True)  # type: ignore[union-attr]
    for expected in (
        "Tell us about your condition and how it affects your walking",  # answers under the question's title
        "My knee gives way on stairs.",
        "Less than 20 metres",  # a choice by its label
        "9434765919",  # the NHS number, given to the GP service
        f"{h.NAME} asked about the stairlift",  # a staff comment
        "please bring your tenancy agreement",  # an information request
        f"Hello {h.NAME}",  # a message sent
    ):
        assert expected in text, expected
    assert all(t.select_one("caption") for t in soup.select(".cf-subject-access table"))

    download = dpo.post(REPORT, data={**form, "format": "json"})
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="subject-access-record-')
    report = json.loads(download.get_data(as_text=True))
    assert report["record"]["number"] == person["record"]
    assert sorted(s["reference"] for s in report["submissions"]) == sorted(
        [person["gp"].reference, person["badge"].reference]
    )
    with office.session() as s:
        logged = s.exec(
            select(AccessLog.staff_id, AccessLog.citizen_id).where(AccessLog.action == "subject-access")
        ).all()
        assert logged == [(dpo_user.id, person["record"])] * 2
        made = s.exec(select(RecordEvent).where(RecordEvent.action == "subject-access")).all()
        assert [e.detail["format"] for e in made] == ["html", "json"]  # type: ignore[index]


def test_the_report_escapes_what_people_typed(office: Office) -> None:
    hostile = '<script>alert("x")</script> Quistgaard'
    with office.session() as s:
        case = h.send(s, "blue-badge", {**h.badge(), "condition_description": hostile})
        s.expunge_all()
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    form = _form(dpo, f"{REPORT}?key={case.reference}", "form.cf-make-report")
    shown = dpo.post(REPORT, data={**form, "format": "html"})
    html = shown.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
