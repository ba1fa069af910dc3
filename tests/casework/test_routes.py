"""No back office route answers without sign-in and the right role.

Written over the whole route table (``app.url_map``), like tests/builder/test_routes.py: a
route missing from the table below fails here until someone says which permission it needs,
and then the checks below hold the view to that, for a stranger, for a staff member with no
role, for every role without the permission, and for a caseworker of another department.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select
from werkzeug.routing import Rule

from runtime import staff as core
from runtime.data import records
from runtime.models import CitizenLink, LegalHold, SharingAgreement
from runtime.settings import Settings
from runtime.storage import storage_for
from runtime.web.casework import PREFIX
from tests.casework.case_files_helpers import add_file
from tests.casework.conftest import Office, csrf
from tests.upload_servers import upload_settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Files (issue 18) kept in the test's own folder."""
    return dataclasses.replace(settings, **upload_settings(tmp_path))


PUBLIC = "public"
SIGNED_IN = "signed in"

ROUTES: dict[str, str] = {
    # issue 17, part A (add this part's endpoints below this line)
    "cases.add_note": core.WORK_CASES,
    "cases.send_back": core.WORK_CASES,  # also a role that decides at the step, or a manager (runtime.case_corrections)
    "cases.reopen_case": core.ASSIGN_OTHERS,
    # issue 17, part B (add this part's endpoints below this line)
    "cases.save_filter": core.WORK_CASES,
    "cases.delete_filter": core.WORK_CASES,
    "cases.export_inbox": core.WORK_CASES,
    # issue 17, part C (add this part's endpoints below this line)
    # issue 17, part D (add this part's endpoints below this line)
    "escalation.send_back_form": core.ASSIGN_OTHERS,
    "escalation.send_back": core.ASSIGN_OTHERS,
    "email_settings.edit": core.WORK_CASES,
    "email_settings.save": core.WORK_CASES,
    # issue 17, part E (add this part's endpoints below this line)
    "reports.home": core.VIEW_REPORTS,
    "reports.report_csv": core.VIEW_REPORTS,
    "reports.audit": core.VIEW_REPORTS,
    "reports.audit_csv": core.VIEW_REPORTS,
    # issue 18, part F: a case's files
    "case_files.download": core.WORK_CASES,
    "case_files.thumbnail": core.WORK_CASES,
    "static": PUBLIC,
    "assets": PUBLIC,
    "brand_css": PUBLIC,
    "healthz": PUBLIC,
    "staff.sign_in": PUBLIC,
    "staff.two_factor": PUBLIC,
    "staff.set_up_two_factor": PUBLIC,
    "staff.sign_out": PUBLIC,
    "staff.set_up": PUBLIC,
    "sso.start": PUBLIC,
    "sso.callback": PUBLIC,
    "cases.inbox": core.WORK_CASES,
    "cases.assign_selected": core.ASSIGN_OTHERS,
    "cases.show_case": core.WORK_CASES,
    "cases.take_action": core.WORK_CASES,  # each action also needs a role its transition names
    "cases.request_information": core.WORK_CASES,
    "cases.assign_case": core.WORK_CASES,  # a colleague: ASSIGN_OTHERS, checked by runtime.cases.assign
    "outbox.list_messages": core.WORK_CASES,
    "cases.place_legal_hold": core.LEGAL_HOLD,
    "cases.release_legal_hold": core.LEGAL_HOLD,
    "records.search": core.VIEW_RECORDS,
    "records.show": core.VIEW_RECORDS,
    "records.undo": core.REVIEW_RECORDS,
    "records.queue": core.REVIEW_RECORDS,
    "records.pair": core.REVIEW_RECORDS,
    "records.decide": core.REVIEW_RECORDS,
    "records.undo_decision": core.REVIEW_RECORDS,
    "privacy.home": core.SHARING_AGREEMENTS,
    "privacy.agreements": core.SHARING_AGREEMENTS,
    "privacy.new_agreement": core.SHARING_AGREEMENTS,
    "privacy.end_agreement": core.SHARING_AGREEMENTS,
    "privacy.access_log": core.DATA_PROTECTION,
    "privacy.access_log_csv": core.DATA_PROTECTION,
    "erasure.erase": core.DATA_PROTECTION,
    "erasure.subject_access": core.DATA_PROTECTION,
}
SHELL = {"static", "assets", "brand_css", "healthz"}
# Routes about one case: in another department, they are a 404 for everyone.
CASE_ROUTES = {
    "cases.show_case",
    "cases.take_action",
    "cases.request_information",
    "cases.assign_case",
    "cases.place_legal_hold",
    "cases.release_legal_hold",
    "case_files.download",
    "case_files.thumbnail",
}


def _url(rule: Rule, values: dict[str, str]) -> str:
    url = rule.rule
    for argument in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{argument}>", values.get(argument, "x"), url)
    return url


def _methods(rule: Rule) -> set[str]:
    return (rule.methods or set()) - {"HEAD", "OPTIONS"}


def _rules(app: Flask, *kinds: str) -> list[Rule]:
    wanted = []
    for rule in app.url_map.iter_rules():
        entry = ROUTES[rule.endpoint]
        kind = entry if entry in (PUBLIC, SIGNED_IN) else "permission"
        if kind in kinds:
            wanted.append(rule)
    return wanted


def _send(client: FlaskClient, rule: Rule, method: str, token: str, values: dict[str, str]) -> Any:
    url = _url(rule, values)
    if method == "GET":
        response = client.get(url)
        response.close()  # a file download's stream (issue 18) is closed with its response
        return response
    # A post with what the page's own forms send, so that the view itself must refuse it.
    data = {"csrf_token": token, "action": "approve", "lock_version": "1", "assignee": "me", "message": "Tell us"}
    if rule.endpoint == "cases.assign_selected":
        data["case"] = values["case_id"]
    return client.post(url, data=data)


def _is_sign_in_redirect(response: Any) -> bool:
    return response.status_code in (302, 303) and response.headers["Location"].startswith(f"{PREFIX}/sign-in")


def _values(office: Office) -> dict[str, str]:
    """A case, its record, a possible match of it, one of its links, a legal hold on it and a
    sharing agreement of its department: what the routes' placeholders name."""
    reference = office.new_case()
    other = office.new_case(name="Someone Else", email="someone.else@example.com")
    case = office.case(reference)
    with office.session() as s:
        pair = records.suggest_pair(
            s,
            citizen_id=case.citizen_id,
            other_citizen_id=office.case(other).citizen_id,
            match_weight=10.0,
            match_probability=0.9,
            evidence={},
        )
        link = s.exec(select(CitizenLink).where(CitizenLink.citizen_id == case.citizen_id)).first()
        hold = LegalHold(case_id=case.id, reason="Tribunal claim")
        agreement = SharingAgreement(
            from_department_id=case.department_id,
            to_department_id=office.other_department,
            purpose="Joint visits",
            lawful_basis="public_task",
            starts_on=date(2026, 1, 1),
            ends_on=date(2030, 1, 1),
        )
        s.add_all([hold, agreement])
        s.commit()
        assert pair is not None and link is not None
        ids = {"candidate_id": pair.id, "link_id": link.id, "hold_id": hold.id, "agreement_id": agreement.id}
        # issue 18, part F: an image of the case, in the test's own storage folder
        upload = add_file(s, storage_for(office.app.extensions["civicforms.settings"]), case)
    return {
        "reference": reference,
        "case_id": str(case.id),
        "citizen_id": str(case.citizen_id),
        **{k: str(v) for k, v in ids.items()},
        "filename": "js/app.js",
        "token": "x",
        "provider": "x",
        "part": "open-cases",  # issue 17, part E: one of the reports' CSVs
        "filter_id": "1",  # issue 17, part B: a saved filter (someone else's, or none: nothing deleted)
        "upload_id": upload.id,  # issue 18, part F
    }


def test_every_casework_route_says_what_it_needs(casework_app: Flask) -> None:
    endpoints = {rule.endpoint for rule in casework_app.url_map.iter_rules()}
    unlisted = endpoints - set(ROUTES)
    assert not unlisted, f"say what these endpoints need in ROUTES ({__file__}): {sorted(unlisted)}"
    gone = set(ROUTES) - endpoints
    assert not gone, f"these endpoints no longer exist: {sorted(gone)}"
    for permission in set(ROUTES.values()) - {PUBLIC, SIGNED_IN}:
        assert permission in core.PERMISSIONS, permission


def test_each_view_declares_what_the_table_says(casework_app: Flask) -> None:
    for endpoint, needed in ROUTES.items():
        view = casework_app.view_functions[endpoint]
        if endpoint in SHELL or getattr(view, "staff_public", False):
            declared = PUBLIC
        elif getattr(view, "staff_permission", None):
            declared = view.staff_permission
        elif getattr(view, "staff_login_required", False):
            declared = SIGNED_IN
        else:
            declared = "nothing: add login_required, requires(...) or public"
        assert declared == needed, endpoint


def test_no_casework_route_answers_a_stranger(casework_app: Flask, casework: FlaskClient, office: Office) -> None:
    values = _values(office)
    token = csrf(casework, "/sign-in")
    rules = _rules(casework_app, SIGNED_IN, "permission")
    assert len(rules) == len(ROUTES) - 11
    for rule in rules:
        for method in _methods(rule):
            response = _send(casework, rule, method, token, values)
            assert _is_sign_in_redirect(response), (method, rule.rule, response.status_code)
    assert [e[0] for e in office.events(values["reference"])] == ["submitted"]


def test_a_staff_member_without_a_role_sees_nothing(casework_app: Flask, office: Office) -> None:
    values = _values(office)
    user = office.staff("Nora Norole", "designer")
    with office.session() as s:  # take the role away again: a member of staff with no role at all
        from sqlmodel import col, delete

        from runtime.models import StaffRole

        s.exec(delete(StaffRole).where(col(StaffRole.user_id) == user.id))  # type: ignore[call-overload]
        s.commit()
    client = office.sign_in(user)
    token = csrf(client, "/sign-out")
    for rule in _rules(casework_app, SIGNED_IN, "permission"):
        for method in _methods(rule):
            response = _send(client, rule, method, token, values)
            assert not _is_sign_in_redirect(response), (method, rule.rule)
            assert response.status_code in (403, 404), (method, rule.rule, response.status_code)
    assert [e[0] for e in office.events(values["reference"])] == ["submitted"]


@pytest.mark.parametrize("role", sorted(core.ROLE_LABELS))
def test_each_role_gets_what_it_may_and_no_more(casework_app: Flask, office: Office, role: str) -> None:
    """A role in the case's own department, without the permission a route needs: 403 (or 404)."""
    values = _values(office)
    client = office.sign_in(office.staff(f"Role {role}", role))
    token = csrf(client, "/sign-out")
    for rule in _rules(casework_app, SIGNED_IN, "permission"):
        needed = ROUTES[rule.endpoint]
        for method in _methods(rule):
            response = _send(client, rule, method, token, values)
            assert not _is_sign_in_redirect(response), (method, rule.rule)
            if rule.endpoint == "cases.inbox" and role in ("records", "dpo", "admin"):
                # The back office's home sends those who work on records, not cases, to theirs.
                assert response.status_code == 303, (role, response.status_code)
                assert "/citizens" in response.headers["Location"] or "/data-protection" in response.headers["Location"]
            elif needed != SIGNED_IN and not core.has_permission({role}, needed):
                assert response.status_code in (403, 404), (role, method, rule.rule, response.status_code)
            else:
                assert response.status_code not in (403, 404), (role, method, rule.rule, response.status_code)
                assert response.status_code < 500, (role, method, rule.rule, response.status_code)


@pytest.mark.parametrize("role", ["caseworker", "manager"])
def test_another_departments_staff_get_404_for_a_case(casework_app: Flask, office: Office, role: str) -> None:
    values = _values(office)
    client = office.sign_in(office.staff(f"Other {role}", role, department=office.other_department))
    token = csrf(client, "/")
    for rule in _rules(casework_app, "permission"):
        if rule.endpoint not in CASE_ROUTES:
            continue
        for method in _methods(rule):
            for key in (values["reference"], values["case_id"]):
                response = _send(client, rule, method, token, {**values, "reference": key})
                assert response.status_code == 404, (role, method, rule.rule, response.status_code)
    assert [e[0] for e in office.events(values["reference"])] == ["submitted"]
    assert office.case(values["reference"]).assigned_to is None


def test_the_public_pages_answer_a_stranger(casework_app: Flask, casework: FlaskClient, office: Office) -> None:
    values = _values(office)
    for rule in _rules(casework_app, PUBLIC):
        if "GET" in _methods(rule):
            with casework.get(_url(rule, values)) as response:
                assert response.status_code in (200, 303, 404), (rule.rule, response.status_code)


def test_posts_without_a_csrf_token_are_refused(office: Office) -> None:
    values = _values(office)
    client = office.sign_in(office.staff("Mona Manager", "manager", "caseworker"))
    reference = values["reference"]
    for url, data in (
        (f"/cases/{reference}/act", {"action": "approve", "lock_version": "1"}),
        (f"/cases/{reference}/assign", {"assignee": "me"}),
        (f"/cases/{reference}/request-information", {"message": "x", "lock_version": "1"}),
        ("/assign", {"case": values["case_id"], "assignee": "me"}),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert "could not be sent" in response.get_data(as_text=True)
    assert [e[0] for e in office.events(reference)] == ["submitted"]
