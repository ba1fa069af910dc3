"""Fingerprinted static assets: stylesheets and scripts at names with their content's hash,
cached for a year; pages still never cached; a changed file gets a new name, and an old name
never serves other content."""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from runtime.settings import Settings
from runtime.web import create_citizen_app
from runtime.web.common import STATIC
from tests.conftest import page

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Any]:
    made: list[Flask] = []

    def make(static: Path | None = None, **changes: Any) -> Any:
        config: dict[str, Any] = {"SETTINGS": dataclasses.replace(settings, **changes), "TESTING": True}
        if static is not None:
            config["STATIC_FOLDER"] = static
        app = create_citizen_app(config)
        made.append(app)
        return app.test_client()

    yield make
    for app in made:
        app.extensions["civicforms.engine"].dispose()


@pytest.fixture
def static_copy(tmp_path: Path) -> Path:
    """The static files (without the fonts and images) in a folder a test may change."""
    target = tmp_path / "static"
    shutil.copytree(STATIC, target, ignore=shutil.ignore_patterns("assets", "*.map", "src"))
    return target


def asset_urls(response: Any) -> list[str]:
    soup = page(response)
    return [str(link["href"]) for link in soup.select("link[rel=stylesheet]")] + [
        str(script["src"]) for script in soup.select("script[src]")
    ]


def test_pages_name_assets_by_their_content_hash(client: Any) -> None:
    response = client.get("/services/blue-badge")
    assert response.headers["Cache-Control"] == "no-store"
    urls = [u for u in asset_urls(response) if u.startswith("/static/")]
    assert len(urls) == 3  # the stylesheet, htmx, app.js
    for url in urls:
        match = re.fullmatch(r"/static/(.+)\.([0-9a-f]{12})\.(css|js)", url)
        assert match, url
        served = client.get(url)
        assert served.status_code == 200
        assert served.headers["Cache-Control"] == IMMUTABLE
        assert hashlib.sha256(served.data).hexdigest()[:12] == match[2]
        assert "no-store" not in served.headers["Cache-Control"]
        if not url.startswith("/static/js/"):  # our own scripts have their imports renamed
            assert served.data == (STATIC / f"{match[1]}.{match[3]}").read_bytes()
    assert "/static/dist/css/civicforms." in urls[0]


def test_the_module_script_imports_the_hashed_govuk_frontend(client: Any) -> None:
    urls = asset_urls(client.get("/"))
    app_js = next(u for u in urls if u.startswith("/static/js/app."))
    source = client.get(app_js).get_data(as_text=True)
    imported = re.search(r"from '(\.\./dist/js/govuk-frontend\.min\.[0-9a-f]{12}\.js)'", source)
    assert imported, source[:400]
    target = client.get(posixpath.normpath("/static/js/" + imported[1]))  # as the browser resolves it
    assert target.status_code == 200 and target.headers["Cache-Control"] == IMMUTABLE
    assert target.data == (STATIC / "dist/js/govuk-frontend.min.js").read_bytes()


def test_a_changed_file_gets_a_new_url_and_the_old_url_serves_nothing_stale(make_app: Any, static_copy: Path) -> None:
    before = make_app(static_copy)
    old_urls = asset_urls(before.get("/"))
    old_css = old_urls[0]
    old_app_js = next(u for u in old_urls if u.startswith("/static/js/app."))
    stylesheet = static_copy / "dist/css/civicforms.css"
    stylesheet.write_bytes(stylesheet.read_bytes() + b"\n.cf-new-rule { color: #0b0c0c; }\n")
    govuk_js = static_copy / "dist/js/govuk-frontend.min.js"
    govuk_js.write_bytes(govuk_js.read_bytes() + b"\n// a new release\n")

    after = make_app(static_copy)  # a deploy: the new build, the app started again
    new_urls = asset_urls(after.get("/"))
    new_css = new_urls[0]
    assert new_css != old_css and new_css.startswith("/static/dist/css/civicforms.")
    assert b".cf-new-rule" in after.get(new_css).data
    # app.js itself did not change, but what it imports did: its name changes too.
    new_app_js = next(u for u in new_urls if u.startswith("/static/js/app."))
    assert new_app_js != old_app_js
    # htmx did not change: same name, still cached.
    assert [u for u in old_urls if "htmx" in u] == [u for u in new_urls if "htmx" in u]
    # The old names are not answered with the new content.
    for old in (old_css, old_app_js):
        gone = after.get(old)
        assert gone.status_code == 404
        assert gone.headers["Cache-Control"] == "no-store"
    # The name without a hash gives the current file, revalidated on each use.
    plain = after.get("/static/dist/css/civicforms.css")
    assert plain.status_code == 200 and b".cf-new-rule" in plain.data
    assert "no-cache" in plain.headers["Cache-Control"] and "immutable" not in plain.headers["Cache-Control"]
    plain.close()


def test_hashes_are_computed_once_at_start(make_app: Any, static_copy: Path) -> None:
    client = make_app(static_copy)
    url = asset_urls(client.get("/"))[0]
    served = client.get(url).data
    stylesheet = static_copy / "dist/css/civicforms.css"
    stylesheet.write_bytes(b"body { color: red }")
    # Until a restart the page names the same file, and that name still means what it meant.
    assert asset_urls(client.get("/"))[0] == url
    assert client.get(url).data == served
    assert hashlib.sha256(served).hexdigest()[:12] in url


def test_govuk_branding_gets_its_own_hashed_stylesheet(make_app: Any) -> None:
    client = make_app(govuk_branding=True)
    css = asset_urls(client.get("/"))[0]
    assert re.fullmatch(r"/static/dist/css/govuk\.[0-9a-f]{12}\.css", css)
    assert client.get(css).headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize(
    "url",
    [
        "/static/dist/css/civicforms.000000000000.css",
        "/static/dist/css/civicforms.zzzzzzzzzzzz.css",
        "/static/../settings.py",
        "/static/dist/css/%2e%2e/%2e%2e/%2e%2e/common.py",
        "/static/dist/css/nothing.css",
    ],
)
def test_unknown_and_hostile_asset_names_are_not_found(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
