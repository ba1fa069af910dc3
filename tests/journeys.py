"""A happy path through every shipped service: the form fields a citizen posts, page by page.

Used by the journey tests, the browser test and the benchmark, so that one list says what a
valid journey is.

A file question's page takes an ``UploadFile`` (name, content, type) for its question: the
page's upload form posts it, multipart, to ``upload_url(page_url)`` with ``Continue``
(``multipart_fields`` says what to post; ``has_files`` tells such a page from the others).
This module is loaded on its own by the benchmarks (bench/run.py), so it imports nothing of
tests/.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

_future = date.today() + timedelta(days=30)


@dataclass(frozen=True)
class UploadFile:
    """A file a citizen uploads: its name on their computer, its bytes and the type the
    browser sends with it (which the runtime ignores: the kind comes from the content)."""

    name: str
    content: bytes
    mime: str


def _image(kind: str, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    from PIL import Image  # a runtime dependency (images are re-encoded on upload)

    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 4):  # not one flat colour, as no photo is
        image.putpixel((x, size[1] // 2), (20, 20, 20))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


PHOTO = UploadFile("my photo.jpg", _image("JPEG", (300, 400), (180, 140, 120)), "image/jpeg")
PASSPORT = UploadFile("passport scan.png", _image("PNG", (400, 280), (90, 120, 200)), "image/png")


def has_files(data: dict[str, Any]) -> bool:
    """Whether a happy path's page is a file question's (its data holds an UploadFile)."""
    return any(isinstance(value, UploadFile) for value in data.values())


def upload_url(page_url: str) -> str:
    """Where a file question's page posts its upload form (runtime.web.uploads)."""
    return page_url.split("?", 1)[0] + "/upload" + ("?" + page_url.split("?", 1)[1] if "?" in page_url else "")


def multipart_fields(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, UploadFile]]:
    """``(fields, files)`` of a file question's page posted with Continue: the file uploaded
    and the page answered in one post, as a citizen who chooses a file and selects Continue."""
    fields = {name: value for name, value in data.items() if not isinstance(value, UploadFile)}
    files = {name: value for name, value in data.items() if isinstance(value, UploadFile)}
    return {**fields, "action": "continue"}, files


def step_answers(definition: Any, page_id: str, data: dict[str, Any], answers: dict[str, Any]) -> tuple[Any, Any]:
    """``(page, given)``: the page a happy path's step answers (a ``runtime.definition.Page``) and
    what it stores there, as the pages do (bench/run.py, the fuzz harness, the validation cache's
    test). A file question's step stores its files' details; an add-another question's steps
    ("household-members", "household-members/2") each add the item they post; its "Do you need
    to add another?" stores nothing (``given`` None)."""
    from werkzeug.datastructures import MultiDict

    from runtime.answers import parse_page

    page = definition.page_by_id[page_id.partition("/")[0]]
    if has_files(data):  # a file question: its answer as the upload use case writes it (runtime.widgets.file)
        files = {name: f for name, f in data.items() if isinstance(f, UploadFile)}
        return page, {
            name: [{"id": "0" * 32, "name": f.name, "size": len(f.content), "type": f.mime}]
            for name, f in files.items()
        }
    listed = [name for name in page.questions if definition.widget(name) == "add-another"]
    if not listed:
        return page, parse_page(definition, page.questions, MultiDict(data))[0]
    if "add-another" in data:
        return page, None
    each = definition.item_definition(listed[0])
    item = parse_page(each, each.pages[0].questions, MultiDict(data))[0]
    items = answers.get(listed[0])
    return page, {listed[0]: [*(items if isinstance(items, list) else []), item]}


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
        ("photo", {"photo": PHOTO}),
        ("proof-of-identity", {"proof_of_identity": PASSPORT}),
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
    # partner their National Insurance number.
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
        ("partner", {"partner_ni_number": "ab 12 34 56 c"}),
        ("bedrooms", {"bedrooms": "2"}),
        ("your-details", dict(CONTACT)),
    ],
}
