"""Download links are ordinary links, never boosted by htmx.

The back office's pages are boosted (the page container's hx-boost): htmx fetches a link and swaps
the response's #page in. A CSV has no #page, so with JavaScript on a boosted "Download ... (CSV)"
link emptied the page and downloaded nothing (the reports page's four CSVs, the audit's and the
access log's export; found walking the council tax team's day in Chromium). Each such link must
say hx-boost="false", as the inbox's export does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.settings import PROJECT_ROOT
from tests.casework.conftest import Office
from tests.conftest import page

TEMPLATES = PROJECT_ROOT / "runtime" / "web" / "templates"


@pytest.mark.parametrize(
    ("role", "path", "count"),
    [("manager", "/reports", 4), ("manager", "/audit", 1), ("dpo", "/data-protection/access-log", 1)],
)
def test_the_csv_links_are_not_boosted(office: Office, role: str, path: str, count: int) -> None:
    office.new_case()
    client = office.sign_in(office.staff("Pat Person", role))
    response = client.get(path)
    assert response.status_code == 200
    links = page(response).select("a[download]")
    assert len(links) == count
    for link in links:
        assert link.get("hx-boost") == "false", link
        assert client.get(str(link["href"]).removeprefix("/casework")).mimetype == "text/csv"


def test_no_template_has_a_boosted_download_link() -> None:
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for tag in re.findall(r"<a\b[^>]*>", template.read_text(encoding="utf-8")):
            if re.search(r"\sdownload[\s>=]", tag) and 'hx-boost="false"' not in tag:
                found.append(f"{Path(template).relative_to(TEMPLATES)}: {tag}")
    assert not found, found
