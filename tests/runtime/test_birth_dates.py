"""An absurd date of birth or NHS number is refused on the page where it is typed (issue 16),
so that it never reaches matching."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from runtime.models import CitizenIdentifier
from tests.conftest import page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import error_summary, inline_errors, submissions, walk


def _details(day: str, month: str, year: str) -> dict[str, str]:
    return {
        **dict(HAPPY_PATHS["blue-badge"])["your-details"],
        "date_of_birth-day": day,
        "date_of_birth-month": month,
        "date_of_birth-year": year,
    }


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (("1", "1", "2090"), "Date of birth must be in the past"),
        ((None, None, None), "Date of birth must be in the past"),  # tomorrow
        (("31", "12", "1889"), "Your date of birth must be in 1890 or later"),
        (("1", "1", "1066"), "Your date of birth must be in 1890 or later"),
    ],
)
def test_a_date_of_birth_in_the_future_or_before_1890_is_refused_on_its_page(citizen, typed, message) -> None:  # type: ignore[no-untyped-def]
    # The blue badge's schema says only "before today": the identity's date of birth is checked all the same.
    if typed[0] is None:
        tomorrow = date.today() + timedelta(days=1)
        typed = (str(tomorrow.day), str(tomorrow.month), str(tomorrow.year))
    walk(citizen, "blue-badge", until="your-details")
    response = citizen.answer("blue-badge", "your-details", _details(*typed))
    assert response.status_code == 200
    soup = page(response)
    [(text, href)] = [e for e in error_summary(soup) if "date of birth" in e[0].lower()]
    assert text == message
    assert href == "#date-of-birth-day"
    assert any(message in e for e in inline_errors(soup))


def test_the_earliest_and_latest_dates_of_birth_are_taken(citizen, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "blue-badge", until="your-details")
    assert citizen.answer("blue-badge", "your-details", _details("1", "1", "1890")).status_code == 303
    today = date.today()
    again = citizen.answer("blue-badge", "your-details", _details(str(today.day), str(today.month), str(today.year)))
    assert again.status_code == 303 or "past" in " ".join(t for t, _ in error_summary(page(again)))


def test_a_200_digit_nhs_number_is_refused_by_its_widget_and_never_stored(citizen, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "register-with-gp", until="nhs-number")
    response = citizen.answer("register-with-gp", "nhs-number", {"nhs_number": "9" * 200})
    assert response.status_code == 200
    errors = error_summary(page(response))
    assert len(errors) == 1 and errors[0][1] == "#nhs-number"
    assert "NHS number" in errors[0][0]
    assert submissions(db_session) == []
    assert db_session.exec(select(CitizenIdentifier)).all() == []


def test_a_date_of_birth_question_marked_bday_is_checked_too() -> None:
    import json

    from runtime.definition import Definition
    from runtime.validation import compiled
    from tests.conftest import DEFINITIONS

    doc = json.loads((DEFINITIONS / "blue-badge.json").read_text())
    doc["identity"].pop("date_of_birth")
    definition = Definition(doc)
    assert compiled(definition).birth_dates == ["date_of_birth"]  # autocomplete "bday"
    errors = compiled(definition).validate({"date_of_birth": "1850-01-01"})
    assert errors["date_of_birth"] == "Your date of birth must be in 1890 or later"
    assert "date_of_birth" not in compiled(definition).validate({"date_of_birth": "1950-01-01"})


def test_limits_the_definition_sets_stand_and_the_missing_side_is_checked() -> None:
    import json

    from runtime.definition import Definition
    from runtime.validation import compiled
    from tests.conftest import DEFINITIONS

    doc = json.loads((DEFINITIONS / "blue-badge.json").read_text())
    doc["schema"]["properties"]["date_of_birth"] = {"type": "string", "format": "date", "dateAfter": "1900-01-01"}
    service = compiled(Definition(doc))
    assert service.validate({"date_of_birth": "2090-01-01"})["date_of_birth"] == "Date of birth must be in the past"
    assert service.validate({"date_of_birth": "1895-01-01"})["date_of_birth"].endswith("after 1 January 1900")
