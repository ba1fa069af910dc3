"""The case page shows the new question types' answers as the citizen's check answers page does:
a UK phone number in its national form, not as stored (E.164), and an address found by postcode
as its lines."""

from __future__ import annotations

from tests.casework.conftest import Office, case_url
from tests.conftest import page


def test_the_case_page_shows_a_uk_phone_number_as_people_write_it(office: Office) -> None:
    answers = {
        "address": {
            "line1": "Flat 2, Rose Court, 12 Mill Lane",
            "line2": "Old Town",
            "town": "Westbridge",
            "postcode": "WB1 2AB",
        },
        "parking_zone": "C",
        "existing_permits": 1,
        "vehicle_registration": "AB12 CDE",
        "vehicle_make_model": "Ford Focus",
        "fuel_type": "electric",
        "vehicle_keeper": "registered_keeper",
        "permit_length": "12_months",
        "permit_start_date": "2030-01-01",
        "proof_of_address": ["council_tax_bill"],
        "phone": "+447700900982",
    }
    reference = office.new_case(service_id="resident-parking-permit", answers=answers)
    client = office.sign_in(
        office.staff("Casey Worker", "caseworker", department=office.department_of("resident-parking-permit"))
    )
    soup = page(client.get(case_url(reference)))
    shown = {
        row.dt.get_text(strip=True): row.dd.get_text("|", strip=True)
        for row in soup.select(".cf-answers .govuk-summary-list__row")
    }
    assert shown["Phone number"] == "07700 900982"
    assert shown["Address"] == "Flat 2, Rose Court, 12 Mill Lane|Old Town|Westbridge|WB1 2AB"
    assert "+447700900982" not in soup.select_one(".cf-answers").get_text()
