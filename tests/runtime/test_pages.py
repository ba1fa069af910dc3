"""The home page, the organisation's branding, and htmx's partial pages."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from runtime.data import published
from runtime.definition import read_file
from runtime.settings import Settings, SettingsError, from_environment
from runtime.web import create_citizen_app
from tests.conftest import DEFINITIONS, SERVICE_IDS, page
from tests.runtime.helpers import heading, title, walk

# -- home page ------------------------------------------------------------------------------


def home_links(client: Any) -> list[tuple[str, str]]:
    response = client.get("/")
    assert response.status_code == 200
    return [(a.get_text(strip=True), str(a["href"])) for a in page(response).select("main h2 a")]


def test_home_lists_every_live_service_in_title_order(client) -> None:  # type: ignore[no-untyped-def]
    shipped = sorted((json.loads((DEFINITIONS / f"{sid}.json").read_text())["title"], sid) for sid in SERVICE_IDS)
    assert home_links(client) == [(t, f"/services/{sid}") for t, sid in shipped]
    for text, href in home_links(client):
        start = client.get(href)
        assert start.status_code == 200
        assert heading(page(start)) == text


def test_a_service_that_is_not_live_is_hidden_and_not_found(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    doc = read_file(DEFINITIONS / "blue-badge.json")
    doc.update(id="blue-badge-pilot", title="Apply for a Blue Badge (pilot)", live=False)
    assert published.publish(session=db_session, doc=doc).outcome == "published"
    db_session.commit()
    assert "/services/blue-badge-pilot" not in [href for _, href in home_links(client)]
    assert len(home_links(client)) == len(SERVICE_IDS)
    for url in ("/services/blue-badge-pilot", "/services/blue-badge-pilot/where-you-live"):
        response = client.get(url)
        assert response.status_code == 404
        assert heading(page(response)) == "Page not found"
    token = citizen.csrf("/services/blue-badge")
    response = client.post("/services/blue-badge-pilot/start", data={"csrf_token": token})
    assert response.status_code == 404


# -- branding -------------------------------------------------------------------------------


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Any]:
    made: list[Flask] = []

    def make(**changes: Any) -> Any:
        app = create_citizen_app({"SETTINGS": dataclasses.replace(settings, **changes), "TESTING": True})
        made.append(app)
        return app.test_client()

    yield make
    for app in made:
        app.extensions["civicforms.engine"].dispose()


def stylesheets(response: Any) -> list[str]:
    return [str(link["href"]) for link in page(response).select("link[rel=stylesheet]")]


def test_by_default_the_page_carries_the_organisations_brand_not_govuks(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/services/blue-badge")
    html = response.get_data(as_text=True)
    assert "govuk-header__logotype" not in html and "govuk-logo" not in html and "GOV.UK" not in html
    header = page(response).select_one("header")
    assert header is not None and "Westbridge Council" in header.get_text()
    sheets = stylesheets(response)  # fingerprinted: the name carries the content's hash
    assert re.fullmatch(r"/static/dist/css/civicforms\.[0-9a-f]{12}\.css", sheets[0]) and sheets[1:] == ["/brand.css"]
    assert title(page(response)).endswith("– Westbridge Council")
    brand = client.get("/brand.css")
    assert brand.mimetype == "text/css"
    assert "--cf-brand-colour: #1d70b8;" in brand.get_data(as_text=True)


def test_govuk_branding_shows_the_govuk_header(make_app) -> None:  # type: ignore[no-untyped-def]
    response = make_app(govuk_branding=True).get("/services/blue-badge")
    soup = page(response)
    assert soup.select_one("header .govuk-header__logotype") is not None
    assert any(sheet.startswith("/static/dist/css/govuk.") for sheet in stylesheets(response))
    assert not any(sheet.startswith("/static/dist/css/civicforms.") for sheet in stylesheets(response))


def test_the_organisations_colour_and_logo_are_used(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(brand_colour="#00703c", logo_url="https://cdn.westbridge.example/logo.png")
    assert "--cf-brand-colour: #00703c;" in client.get("/brand.css").get_data(as_text=True)
    response = client.get("/")
    soup = page(response)
    logo = soup.select_one("header img")
    assert logo is not None and logo["src"] == "https://cdn.westbridge.example/logo.png"
    assert soup.select_one('meta[name="theme-color"]')["content"] == "#00703c"
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.westbridge.example;" in policy


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"brand_colour": "#ffff00"}, "contrast"),
        ({"brand_colour": "#aaaaaa"}, "contrast"),
        ({"brand_colour": "yellow"}, "colour like"),
        ({"logo_url": "http://westbridge.example/logo.png"}, "LOGO_URL"),
        ({"logo_url": "javascript:alert(1)"}, "LOGO_URL"),
    ],
)
def test_settings_refuse_a_poor_brand(settings: Settings, changes: dict[str, str], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        dataclasses.replace(settings, **changes).check()


def test_settings_accept_a_good_brand(settings: Settings) -> None:
    for changes in (
        {"brand_colour": "#0b0c0c"},
        {"logo_url": "/static/logo.png"},
        {"logo_url": "https://x.example/l.svg"},
    ):
        assert dataclasses.replace(settings, **changes).check()
    with pytest.raises(SettingsError, match="contrast"):
        from_environment({"CIVICFORMS_SECRET_KEY": "k" * 40, "CIVICFORMS_BRAND_COLOUR": "#ffff00"})


# -- htmx -----------------------------------------------------------------------------------

HX = {"HX-Request": "true"}


def test_an_htmx_request_gets_the_page_content_only(client) -> None:  # type: ignore[no-untyped-def]
    full = client.get("/services/blue-badge")
    partial = client.get("/services/blue-badge", headers=HX)
    assert "HX-Request" in full.headers.get("Vary", "")
    assert "HX-Request" in partial.headers.get("Vary", "")
    assert "HX-Push-Url" not in full.headers
    assert partial.headers["HX-Push-Url"] == "/services/blue-badge"

    whole = page(full)
    assert whole.select_one("header") and whole.select_one("footer") and whole.select_one("html")
    part = page(partial)
    assert part.select_one("header") is None and part.select_one("footer") is None
    assert part.select_one("html") is None and part.select_one("body") is None
    assert title(part) == title(whole)
    assert part.select_one("#main-content") is not None
    assert heading(part) == heading(whole)
    # Restoring history after a reload needs the whole page again.
    restore = client.get("/services/blue-badge", headers={**HX, "HX-History-Restore-Request": "true"})
    assert page(restore).select_one("header") is not None


def test_an_htmx_post_with_errors_gets_content_that_does_not_change_the_address(citizen, client) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "blue-badge", until="your-details")
    url = "/services/blue-badge/your-details"
    token = citizen.csrf(url)
    response = client.post(url, data={"full_name": "", "csrf_token": token}, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "false"
    assert "HX-Request" in response.headers["Vary"]
    part = page(response)
    assert title(part).startswith("Error: ")
    assert part.select_one("header") is None
    assert part.select_one("#main-content .govuk-error-summary") is not None
    # A question page's address includes its query string when htmx pushes it.
    change = client.get(url + "?change=1", headers=HX)
    assert change.headers["HX-Push-Url"] == url + "?change=1"
