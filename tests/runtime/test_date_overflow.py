"""Issue 13, finding 7: a date part too large for the platform was a 500 page.

``collection_date-day=2147483648`` raised OverflowError in the date widget. Now the citizen
gets the page again with the service's own message for a date that is not real; every widget
is fuzzed the same way in ``tests/fuzz/test_widget_parsers.py``.
"""

from __future__ import annotations

import pytest

from tests.conftest import Citizen, page
from tests.runtime.helpers import error_summary, field_value, stored_answers, walk

SERVICE = "missed-bin-collection"
NOT_REAL = ("Your collection day must be a real date", "#collection-date-day")


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [
        ("2147483648", "1", "2025"),  # the finding: past a C int
        ("1", "9223372036854775808", "2025"),  # past a 64-bit integer
        ("1", "1", "1" + "0" * 5000),  # past Python's 4,300-digit limit for int()
        ("1" + "0" * 5000, "1", "2025"),
        ("-0", "1", "2025"),
        ("1e999999", "1", "2025"),
        ("NaN", "1", "2025"),
        ("2\x00", "1", "2025\x00"),  # NUL dropped: a real date
    ],
)
def test_a_date_part_too_large_is_not_a_real_date_not_a_500(
    citizen: Citizen, client: object, db_session: object, day: str, month: str, year: str
) -> None:
    walk(citizen, SERVICE, until="collection-day")
    response = citizen.answer(
        SERVICE,
        "collection-day",
        {"collection_date-day": day, "collection_date-month": month, "collection_date-year": year},
    )
    if day == "2\x00":
        assert response.status_code == 303
        assert stored_answers(db_session)["collection_date"] == "2025-01-02"  # type: ignore[arg-type]
        return
    assert response.status_code == 200
    shown = page(response)
    assert error_summary(shown) == [NOT_REAL]
    assert shown.title is not None and shown.title.get_text().strip().startswith("Error: ")
    # What was typed is shown back, as typed (long values are cut at 20,000 characters).
    assert field_value(shown, "collection_date-day") == day[:20_000]
    assert "collection_date" not in stored_answers(db_session)  # type: ignore[arg-type]
