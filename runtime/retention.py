"""A service's retention period (the definition's ``retention``): how long applicants' personal
data is kept, in plain words, and when a submission or case is due for removal.

Pure: no database. ``runtime.services.retention`` runs it; the checker, ``civicforms diff`` and
the builder use its words. A definition without ``retention`` keeps personal data until it is
erased on request: nothing is removed automatically (docs/definition-format.md, "Retention").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

CASE_CLOSED, SUBMITTED = "case-closed", "submitted"
AFTER = (CASE_CLOSED, SUBMITTED)
MAX_YEARS = 100
MAX_MONTHS = MAX_YEARS * 12
_AFTER_WORDS = {CASE_CLOSED: "after the case is closed", SUBMITTED: "after the form was sent"}


@dataclass(frozen=True)
class Retention:
    """A period in months (years are 12 months each) counted from an event (``AFTER``)."""

    months: int
    after: str

    @classmethod
    def of(cls, value: Any) -> Retention | None:
        """The definition's ``retention`` section, or None when it has none (or is malformed:
        the checker reports that, and nothing is removed meanwhile)."""
        if not isinstance(value, dict) or value.get("after") not in AFTER:
            return None
        years, months = value.get("years"), value.get("months")
        if isinstance(years, int) and not isinstance(years, bool) and 1 <= years <= MAX_YEARS and months is None:
            return cls(years * 12, value["after"])
        if isinstance(months, int) and not isinstance(months, bool) and 1 <= months <= MAX_MONTHS and years is None:
            return cls(months, value["after"])
        return None

    @property
    def period(self) -> str:
        """ "6 years", "18 months", "1 year"."""
        if self.months % 12 == 0:
            years = self.months // 12
            return f"{years} year{'s' if years != 1 else ''}"
        return f"{self.months} month{'s' if self.months != 1 else ''}"

    @property
    def words(self) -> str:
        """ "6 years after the case is closed"."""
        return f"{self.period} {_AFTER_WORDS[self.after]}"

    def due(self, start: date) -> date:
        """The first day the data may be removed: ``start`` plus the period (the 31st of a month
        that has fewer days is its last day; 29 February in a year without one is 28 February)."""
        total = start.year * 12 + (start.month - 1) + self.months
        year, month = divmod(total, 12)
        month += 1
        return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))

    def latest_start(self, today: date) -> date:
        """The latest start (closing or sending date) whose data is due by ``today``: a start on or
        before it is due. Searching by it lets the database use its dates, not read every row."""
        total = today.year * 12 + (today.month - 1) - self.months
        year, month = divmod(total, 12)
        month += 1
        candidate = date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
        # due() clamps the day to the month's last, so a few starts around this one may share a
        # due date: step to the last start that is due by today (at most three days either way).
        while self.due(candidate) > today:
            candidate = date.fromordinal(candidate.toordinal() - 1)
        while self.due(date.fromordinal(candidate.toordinal() + 1)) <= today:
            candidate = date.fromordinal(candidate.toordinal() + 1)
        return candidate


def words(value: Any) -> str:
    """A definition's ``retention`` in plain words, for people: "Keep applicants' personal data for
    6 years after the case is closed", or that it is kept until someone asks for it to be erased."""
    found = Retention.of(value)
    if found is None:
        return "No retention period: personal data is kept until it is erased on request"
    return f"Keep applicants' personal data for {found.words}"


def short_words(value: Any) -> str:
    """The period alone, for a change summary: "6 years after the case is closed" or "none set"."""
    found = Retention.of(value)
    return found.words if found is not None else "none set"
