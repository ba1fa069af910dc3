"""Citizen records tried as an attacker and a data protection officer would: another department's
reviewer, the access log of the pair page, joined records' redirects (checked in stored rows)."""

from __future__ import annotations

from sqlmodel import select

from runtime.data import records
from runtime.models import AccessLog, CitizenLink, Submission
from runtime.services import matching
from runtime.settings import Settings
from tests.casework.conftest import OTHER_SERVICE, Office, case_url
from tests.casework.test_records_page import _join, _record
from tests.casework.test_records_queue import EVIDENCE
from tests.casework.test_sharing import same_person
from tests.conftest import page


def _pending_pair(office: Office) -> tuple[int, int, int]:
    ada, _ = _record(office)
    other, _ = _record(office, name="Ada King", email="ada.king@example.com")
    with office.session() as s:
        found = records.suggest_pair(
            s, citizen_id=ada, other_citizen_id=other, match_weight=9.0, match_probability=0.9, evidence=EVIDENCE
        )
        s.commit()
        assert found is not None and found.id is not None
        return found.id, min(ada, other), max(ada, other)


def test_every_look_at_a_pair_is_in_the_access_log_for_both_records(office: Office) -> None:
    candidate_id, left, right = _pending_pair(office)
    user = office.staff("Rita Records", "records")
    client = office.sign_in(user)
    assert client.get(f"/citizens/possible-matches/{candidate_id}").status_code == 200
    with office.session() as s:
        rows = s.exec(select(AccessLog).where(AccessLog.staff_id == user.id)).all()
    assert sorted((r.action, r.citizen_id) for r in rows) == [("view-record", left), ("view-record", right)]
    assert all(r.detail == {"pair": candidate_id} for r in rows)  # ids only: no personal data


def _filed_from_another_department(office: Office) -> tuple[int, int, str]:
    """Ada's record, made by her missed bin report (Waste), with her Blue Badge form filed under it
    by matching; returns the record, the Blue Badge form's link and its reference."""
    bins, _ = _record(office, service_id=OTHER_SERVICE)
    badge, reference = _record(office)
    with office.session() as s:
        submission = s.exec(select(Submission).where(Submission.citizen_id == badge)).one()
        assert submission.id is not None

        submission.citizen_id = bins
        s.add(submission)
        s.commit()
        link = records.link_submission(s, submission_id=submission.id, citizen_id=bins, method="probabilistic")
        s.commit()
        assert link.id is not None
        return bins, link.id, reference


def test_a_reviewer_cannot_undo_the_filing_of_another_departments_form(office: Office) -> None:
    record, link_id, reference = _filed_from_another_department(office)
    waste = office.sign_in(office.staff("Rex Records", "records", department=office.other_department))
    soup = page(waste.get(f"/citizens/{record}"))
    assert reference not in soup.get_text()
    # No button to undo what they may not see...
    assert not soup.select(f"tr[data-link='{link_id}'] form.cf-undo-link")
    # ...and a forged post is refused, and changes nothing.
    token = soup.select_one("input[name=csrf_token]") or page(waste.get("/citizens")).select_one(
        "input[name=csrf_token]"
    )
    response = waste.post(f"/citizens/{record}/links/{link_id}/undo", data={"csrf_token": token["value"]})
    assert response.status_code == 404
    with office.session() as s:
        link = s.get(CitizenLink, link_id)
        assert link is not None and link.undone_at is None
        assert s.exec(select(Submission.citizen_id).where(Submission.reference == reference)).one() == record
    # The Blue Badge team's records officer, whose form it is, may undo it.
    badge = office.sign_in(office.staff("Rita Records", "records"))
    [form] = page(badge.get(f"/citizens/{record}")).select(f"tr[data-link='{link_id}'] form.cf-undo-link")
    token = form.select_one("input[name=csrf_token]")["value"]
    assert badge.post(f"/citizens/{record}/links/{link_id}/undo", data={"csrf_token": token}).status_code == 303
    with office.session() as s:
        assert s.exec(select(Submission.citizen_id).where(Submission.reference == reference)).one() != record


def test_a_joined_records_number_tells_an_outsider_nothing(office: Office) -> None:
    ada, _ = _record(office)
    other, _ = _record(office, name="Ada King", email="ada.king@example.com")
    _join(office, other, ada)
    outsider = office.sign_in(office.staff("Otto Outsider", "caseworker", department=office.other_department))
    # Not a redirect to the record it was joined into: the same 404 as a number that never existed.
    assert outsider.get(f"/citizens/{other}").status_code == 404
    insider = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = insider.get(f"/citizens/{other}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/citizens/{ada}")


def test_a_possible_match_names_only_details_the_viewer_may_see(office: Office, settings: Settings) -> None:
    """Ada gave her National Insurance number only to the Blue Badge team; Eve typed it on her own
    Blue Badge form. The Waste caseworker on Ada's bin report is told another record may be her,
    and whom to ask, but not that the two agree on a National Insurance number."""
    hers = office.new_case(name="Ada Lovelace", email="ada@example.com")
    bins = office.new_case(name="Ada Lovelace", email="ada@example.com", service_id=OTHER_SERVICE)
    same_person(office, hers, bins)
    theirs = office.new_case(name="Eve Mallory", email="eve@evil.example")
    with office.session() as s:
        matching.run_jobs(s, limit=10, settings=settings)
    office.staff("Mary Manager", "manager")
    waste = office.sign_in(office.staff("Wendy Waste", "caseworker", department=office.other_department))
    soup = page(waste.get(case_url(bins)))
    [warning] = soup.select(".cf-possible-match")
    text = warning.get_text(" ", strip=True)
    assert f"Record {office.case(theirs).citizen_id} gave some of the same details" in text
    assert "National Insurance" not in soup.get_text() and "AB123456C" not in soup.get_text()
    assert "Mary Manager" in text  # whom to ask
    # The Blue Badge caseworker, who holds the number, is told which detail it is.
    badge = office.sign_in(office.staff("Casey Worker", "caseworker"))
    text = page(badge.get(case_url(hers))).select_one(".cf-possible-match").get_text(" ", strip=True)
    assert "National Insurance number" in text
