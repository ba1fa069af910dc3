"""A legal hold on a case: placed with a reason by a manager or DPO of its department, shown
prominently on the case page, released; the case log says it happened, without the reason."""

from __future__ import annotations

import pytest
from sqlmodel import select

from runtime.models import CaseEvent, LegalHold
from tests.casework.conftest import Office, case_form, case_url, csrf, errors_of
from tests.conftest import page


def _holds(office: Office) -> list[LegalHold]:
    with office.session() as s:
        found = list(s.exec(select(LegalHold)))
        for h in found:
            s.expunge(h)
        return found


def _place(client, reference: str, reason: str):  # type: ignore[no-untyped-def]
    form = case_form(client, reference, "form.cf-place-hold")
    return client.post(case_url(reference, "legal-hold"), data={**form, "reason": reason})


def test_a_manager_places_and_releases_a_legal_hold(office: Office) -> None:
    reference = office.new_case()
    manager = office.sign_in(office.staff("Mary Manager", "manager"))
    response = _place(manager, reference, "Tribunal claim 2026/123: keep everything")
    assert response.status_code == 303
    soup = page(manager.get(case_url(reference)))
    [hold] = soup.select(".cf-legal-hold")
    text = " ".join(hold.get_text().split())
    assert "Legal hold: Tribunal claim 2026/123: keep everything, placed by Mary Manager on" in text
    [stored] = _holds(office)
    assert stored.placed_by is not None and stored.released_at is None
    events = [e for e in office.events(reference) if e[0].startswith("legal-hold")]
    assert events == [("legal-hold", "received", "received", None)]  # no reason in the log
    with office.session() as s:
        [event] = s.exec(select(CaseEvent).where(CaseEvent.action == "legal-hold")).all()
        assert event.detail == {"hold_id": stored.id}
    form = {i["name"]: i.get("value", "") for i in hold.select("input[type=hidden]")}
    response = manager.post(case_url(reference, f"legal-hold/{stored.id}/release"), data=form)
    assert response.status_code == 303
    assert not page(manager.get(case_url(reference))).select(".cf-legal-hold")
    assert _holds(office)[0].released_at is not None
    assert [e[0] for e in office.events(reference)][-1] == "legal-hold-released"
    # Released twice (a stale page): told, nothing more written.
    response = manager.post(case_url(reference, f"legal-hold/{stored.id}/release"), data=form)
    assert response.status_code == 303
    assert "already been released" in page(manager.get(case_url(reference))).get_text()
    assert [e[0] for e in office.events(reference)].count("legal-hold-released") == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("   ", "Enter the reason for the legal hold"),
        ("x" * 10_000, "Reason must be 2,000 characters or fewer"),
        ("a\x00b", "Reason must not contain control characters"),
    ],
)
def test_a_wrong_reason_is_refused(office: Office, reason: str, message: str) -> None:
    reference = office.new_case()
    manager = office.sign_in(office.staff("Mary Manager", "manager"))
    response = _place(manager, reference, reason)
    assert response.status_code == 400
    assert errors_of(page(response)) == [message]
    assert _holds(office) == []


def test_hostile_reason_shows_as_text(office: Office) -> None:
    reference = office.new_case()
    manager = office.sign_in(office.staff("Mary Manager", "manager"))
    assert _place(manager, reference, "<script>alert(1)</script>'; DROP TABLE legal_hold; --").status_code == 303
    html = manager.get(case_url(reference)).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_a_caseworker_may_not_place_or_release_a_hold(office: Office) -> None:
    reference = office.new_case()
    manager = office.sign_in(office.staff("Mary Manager", "manager"))
    _place(manager, reference, "Court order")
    [hold] = _holds(office)
    caseworker = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(caseworker.get(case_url(reference)))
    assert soup.select(".cf-legal-hold") and not soup.select("form.cf-place-hold, form.cf-release-hold")
    token = case_form(caseworker, reference, "form.cf-case-action")["csrf_token"]
    assert (
        caseworker.post(case_url(reference, "legal-hold"), data={"csrf_token": token, "reason": "x"}).status_code == 403
    )
    release = case_url(reference, f"legal-hold/{hold.id}/release")
    assert caseworker.post(release, data={"csrf_token": token}).status_code == 403
    # Another department's manager: a 404, as for every case URL there.
    outsider = office.sign_in(office.staff("Otto Outsider", "manager", department=office.other_department))
    token = case_form(outsider, office.new_case(service_id="missed-bin-collection", answers={}), "form.cf-place-hold")[
        "csrf_token"
    ]
    assert (
        outsider.post(case_url(reference, "legal-hold"), data={"csrf_token": token, "reason": "x"}).status_code == 404
    )
    assert outsider.post(release, data={"csrf_token": token}).status_code == 404
    # Without a CSRF token: refused.
    assert manager.post(case_url(reference, "legal-hold"), data={"reason": "x"}).status_code == 400
    assert manager.post(release, data={}).status_code == 400
    assert len(_holds(office)) == 1 and _holds(office)[0].released_at is None


def test_a_dpo_of_the_department_may_place_a_hold(office: Office) -> None:
    """The DPO has no case role: the hold is placed, and they are sent to the data protection pages."""
    reference = office.new_case()
    dpo_user = office.staff("Dee Protection", "dpo")
    dpo = office.sign_in(dpo_user)
    token = csrf(dpo, "/data-protection/sharing-agreements/new")
    response = dpo.post(case_url(reference, "legal-hold"), data={"csrf_token": token, "reason": "ICO investigation"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/data-protection")
    [hold] = _holds(office)
    assert hold.placed_by == dpo_user.id and hold.reason == "ICO investigation"


def test_no_hold_on_a_case_whose_data_was_erased(office: Office) -> None:
    from runtime.models import utcnow
    from runtime.services import legal_holds

    reference = office.new_case()
    manager = office.staff("Mary Manager", "manager")
    office.update_case(reference, erased_at=utcnow())
    case_id = office.case(reference).id
    with office.session() as s, pytest.raises(legal_holds.Refused, match="already been erased"):
        legal_holds.place(session=s, actor=manager.id, case_id=case_id, reason="Tribunal claim")
    assert _holds(office) == []
