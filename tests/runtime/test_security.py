"""What protects a citizen without them noticing: response headers, the session cookie, and
the exact set of citizen-facing routes."""

from __future__ import annotations

import dataclasses
import json
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask

from runtime.settings import Settings
from runtime.web import create_citizen_app
from tests.conftest import page
from tests.runtime.helpers import assert_only_our_scripts, csp_nonce, stored_answers, walk

SERVICE = "blue-badge"


def every_kind_of_response(citizen: Any, client: Any) -> dict[str, Any]:
    """One response of each kind a citizen can get, by name."""
    got: dict[str, Any] = {
        "home": client.get("/"),
        "start page": client.get(f"/services/{SERVICE}"),
        "session expired redirect": client.get(f"/services/{SERVICE}/where-you-live"),
        "session expired": client.get(f"/services/{SERVICE}/session-expired"),
        "not found": client.get("/services/no-such-service"),
        "no route": client.get("/no/such/route/at/all"),
        "no csrf token": client.post(f"/services/{SERVICE}/start"),
        "wrong method": client.put(f"/services/{SERVICE}"),
        "brand css": client.get("/brand.css"),
        "health": client.get("/healthz"),
        "static": client.get("/static/js/app.js"),
    }
    got["start"] = citizen.start(SERVICE)
    got["question"] = client.get(f"/services/{SERVICE}/where-you-live")
    got["question with errors"] = citizen.answer(SERVICE, "where-you-live", {})
    token = citizen.csrf(f"/services/{SERVICE}/where-you-live")
    got["too large"] = client.post(
        f"/services/{SERVICE}/where-you-live", data={"lives_in_area": "x" * 100_000, "csrf_token": token}
    )
    walk(citizen, SERVICE)
    got["check answers"] = client.get(f"/services/{SERVICE}/check-answers")
    got["sent"] = citizen.submit(SERVICE)
    got["confirmation"] = client.get(f"/services/{SERVICE}/confirmation")
    for response in got.values():
        response.close()
    return got


def test_every_response_carries_the_security_headers(citizen, client) -> None:  # type: ignore[no-untyped-def]
    responses = every_kind_of_response(citizen, client)
    assert responses["too large"].status_code == 413
    assert responses["no csrf token"].status_code == 400
    assert responses["no route"].status_code == 404
    assert responses["wrong method"].status_code == 405
    nonces = set()
    for name, response in responses.items():
        headers = response.headers
        policy = headers.get("Content-Security-Policy", "")
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, name
        assert "object-src 'none'" in policy and "base-uri 'none'" in policy, name
        nonces.add(csp_nonce(response))
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("X-Frame-Options") == "DENY", name
        assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", name
        if response.mimetype == "text/html":
            assert headers.get("Cache-Control") == "no-store", name
            if response.status_code != 303:
                assert_only_our_scripts(response)
    assert len(nonces) == len(responses), "a nonce was used twice"
    # Assets may be cached; they hold nothing personal.
    assert "no-store" not in responses["static"].headers.get("Cache-Control", "")
    assert "no-store" not in responses["brand css"].headers.get("Cache-Control", "")


def _set_cookie(response: Any) -> dict[str, Any]:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("civicforms_session=")]
    assert len(headers) == 1, headers
    cookie = SimpleCookie()
    cookie.load(headers[0])
    morsel = cookie["civicforms_session"]
    flags = {part.strip().split("=")[0].lower() for part in headers[0].split(";")[1:]}
    return {"value": morsel.value, "samesite": morsel["samesite"], "flags": flags}


def test_the_session_cookie_is_httponly_and_lax(client) -> None:  # type: ignore[no-untyped-def]
    cookie = _set_cookie(client.get(f"/services/{SERVICE}"))
    assert "httponly" in cookie["flags"]
    assert cookie["samesite"] == "Lax"
    assert "secure" not in cookie["flags"]  # the test settings turn Secure off for plain http


@pytest.fixture
def secure_app(settings: Settings) -> Any:
    app = create_citizen_app({"SETTINGS": dataclasses.replace(settings, secure_cookies=True), "TESTING": True})
    yield app
    app.extensions["civicforms.engine"].dispose()


def test_with_secure_cookies_the_cookie_is_secure_and_hsts_is_sent(secure_app: Flask) -> None:
    client = secure_app.test_client()
    response = client.get(f"/services/{SERVICE}", base_url="https://localhost")
    cookie = _set_cookie(response)
    assert {"secure", "httponly"} <= cookie["flags"]
    assert cookie["samesite"] == "Lax"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_cookie_holds_no_personal_data(citizen, client, app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, SERVICE)  # name, date of birth, NI number, address, email and phone answered
    cookie = client.get_cookie("civicforms_session")
    assert cookie is not None
    decoded = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    assert set(decoded) <= {"_permanent", "csrf_token", "forms"}
    assert set(decoded["forms"]) == {SERVICE}
    text = json.dumps(decoded)

    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    personal = [s for s in strings(stored_answers(db_session)) if len(s) >= 5]
    assert "jane.smith@example.com" in personal and "Jane Smith" in personal
    for answer in personal:
        assert answer not in text, answer
    assert "@" not in text


def _rule_table(app: Flask) -> set[tuple[str, str, frozenset[str]]]:
    return {
        (rule.rule, rule.endpoint, frozenset((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
    }


def test_the_citizen_app_has_exactly_these_routes(app: Flask) -> None:
    get, post, both = frozenset({"GET"}), frozenset({"POST"}), frozenset({"GET", "POST"})
    assert _rule_table(app) == {
        ("/", "citizen.home", get),
        ("/schema/definition.schema.json", "citizen.definition_schema", get),
        ("/services/<service_id>", "citizen.start", get),
        ("/services/<service_id>/start", "citizen.begin", post),
        ("/services/<service_id>/<page_id>", "citizen.question", both),
        ("/services/<service_id>/<page_id>/<number>", "citizen.add_another_item", both),
        ("/services/<service_id>/<page_id>/<number>/remove", "citizen.add_another_remove", both),
        ("/services/<service_id>/<page_id>/upload", "uploads.upload_file", post),
        ("/services/<service_id>/<page_id>/files/<upload_id>/remove", "uploads.remove_file", post),
        ("/services/<service_id>/check-answers", "citizen.check_answers", both),
        ("/services/<service_id>/confirmation", "citizen.confirmation", get),
        ("/services/<service_id>/session-expired", "citizen.session_expired", get),
        ("/services/<service_id>/continue-or-start-again", "citizen.start_choice", both),
        ("/status/<token>", "case_status.status", get),
        ("/status/<token>/information", "case_status.information_from_status", both),
        ("/status/<token>/information/sent", "case_status.information_sent", get),
        ("/information/<token>", "case_status.information", both),
        # issue 18, part F: files for a request's documents
        ("/information/<token>/documents/<int:number>", "information_files.upload", post),
        ("/status/<token>/information/documents/<int:number>", "information_files.upload_from_status", post),
        (
            "/information/<token>/documents/<int:number>/files/<upload_id>/remove",
            "information_files.remove",
            post,
        ),
        (
            "/status/<token>/information/documents/<int:number>/files/<upload_id>/remove",
            "information_files.remove_from_status",
            post,
        ),
        ("/static/<path:filename>", "static", get),
        ("/assets/<path:filename>", "assets", get),
        ("/brand.css", "brand_css", get),
        ("/healthz", "healthz", get),
    }


def test_every_get_route_answers_without_a_500(citizen, client, app: Flask) -> None:  # type: ignore[no-untyped-def]
    """A route added without a test still gets visited once, with and without a journey."""
    values = {"service_id": SERVICE, "page_id": "where-you-live", "filename": "js/app.js", "token": "x"}
    for with_session in (False, True):
        if with_session:
            citizen.start(SERVICE)
        for rule, _, methods in _rule_table(app):
            if "GET" not in methods:
                continue
            url = rule
            for name, value in values.items():
                url = url.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
            with client.get(url) as response:
                assert response.status_code in (200, 303, 404), (url, response.status_code)
                if response.status_code == 200 and response.mimetype == "text/html":
                    assert page(response).select_one("main h1") is not None, url
