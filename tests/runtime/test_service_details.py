"""What a definition says about its service, shown to citizens: contact, privacy, identifiers."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup

from runtime.definition import read_file
from tests.conftest import DEFINITIONS, page
from tests.runtime.helpers import walk


def _section(soup: BeautifulSoup, heading: str) -> str:
    """The text from an ``h2`` up to the next heading."""
    h2 = next((h for h in soup.select("main h2") if h.get_text(strip=True) == heading), None)
    assert h2 is not None, heading
    parts = []
    for sibling in h2.find_next_siblings():
        if sibling.name == "h2":
            break
        parts.append(sibling.get_text(" ", strip=True))
    return " ".join(parts)


def test_the_start_page_shows_contact_details_and_the_privacy_summary(client) -> None:  # type: ignore[no-untyped-def]
    doc = read_file(DEFINITIONS / "blue-badge.json")
    soup = page(client.get("/services/blue-badge"))
    contact = _section(soup, "Contact us")
    assert doc["contact"]["email"] in contact
    assert f"Telephone: {doc['contact']['phone']}" in contact
    assert doc["contact"]["hours"] in contact
    assert "Town Hall" in contact
    email = soup.select_one(f'main a[href="mailto:{doc["contact"]["email"]}"]')
    assert email is not None
    privacy = _section(soup, "How we use your information")
    assert doc["privacy"]["summary"][0] in privacy
    link = soup.select_one(f'main a[href="{doc["privacy"]["url"]}"]')
    assert link is not None and "privacy notice" in link.get_text()
    # The start button comes before the contact details, as on GOV.UK start pages.
    assert soup.select_one("main form") is not None


def test_a_service_without_contact_details_shows_no_empty_section(client) -> None:  # type: ignore[no-untyped-def]
    assert "contact" not in read_file(DEFINITIONS / "missed-bin-collection.json")
    soup = page(client.get("/services/missed-bin-collection"))
    headings = [h.get_text(strip=True) for h in soup.select("main h2")]
    assert "Contact us" not in headings and "How we use your information" not in headings


def test_the_confirmation_shows_contact_details(citizen) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "register-with-gp")
    response = citizen.submit("register-with-gp")
    assert response.status_code == 303
    soup = page(citizen.client.get(response.headers["Location"]))
    doc = read_file(DEFINITIONS / "register-with-gp.json")
    assert soup.select_one(".govuk-panel__title").get_text(strip=True) == doc["confirmation"]["title"]
    assert doc["contact"]["phone"] in _section(soup, "Contact us")
    assert soup.select_one(f'main a[href="{doc["privacy"]["url"]}"]') is not None


def test_an_nhs_number_is_stored_normalised_and_shown_as_the_nhs_writes_it(citizen) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "register-with-gp")
    soup = page(citizen.client.get("/services/register-with-gp/check-answers"))
    rows: dict[str, Any] = {
        row.select_one(".govuk-summary-list__key").get_text(strip=True): row.select_one(
            ".govuk-summary-list__value"
        ).get_text(strip=True)
        for row in soup.select(".govuk-summary-list__row")
    }
    assert rows["NHS number"] == "943 476 5919"


def test_an_ni_number_is_shown_in_pairs(citizen) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "blue-badge")
    soup = page(citizen.client.get("/services/blue-badge/check-answers"))
    values = [v.get_text(strip=True) for v in soup.select(".govuk-summary-list__value")]
    assert "AB 12 34 56 C" in values
