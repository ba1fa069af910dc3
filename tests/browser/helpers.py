"""What the browser tests do to pages: fill in a page's form, click and wait for the next page."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.journeys import UploadFile

# Title of every page: "[Error: ]<page title>[ – <service title>] – <organisation>".
TITLE = re.compile(r"^(?P<error>Error: )?(?P<page>.+?)( – .+)? – Westbridge Council$")


def fill(page: Any, data: dict[str, Any]) -> None:
    """Answer a page the way a citizen would: type into boxes, pick options, tick boxes, choose
    a file (Continue then uploads it)."""
    for name, value in data.items():
        if isinstance(value, UploadFile):  # a file question: choose the file
            page.set_input_files(
                f'input[type=file][name="{name}"]',
                files=[{"name": value.name, "mimeType": value.mime, "buffer": value.content}],
            )
            continue
        if isinstance(value, list):
            for item in value:
                page.check(f'input[name="{name}"][value="{item}"]')
            continue
        field = page.locator(f'[name="{name}"]').first
        kind = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind in ("input:radio", "input:checkbox"):
            page.check(f'input[name="{name}"][value="{value}"]')
        elif kind.startswith("select"):
            field.select_option(value)
        else:
            field.fill(value)


def settled(page: Any) -> None:
    """Wait until the page has loaded and no htmx request, swap or settle is under way."""
    # Without JavaScript a page's timers never fire, so wait_for_function cannot poll there: wait
    # for the load event first; the htmx check is then true at once on a page without JavaScript.
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def arrive(page: Any, url: str, timeout: float = 10) -> None:
    """Wait until ``url`` is in the address bar and its page is in place, with a title that matches its h1.

    A fragment may follow: a browser keeps the one of a link across the redirect after a POST."""
    expect(page).to_have_url(re.compile(re.escape(url) + r"(#[\w-]*)?$"))
    settled(page)
    expect(page.locator("h1")).to_have_count(1)
    # The title names the page: the h1 (a question page's h1 may add "(optional)"), except on the home
    # page. Polled, because htmx restores a page from history (back button) without a request class.
    deadline = time.monotonic() + timeout
    while True:
        title, heading = page.evaluate("() => [document.title, document.querySelector('h1').innerText]")
        heading = " ".join(heading.split())
        match = TITLE.match(title)
        if match and (url.endswith("/") or heading.startswith(match["page"])):
            return
        assert time.monotonic() < deadline, f"on {url}, the title {title!r} does not name the page ({heading!r})"
        page.wait_for_timeout(50)


def continue_(page: Any) -> None:
    page.get_by_role("button", name="Continue").click()
