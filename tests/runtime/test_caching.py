"""What the question page keeps between requests, and what it must never keep.

Blank questions are rendered once per definition version (runtime.web.journey_pages.BlankQuestions);
the session cookie is re-signed at most once a minute when unchanged (runtime.web.common.SessionCookie).
A new version is served at once, two citizens never see each other's answers or errors, and
nothing kept carries a CSRF token, a nonce or an answer.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime import store
from runtime.web import common
from runtime.web.journey_pages import BlankQuestions
from tests.conftest import DEFINITIONS, Citizen, page
from tests.runtime.helpers import error_summary, inline_errors

SERVICE = "resident-parking-permit"
URL = f"/services/{SERVICE}/your-address"
NONCE = re.compile(r"'nonce-([^']+)'")


def _fields(response: Any) -> dict[str, str]:
    soup = page(response)
    return {str(i["name"]): str(i.get("value", "")) for i in soup.select("form input") if i.get("name") != "csrf_token"}


def _started(app: Flask) -> tuple[FlaskClient, Citizen]:
    client = app.test_client()
    citizen = Citizen(client)
    response = citizen.start(SERVICE)
    assert response.status_code == 303 and response.headers["Location"].endswith("/your-address")
    return client, citizen


def test_a_new_version_is_served_at_once_after_it_is_published(app: Flask, db_session: Any) -> None:
    first, _ = _started(app)
    before = first.get(URL)
    assert "What is your address?" in before.get_data(as_text=True)

    doc = json.loads((DEFINITIONS / f"{SERVICE}.json").read_text())
    newer = copy.deepcopy(doc)
    newer["version"] = doc["version"] + 1
    newer["questions"]["address"]["label"] = "Where do you live?"
    newer["questions"]["address"]["hint"] = "The address the permit is for."
    store.publish(session=db_session, doc=newer)
    db_session.commit()

    second, _ = _started(app)
    text = second.get(URL).get_data(as_text=True)
    assert "Where do you live?" in text and "The address the permit is for." in text
    assert "What is your address?" not in text
    # A journey already started keeps the version it started on, as before.
    old = first.get(URL).get_data(as_text=True)
    assert "What is your address?" in old and "Where do you live?" not in old


def test_two_citizens_on_the_same_page_never_see_each_others_answers_or_errors(app: Flask) -> None:
    alice, alice_citizen = _started(app)
    bob, bob_citizen = _started(app)
    blank = _fields(bob.get(URL))
    assert blank and all(value == "" for value in blank.values())

    # Alice sends a half-filled page: her text and her errors, on her page only.
    half = {"address.line1": "Alice's <b>secret</b> street", "address.town": "", "address.postcode": "zz"}
    response = alice_citizen.post(URL, half)
    assert response.status_code == 200
    assert error_summary(page(response)) and inline_errors(page(response))
    assert _fields(response)["address.line1"] == "Alice's <b>secret</b> street"
    bob_page = bob.get(URL)
    assert _fields(bob_page) == blank
    assert error_summary(page(bob_page)) == [] and inline_errors(page(bob_page)) == []
    assert "secret" not in bob_page.get_data(as_text=True)

    # Bob gets his own errors; Alice's page does not show them, nor his text.
    response = bob_citizen.post(URL, {"address.line1": "", "address.town": "Bobtown", "address.postcode": ""})
    assert response.status_code == 200 and error_summary(page(response))
    assert _fields(alice.get(URL)) == blank  # nothing of Alice's was stored: her page was invalid
    assert "Bobtown" not in alice.get(URL).get_data(as_text=True)

    # Alice answers; her answer comes back to her, never to Bob.
    alice_answer = {"address.line1": "1 Alice Row", "address.town": "Westbridge", "address.postcode": "WB1 1AA"}
    assert alice_citizen.post(URL, alice_answer).status_code == 303
    assert _fields(alice.get(URL))["address.line1"] == "1 Alice Row"
    assert _fields(bob.get(URL)) == blank
    bob_answer = {"address.line1": "2 Bob Street", "address.town": "Westbridge", "address.postcode": "WB2 2BB"}
    assert bob_citizen.post(URL, bob_answer).status_code == 303
    assert _fields(bob.get(URL))["address.line1"] == "2 Bob Street"
    assert _fields(alice.get(URL))["address.line1"] == "1 Alice Row"
    # And a third citizen, arriving after both, gets the blank page.
    carol, _ = _started(app)
    assert _fields(carol.get(URL)) == blank


def test_nothing_kept_carries_a_csrf_token_a_nonce_or_an_answer(app: Flask) -> None:
    client, citizen = _started(app)
    nonces = set()
    tokens = set()
    for _ in range(2):
        response = client.get(URL)
        nonces |= set(NONCE.findall(response.headers["Content-Security-Policy"]))
        tokens.add(str(page(response).select_one("input[name=csrf_token]")["value"]))  # type: ignore[index]
    answer = {"address.line1": "77 Private Road", "address.town": "Hiddenham", "address.postcode": ""}
    response = citizen.post(URL, answer)
    nonces |= set(NONCE.findall(response.headers["Content-Security-Policy"]))
    assert response.status_code == 200 and inline_errors(page(response))
    assert citizen.post(URL, answer | {"address.postcode": "HD1 1AA"}).status_code == 303
    assert _fields(client.get(URL))["address.line1"] == "77 Private Road"

    cache: BlankQuestions = app.extensions["civicforms.blank_questions"]
    kept = cache.fragments()
    assert kept, "the blank address question is kept"
    for html in kept:
        assert "csrf" not in html.lower() and "nonce" not in html.lower()
        for secret in [*nonces, *tokens, "77 Private Road", "Hiddenham", "HD1 1AA", "govuk-error-message"]:
            assert secret not in html
    # Every page still has its own nonce on its scripts and its own CSRF token.
    text = client.get(URL).get_data(as_text=True)
    assert re.search(r'<script [^>]*nonce="[^"]+"', text) and 'name="csrf_token" value="' in text


def test_the_cache_is_bounded(app: Flask) -> None:
    cache = BlankQuestions(size=2)
    client, _ = _started(app)
    client.get(URL)
    app.extensions["civicforms.blank_questions"] = cache
    for page_url in (URL, URL):
        assert client.get(page_url).status_code == 200
    assert len(cache) == 1
    from runtime.definition import Definition

    definition = store.definition(session=common.new_session(app.extensions["civicforms.engine"]), service_id=SERVICE)
    assert isinstance(definition, Definition)
    with app.app_context():
        for name in ("address", "parking_zone", "existing_permits"):
            if name in definition.questions:
                view = {"macro": "none"}
                assert cache.html(app.jinja_env, definition, view, name, True) is None  # not blank: rendered anew
    assert len(cache) == 2


def test_an_unchanged_session_cookie_is_signed_again_only_after_a_minute(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = _started(app)  # the start page and the start set the cookie (CSRF token, form session)
    again = client.get(URL)
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
    later = common.time.time() + 61
    monkeypatch.setattr(common.time, "time", lambda: later)
    refreshed = client.get(URL)
    assert refreshed.status_code == 200 and "civicforms_session=" in refreshed.headers["Set-Cookie"]
    # A changed session is always sent: starting another service.
    assert "Set-Cookie" in Citizen(client).start("blue-badge").headers


@pytest.mark.parametrize("cookie", ["", "garbage", "a" * 4000, "eyJmb3JtcyI6e319.Zz.tampered"])
def test_a_bad_session_cookie_is_a_new_session(app: Flask, cookie: str) -> None:
    client = app.test_client()
    client.set_cookie("civicforms_session", cookie)
    response = client.get(URL)
    assert response.status_code == 303 and response.headers["Location"].endswith("/session-expired")
