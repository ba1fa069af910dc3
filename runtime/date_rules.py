"""Relative date rules: "at least 14 days from today", "no more than 6 months from today".

A date question may carry ``"date_rule": {"earliest": {"days": 14}, "latest": {"months": 6}}``
(docs/definition-format.md, "Relative date rules"). Each side is one amount of one unit
(``days``, ``working_days``, ``weeks`` or ``months``) counted from the day the citizen answers:
a positive amount is after today, a negative one before it, 0 is today. The earliest date allowed
is included, and so is the latest.

Pure and without imports of the engine: the widgets, the checker, validation, ``civicforms
diff`` and the builder all read rules through this module.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# The units a side may use, in the order the builder offers them, with their largest amount
# (about 100 years: a date of birth may say "no earlier than 1,200 months ago").
UNITS: dict[str, int] = {"days": 36_600, "working_days": 26_000, "weeks": 5_200, "months": 1_200}
UNIT_WORDS = {"days": "day", "working_days": "working day", "weeks": "week", "months": "month"}
SIDES = ("earliest", "latest")


def long_date(value: date) -> str:
    """``3 July 1950``: how GOV.UK writes a date."""
    return f"{value.day} {value.strftime('%B')} {value.year}"


@dataclass(frozen=True)
class Offset:
    """One side of a rule: ``amount`` of ``unit`` from today (negative: before today)."""

    unit: str
    amount: int

    def from_day(self, today: date) -> date:
        """The date this offset names, counted from ``today``.

        Months keep the day of the month where they can (31 January + 1 month is the last day of
        February); working days skip Saturdays and Sundays, and are counted from today whatever
        day today is. A date beyond the calendar (year 1 or 9999) stops at its end.
        """
        try:
            if self.unit == "days":
                return today + timedelta(days=self.amount)
            if self.unit == "weeks":
                return today + timedelta(weeks=self.amount)
            if self.unit == "months":
                months = today.year * 12 + today.month - 1 + self.amount
                year, month = divmod(months, 12)
                month += 1
                if year < date.min.year:
                    return date.min
                if year > date.max.year:
                    return date.max
                return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
            step = timedelta(days=1 if self.amount >= 0 else -1)
            day = today
            for _ in range(abs(self.amount)):
                day += step
                while day.weekday() >= 5:
                    day += step
            return day
        except OverflowError:
            return date.min if self.amount < 0 else date.max

    def words(self) -> str:
        """'14 days from today', '3 months before today', 'today'."""
        if self.amount == 0:
            return "today"
        n = abs(self.amount)
        unit = UNIT_WORDS[self.unit] + ("" if n == 1 else "s")
        return f"{n:,} {unit} {'from' if self.amount > 0 else 'before'} today"


def offset_problem(value: Any) -> str | None:
    """Why one side of a rule cannot be read; None when it can."""
    if not isinstance(value, dict) or len(value) != 1:
        return 'must be one amount of one unit, like {"days": 14}, {"working_days": 10}, {"weeks": 2} or {"months": 6}'
    ((unit, amount),) = value.items()
    if unit not in UNITS:
        return f"{str(unit)[:40]!r} is not a unit: use days, working_days, weeks or months"
    if not isinstance(amount, int) or isinstance(amount, bool):
        return f"the number of {UNIT_WORDS[unit]}s must be a whole number"
    if abs(amount) > UNITS[unit]:
        return f"{abs(amount):,} {UNIT_WORDS[unit]}s is too far from today: at most {UNITS[unit]:,}"
    return None


def offset(value: Any) -> Offset | None:
    """One side of a rule, or None when it cannot be read (offset_problem says why)."""
    if offset_problem(value) is not None:
        return None
    ((unit, amount),) = value.items()
    return Offset(unit, amount)


@dataclass(frozen=True)
class DateRule:
    """A question's relative date rule: either side may be missing."""

    earliest: Offset | None = None
    latest: Offset | None = None

    @classmethod
    def read(cls, value: Any) -> DateRule | None:
        """The rule a question's ``date_rule`` says; None without one, or one that cannot be read
        (only in a definition that skipped the checker: a rule that cannot be read is not applied)."""
        if not isinstance(value, dict) or not value or set(value) - set(SIDES):
            return None
        sides = {side: offset(value[side]) if side in value else None for side in SIDES}
        if any(side in value and sides[side] is None for side in SIDES):
            return None
        return cls(sides["earliest"], sides["latest"])

    def bounds(self, today: date) -> tuple[date | None, date | None]:
        """The earliest and the latest date allowed when answering on ``today`` (both included)."""
        return (
            self.earliest.from_day(today) if self.earliest else None,
            self.latest.from_day(today) if self.latest else None,
        )

    def problem(self, value: date, today: date) -> tuple[str, date] | None:
        """``("earliest" | "latest", the date it had to be on or after / before)``; None: allowed."""
        earliest, latest = self.bounds(today)
        if earliest is not None and value < earliest:
            return "earliest", earliest
        if latest is not None and value > latest:
            return "latest", latest
        return None

    def words(self) -> str:
        """The rule in plain words: 'at least 14 days from today and no more than 6 months from today'."""
        parts = []
        if self.earliest is not None:
            parts.append(f"at least {self.earliest.words()}" if self.earliest.amount else "today or later")
        if self.latest is not None:
            parts.append(f"no more than {self.latest.words()}" if self.latest.amount else "today or earlier")
        return " and ".join(parts)


def rule_problems(value: Any, today: date | None = None) -> list[tuple[list[str], str]]:
    """What is wrong with a ``date_rule`` value: ``(path under date_rule, message)`` each."""
    if not isinstance(value, dict):
        return [([], 'must be an object like {"earliest": {"days": 14}}')]
    found: list[tuple[list[str], str]] = []
    for key in value:
        if key not in SIDES:
            found.append(([str(key)[:40]], 'unknown key: a rule has "earliest", "latest" or both'))
    if not any(side in value for side in SIDES):
        found.append(([], 'give an "earliest" date, a "latest" date or both'))
    for side in SIDES:
        if side in value:
            problem = offset_problem(value[side])
            if problem:
                found.append(([side], problem))
    if not found:
        rule = DateRule.read(value)
        assert rule is not None
        day = today or date.today()
        earliest, latest = rule.bounds(day)
        if earliest is not None and latest is not None and earliest > latest:
            found.append(
                (
                    [],
                    f"the earliest date ({rule.earliest.words() if rule.earliest else ''}) is after the latest "
                    f"({rule.latest.words() if rule.latest else ''}): no date could be given",
                )
            )
    return found


def rule_words(value: Any) -> str:
    """A ``date_rule`` in words for change summaries; the raw value when it cannot be read."""
    rule = DateRule.read(value)
    if rule is None:
        return "a rule that cannot be read"
    return rule.words()
