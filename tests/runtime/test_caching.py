"""What the question page keeps between requests, and what it must never keep.

Blank questions are rendered once per definition version (runtime.web.journey_pages.BlankQuestions),
and so are whole question pages that are the same for everyone (ReusedPages);
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

from runtime import versions
from runtime.data import published
from runtime.web import common
from runtime.web.journey_pages import BlankQuestions, ReusedPages
from tests.conftest import DEFINITIONS, Citizen, page
from tests.journeys import HAPPY_PATHS
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
    published.publish(session=db_session, doc=newer)
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

    with common.new_session(app.extensions["civicforms.engine"]) as s:
        definition = versions.definition(session=s, service_id=SERVICE)
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


def test_the_cookie_signer_is_made_once_and_follows_a_new_secret_key(app: Flask) -> None:
    first, _ = _started(app)
    second, _ = _started(app)
    interface = app.session_interface
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)
    assert first.get(URL).status_code == 200 and second.get(URL).status_code == 200
    old = app.secret_key
    # A new key, without the old one as a fallback: cookies signed with the old key are refused ...
    app.secret_key = "another-secret-key-" + "y" * 32
    assert first.get(URL).headers["Location"].endswith("/session-expired")
    # ... and with the old key among the fallbacks, they are read again.
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert second.get(URL).status_code == 200


# -- whole pages ----------------------------------------------------------------------------------


def _token(response: Any) -> str:
    return str(page(response).select_one("input[name=csrf_token]")["value"])  # type: ignore[index]


def _normalised(response: Any) -> str:
    """The page with this response's nonce and CSRF token taken out, to compare two renders."""
    text = response.get_data(as_text=True)
    [nonce] = NONCE.findall(response.headers["Content-Security-Policy"])
    return text.replace(nonce, "NONCE").replace(_token(response), "TOKEN")


@pytest.mark.parametrize("service_id", sorted(HAPPY_PATHS))
def test_a_reused_page_is_byte_for_byte_the_page_rendered_afresh(app: Flask, service_id: str) -> None:
    """Every page of the happy path, as a full page and as an htmx fragment, with and without
    change mode: the kept page with this request's token and nonce equals a fresh render."""
    kept: ReusedPages = app.extensions["civicforms.reused_pages"]
    client = app.test_client()
    citizen = Citizen(client)
    assert citizen.start(service_id).status_code == 303
    seen = 0
    for page_id, data in HAPPY_PATHS[service_id]:
        url = f"/services/{service_id}/{page_id}"
        for headers in ({}, {"HX-Request": "true"}):
            kept.pages.clear()
            first = client.get(url, headers=headers)  # rendered and kept
            reused = client.get(url, headers=headers)  # from what was kept
            assert first.status_code == reused.status_code == 200
            assert _normalised(first) == _normalised(reused)
            app.extensions.pop("civicforms.reused_pages")
            try:
                fresh = client.get(url, headers=headers)  # no cache at all
            finally:
                app.extensions["civicforms.reused_pages"] = kept
            assert _normalised(fresh) == _normalised(reused), (service_id, page_id, headers)
            seen += len(kept.pages)
        assert citizen.answer(service_id, page_id, data).status_code == 303
    assert seen >= len(HAPPY_PATHS[service_id])  # blank pages were kept (not everything rendered anew)


def test_reused_pages_keep_marks_never_a_token_a_nonce_or_an_answer(app: Flask) -> None:
    kept: ReusedPages = app.extensions["civicforms.reused_pages"]
    secrets: set[str] = set()
    clients = []
    for _ in range(3):
        client, citizen = _started(app)
        response = client.get(URL)
        token = _token(response)
        [nonce] = NONCE.findall(response.headers["Content-Security-Policy"])
        assert f'nonce="{nonce}"' in response.get_data(as_text=True)  # the scripts carry the header's nonce
        secrets |= {token, nonce}
        clients.append((client, citizen, token))
    assert len(secrets) == 6, "every citizen gets a token and a nonce of their own"
    # Each citizen's own token is the one that works.
    answer = {"address.line1": "9 Hidden Lane", "address.town": "Westbridge", "address.postcode": "WB1 1AA"}
    for client, _, token in clients:
        assert client.post(URL, data={**answer, "csrf_token": token}).status_code == 303
    other, _, _ = clients[0]
    assert other.post(URL, data={**answer, "csrf_token": clients[1][2]}).status_code == 400
    # An answered page is rendered for its citizen, never kept.
    client, _, _ = clients[0]
    assert "9 Hidden Lane" in client.get(URL).get_data(as_text=True)
    pages = kept.pages.values()
    assert pages, "the blank address page is kept"
    for html in pages:
        assert kept.token_mark in html and kept.nonce_mark in html
        for secret in [*secrets, "9 Hidden Lane", "govuk-error-message"]:
            assert secret not in html


@pytest.mark.parametrize("leak", ["nonce", "token"])
def test_a_page_that_reaches_the_real_token_or_nonce_while_rendering_is_not_kept(app: Flask, leak: str) -> None:
    """The safety net: if a template reached the request's real nonce or Flask-WTF's real
    token (not the marks), they would be in the page: it is served, and not kept."""
    from flask_wtf.csrf import generate_csrf
    from jinja2 import DictLoader

    kept: ReusedPages = app.extensions["civicforms.reused_pages"]
    kept.pages.clear()
    app.jinja_loader.loaders.insert(0, DictLoader({"leaky.html": "<p>{{ csrf_token() }} {{ leak() }}</p>"}))  # type: ignore[union-attr]
    with app.test_request_context(URL):
        real = common.csp_nonce if leak == "nonce" else generate_csrf
        html = common._reused_page(kept, ("leaky",), "leaky.html", "layout.html", {"leak": real})
        assert real() in html  # served as rendered, with the real value
    assert len(kept.pages) == 0
    with app.test_request_context(URL):
        html = common._reused_page(kept, ("safe",), "leaky.html", "layout.html", {"leak": lambda: "nothing"})
        assert generate_csrf() in html  # the mark, filled in with this request's token
    assert len(kept.pages) == 1
