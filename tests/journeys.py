"""A happy path through every shipped service: the form fields a citizen posts, page by page.

Used by the journey tests, the browser test and the benchmark, so that one list says what a
valid journey is.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

_future = date.today() + timedelta(days=30)

ADDRESS = {"address.line1": "12 Mill Lane", "address.town": "Westbridge", "address.postcode": "wb1 2ab"}
CONTACT = {"full_name": "Jane Smith", "email": "Jane.Smith@Example.com", "phone": "01632 960 001"}

HAPPY_PATHS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "blue-badge": [
        ("where-you-live", {"lives_in_area": "yes"}),
        ("qualifying-benefit", {"gets_qualifying_benefit": "no"}),
        (
            "walking-difficulty",
            {
                "walking_difficulties": ["pain", "fatigue"],
                "walking_distance": "under_20_metres",
                "condition_description": "Arthritis in both knees since 2015.",
            },
        ),
        (
            "your-details",
            {
                "full_name": "Jane Smith",
                "date_of_birth-day": "3",
                "date_of_birth-month": "7",
                "date_of_birth-year": "1950",
                "ni_number": "ab 12 34 56 c",
            },
        ),
        ("your-address", dict(ADDRESS)),
        ("contact-details", {"email": "jane.smith@example.com", "phone": "01632 960 001"}),
    ],
    "council-tax-single-person-discount": [
        ("account-number", {"account_number": "12345678"}),
        ("property-address", dict(ADDRESS)),
        ("reason", {"reason": "adult_moved_out"}),
        ("adult-who-moved-out", {"other_adult_name": "John Smith"}),
        ("date-only-adult", {"sole_adult_date-day": "1", "sole_adult_date-month": "2", "sole_adult_date-year": "2024"}),
        ("your-details", dict(CONTACT)),
    ],
    "missed-bin-collection": [
        ("collection-address", dict(ADDRESS)),
        ("bins-missed", {"bins_missed": ["rubbish", "recycling"]}),
        ("collection-day", {"collection_date-day": "2", "collection_date-month": "1", "collection_date-year": "2025"}),
        ("bin-out-on-time", {"bin_out_on_time": "yes"}),
        ("bin-location", {"bin_location": "edge_of_property", "crew_notes": "By the green gate."}),
        ("your-details", dict(CONTACT)),
    ],
    "register-with-gp": [
        ("choose-surgery", {"surgery": "riverside"}),
        (
            "about-you",
            {
                "full_name": "Jane Smith",
                "date_of_birth-day": "3",
                "date_of_birth-month": "7",
                "date_of_birth-year": "1950",
            },
        ),
        ("nhs-number-known", {"knows_nhs_number": "yes"}),
        ("nhs-number", {"nhs_number": "943 476 5919"}),
        ("home-address", dict(ADDRESS)),
        ("previous-gp", {"previous_gp": ""}),
        ("contact-details", {"phone": "01632 960 001", "email": "jane.smith@example.com"}),
    ],
    "resident-parking-permit": [
        ("your-address", dict(ADDRESS)),
        ("parking-zone", {"parking_zone": "C", "existing_permits": "1"}),
        (
            "vehicle-details",
            {"vehicle_registration": "AB12 CDE", "vehicle_make_model": "Ford Focus", "fuel_type": "electric"},
        ),
        ("vehicle-keeper", {"vehicle_keeper": "company_car"}),
        ("company-details", {"company_name": "Acme Lettings Ltd"}),
        (
            "your-permit",
            {
                "permit_length": "12_months",
                "permit_start_date-day": str(_future.day),
                "permit_start_date-month": str(_future.month),
                "permit_start_date-year": str(_future.year),
            },
        ),
        ("proof-of-address", {"proof_of_address": ["council_tax_bill", "utility_bill"]}),
        ("your-details", dict(CONTACT)),
    ],
    # Add another: item 1's questions are asked on the list's page while the list is empty, then
    # "Yes" leads to item 2's page (household-members/2); two people ask the bedrooms page, a
    # partner the tenancy page.
    "household-members": [
        ("your-address", dict(ADDRESS)),
        (
            "household-members",
            {"full_name": "John Smith", "relationship": "partner"}
            | {"date_of_birth-day": "14", "date_of_birth-month": "2", "date_of_birth-year": "1979"},
        ),
        ("household-members", {"add-another": "yes"}),
        ("household-members/2", {"full_name": "Amy Smith", "relationship": "child"}),
        ("household-members", {"add-another": "no"}),
        ("partner", {"partner_on_tenancy": "yes"}),
        ("bedrooms", {"bedrooms": "2"}),
        ("your-details", dict(CONTACT)),
    ],
}
