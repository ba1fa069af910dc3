"""No builder route answers without sign-in and the right role.

Written over the builder's whole route table (``app.url_map``), so a view added later is
covered without a new test: a route missing from the table below fails here until someone
says which permission it needs, and then the checks below hold the view to that, for a
stranger, for a staff member with no role, and for every role that lacks the permission.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from builder.web import PREFIX
from runtime import staff as core
from tests.builder.conftest import StaffMembers
from tests.conftest import page

PUBLIC = "public"  # anyone: the shell's own routes and the pages that let staff sign in
SIGNED_IN = "signed in"  # any signed-in staff member, whatever their role

# Every endpoint of the builder: PUBLIC, SIGNED_IN, or the permission (runtime.staff) it needs.
ROUTES: dict[str, str] = {
    # issue 18, part E: the questions about each item of an add-another section
    "pages.add_item_question": core.EDIT_DRAFTS,
    "pages.edit_item_question": core.EDIT_DRAFTS,
    "pages.move_item_question": core.EDIT_DRAFTS,
    "pages.delete_item_question": core.EDIT_DRAFTS,
    # issue 17, part E (add this part's endpoints below this line)
    # issue 17, part F (add this part's endpoints below this line)
    # issue 17, part G (add this part's endpoints below this line)
    "static": PUBLIC,
    "assets": PUBLIC,
    "brand_css": PUBLIC,
    "healthz": PUBLIC,
    "staff.sign_in": PUBLIC,
    "staff.two_factor": PUBLIC,
    "staff.set_up_two_factor": PUBLIC,  # a half signed-in member must set up their second factor
    "staff.sign_out": PUBLIC,
    "staff.set_up": PUBLIC,  # the one-time link is the credential
    "sso.start": PUBLIC,
    "sso.callback": PUBLIC,
    "services.list_services": SIGNED_IN,
    "services.new_service": core.EDIT_DRAFTS,
    "services.task_list": core.VIEW_SERVICES,
    "services.edit_details": core.EDIT_DRAFTS,
    "services.edit_start_page": core.EDIT_DRAFTS,
    "services.edit_retention": core.EDIT_DRAFTS,
    "services.edit_declaration": core.EDIT_DRAFTS,
    "services.edit_confirmation": core.EDIT_DRAFTS,
    "services.edit_privacy_and_contact": core.EDIT_DRAFTS,
    "services.edit_reference": core.EDIT_DRAFTS,
    "services.edit_identity": core.EDIT_DRAFTS,
    "services.move_service": core.MOVE_SERVICES,  # in the target department too: checked by drafts.move_draft
    "pages.list_pages": core.EDIT_DRAFTS,
    "pages.move_page": core.EDIT_DRAFTS,
    "pages.add_page": core.EDIT_DRAFTS,
    "pages.edit_page": core.EDIT_DRAFTS,
    "pages.delete_page": core.EDIT_DRAFTS,
    "pages.add_question": core.EDIT_DRAFTS,
    "pages.edit_question": core.EDIT_DRAFTS,
    "pages.move_question": core.EDIT_DRAFTS,
    "pages.delete_question": core.EDIT_DRAFTS,
    "pages.edit_condition": core.EDIT_DRAFTS,
    "pages.edit_routing": core.EDIT_DRAFTS,
    "pages.preview_page": core.EDIT_DRAFTS,
    "pages.preview_service": core.EDIT_DRAFTS,
    "publish.publish_page": core.PUBLISH_OWN,
    "publish.publish": core.PUBLISH_OWN,  # others' drafts: PUBLISH_OTHERS, checked in the view
    "publish.history": core.SEE_HISTORY,
    "publish.roll_back": core.ROLL_BACK,
    "publish.confirm_roll_back": core.ROLL_BACK,
    "publish.update_draft": core.PUBLISH_OWN,
    "publish.definition": core.VIEW_SERVICES,
    "publish.save_definition": core.EDIT_DEFINITION_FILE,
    "try_it.start": core.EDIT_DRAFTS,
    "try_it.begin": core.EDIT_DRAFTS,
    "try_it.question": core.EDIT_DRAFTS,
    "try_it.check_answers": core.EDIT_DRAFTS,
    "try_it.confirmation": core.EDIT_DRAFTS,
    "try_it.restart": core.EDIT_DRAFTS,
    "try_it.add_another_item": core.EDIT_DRAFTS,
    "try_it.add_another_remove": core.EDIT_DRAFTS,
    "try_it.upload_file": core.EDIT_DRAFTS,
    "try_it.remove_file": core.EDIT_DRAFTS,
    "workflow.overview": core.EDIT_DRAFTS,
    "workflow.default": core.EDIT_DRAFTS,
    "workflow.settings": core.EDIT_DRAFTS,
    "workflow.add_state": core.EDIT_DRAFTS,
    "workflow.edit_state": core.EDIT_DRAFTS,
    "workflow.delete_state": core.EDIT_DRAFTS,
    "workflow.move_state": core.EDIT_DRAFTS,
    "workflow.request_information": core.EDIT_DRAFTS,
    "workflow.add_action": core.EDIT_DRAFTS,
    "workflow.edit_action": core.EDIT_DRAFTS,
    "workflow.delete_action": core.EDIT_DRAFTS,
    "workflow.move_action": core.EDIT_DRAFTS,
    # The users page: any department's admin; a person's pages need the admin role in one of
    # their departments (tests/builder/test_admin.py checks the 404 for other departments).
    "admin.list_users": core.MANAGE_USERS,
    "admin.invite_user": core.MANAGE_USERS,
    "admin.show_user": core.MANAGE_USERS,
    "admin.change_roles": core.MANAGE_USERS,
    "admin.deactivate_user": core.MANAGE_USERS,
    "admin.reactivate_user": core.MANAGE_USERS,
    "admin.reset_two_factor": core.MANAGE_USERS,
    "admin.sign_out_everywhere": core.MANAGE_USERS,
    "admin.unlink_sso": core.MANAGE_USERS,
    "admin.new_setup_link": core.MANAGE_USERS,
    "admin.unlock_user": core.MANAGE_USERS,
}
SHELL = {"static", "assets", "brand_css", "healthz"}

# The service the URLs below are about, and values for the variables in the builder's URLs
# (anything else gets "x").
SERVICE = "blue-badge"
URL_VALUES = {
    "service_id": SERVICE,
    "page_id": "where-you-live",
    "page": "where-you-live",
    "name": "lives_in_area",
    "filename": "js/app.js",
    # The first staff member each test makes: the one signed in, so their own department's.
    "user_id": "1",
    "state": "received",
    "index": "0",
}


def _url(rule: Rule) -> str:
    url = rule.rule
    for argument in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{argument}>", URL_VALUES.get(argument, "x"), url)
    return url


def _methods(rule: Rule) -> set[str]:
    return (rule.methods or set()) - {"HEAD", "OPTIONS"}


def _rules(app: Flask, *kinds: str) -> list[Rule]:
    """The rules whose endpoint's entry is one of these kinds (PUBLIC, SIGNED_IN, or "permission")."""
    wanted = []
    for rule in app.url_map.iter_rules():
        entry = ROUTES[rule.endpoint]
        kind = entry if entry in (PUBLIC, SIGNED_IN) else "permission"
        if kind in kinds:
            wanted.append(rule)
    return wanted


def _csrf_token(client: FlaskClient, url: str = "/sign-in") -> str:
    field = page(client.get(url)).select_one("input[name=csrf_token]")
    assert field is not None, f"no CSRF token on {url}"
    return str(field["value"])


def _send(client: FlaskClient, rule: Rule, method: str, token: str) -> Any:
    """One request as a browser would send it: a POST with its CSRF token, so the view itself must answer."""
    url = _url(rule)
    if method == "GET":
        return client.get(url)
    if method == "POST":
        return client.post(url, data={"csrf_token": token})
    return client.open(url, method=method, headers={"X-CSRFToken": token})


def _is_sign_in_redirect(response: Any) -> bool:
    return response.status_code in (302, 303) and response.headers["Location"].startswith(f"{PREFIX}/sign-in")


def test_every_builder_route_says_what_it_needs(builder_app: Flask) -> None:
    endpoints = {rule.endpoint for rule in builder_app.url_map.iter_rules()}
    unlisted = endpoints - set(ROUTES)
    assert not unlisted, f"say what these endpoints need in ROUTES ({__file__}): {sorted(unlisted)}"
    gone = set(ROUTES) - endpoints
    assert not gone, f"these endpoints no longer exist: {sorted(gone)}"
    for permission in set(ROUTES.values()) - {PUBLIC, SIGNED_IN}:
        assert permission in core.PERMISSIONS, permission


def test_each_view_declares_what_the_table_says(builder_app: Flask) -> None:
    """The decorators on the views (runtime.web.staff) say the same as the table."""
    for endpoint, needed in ROUTES.items():
        view = builder_app.view_functions[endpoint]
        if endpoint in SHELL:
            declared = PUBLIC
        elif getattr(view, "staff_public", False):
            declared = PUBLIC
        elif getattr(view, "staff_permission", None):
            declared = view.staff_permission
        elif getattr(view, "staff_login_required", False):
            declared = SIGNED_IN
        else:
            declared = "nothing: add login_required, requires(...) or public"
        assert declared == needed, endpoint


def test_no_staff_route_answers_a_stranger(builder_app: Flask, builder: FlaskClient) -> None:
    """Every GET and POST (with a valid CSRF token) to a staff route sends a stranger to sign in."""
    token = _csrf_token(builder)
    rules = _rules(builder_app, SIGNED_IN, "permission")
    assert rules
    for rule in rules:
        for method in _methods(rule):
            response = _send(builder, rule, method, token)
            assert _is_sign_in_redirect(response), (method, rule.rule, response.status_code)


def test_a_staff_member_without_a_role_sees_nothing_that_needs_one(builder_app: Flask, staff: StaffMembers) -> None:
    client = staff.sign_in(staff.create(roles=[]))
    token = _csrf_token(client, "/")
    for rule in _rules(builder_app, SIGNED_IN, "permission"):
        for method in _methods(rule):
            response = _send(client, rule, method, token)
            assert not _is_sign_in_redirect(response), (method, rule.rule)
            if ROUTES[rule.endpoint] != SIGNED_IN:
                assert response.status_code in (403, 404), (method, rule.rule, response.status_code)


@pytest.mark.parametrize("role", sorted(core.ROLE_LABELS))
def test_each_role_is_refused_what_it_may_not_do(builder_app: Flask, staff: StaffMembers, role: str) -> None:
    """A role in the service's own department, without the permission a route needs: 403 (or 404)."""
    department = staff.department_of(SERVICE)
    client = staff.sign_in(staff.create(roles=[(department, role)]))
    token = _csrf_token(client, "/")
    for rule in _rules(builder_app, SIGNED_IN, "permission"):
        needed = ROUTES[rule.endpoint]
        for method in _methods(rule):
            response = _send(client, rule, method, token)
            assert not _is_sign_in_redirect(response), (method, rule.rule)
            allowed = needed == SIGNED_IN or core.has_permission({role}, needed)
            if not allowed:
                assert response.status_code in (403, 404), (role, method, rule.rule, response.status_code)
            else:
                assert response.status_code != 403, (role, method, rule.rule)
                assert response.status_code < 500, (role, method, rule.rule, response.status_code)


def test_the_public_pages_answer_a_stranger(builder_app: Flask, builder: FlaskClient) -> None:
    """The sign-in pages work without signing in (none of them is a 500, whatever the values)."""
    for rule in _rules(builder_app, PUBLIC):
        if "GET" in _methods(rule):
            with builder.get(_url(rule)) as response:
                assert response.status_code in (200, 303, 404), (rule.rule, response.status_code)
