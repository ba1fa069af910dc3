"""Bar charts drawn on the server as SVG (the reports page): the geometry only, the template draws it.

No JavaScript and no chart library: each chart is an ``<svg role="img">`` with a title and a
description naming every figure, followed on the page by the same figures as a table, so a screen
reader user (or anyone without images) has everything the chart shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 220  # horizontal bars: the labels' column
ROW_HEIGHT = 28
BAR_HEIGHT = 18
VALUE_ROOM = 90  # room right of the longest bar for its figure
COLUMN_HEIGHT = 200  # columns: the tallest column
MAX_LABEL = 32  # characters of a label drawn in the chart (the table has it whole)


@dataclass(frozen=True)
class Bar:
    label: str  # as drawn (shortened)
    value_text: str
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    value_x: float
    value_y: float


@dataclass(frozen=True)
class Chart:
    kind: str  # "bars" (horizontal) or "columns"
    width: int
    height: int
    bars: list[Bar]
    axis_y: float  # columns: where the baseline is


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _figure(value: float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"


def bars(rows: Sequence[tuple[str, float]], *, suffix: str = "") -> Chart:
    """Horizontal bars, one per (label, value), longest for the largest value."""
    top = max((v for _, v in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    out = []
    for i, (label, value) in enumerate(rows):
        y = 6 + i * ROW_HEIGHT
        width = room * value / top
        out.append(
            Bar(
                label=_short(label),
                value_text=_figure(value) + suffix,
                x=LABEL_WIDTH,
                y=y,
                width=round(max(width, 1 if value else 0), 1),
                height=BAR_HEIGHT,
                label_x=LABEL_WIDTH - 8,
                label_y=y + BAR_HEIGHT - 4,
                value_x=round(LABEL_WIDTH + width + 6, 1),
                value_y=y + BAR_HEIGHT - 4,
            )
        )
    return Chart(kind="bars", width=WIDTH, height=12 + ROW_HEIGHT * max(len(rows), 1), bars=out, axis_y=0)


MAX_COLUMN_LABELS = 13  # labels under the columns, at most (every other, every third... beyond)
MIN_SLOT_FOR_FIGURES = 30  # a column narrower than this has no figure above it (the table has it)


def columns(rows: Sequence[tuple[str, float]]) -> Chart:
    """Vertical columns left to right (weeks), the figure above each and its label below: with
    many columns, only some labels and no figures, so that no text runs into another."""
    top = max((v for _, v in rows), default=0) or 1
    count = max(len(rows), 1)
    slot = (WIDTH - 20) / count
    every = -(-count // MAX_COLUMN_LABELS)
    base = 24 + COLUMN_HEIGHT
    out = []
    for i, (label, value) in enumerate(rows):
        height = COLUMN_HEIGHT * value / top
        x = 10 + i * slot + slot * 0.15
        out.append(
            Bar(
                label=label if i % every == 0 else "",
                value_text=_figure(value) if slot >= MIN_SLOT_FOR_FIGURES else "",
                x=round(x, 1),
                y=round(base - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label_x=round(x + slot * 0.35, 1),
                label_y=base + 16,
                value_x=round(x + slot * 0.35, 1),
                value_y=round(base - height - 5, 1),
            )
        )
    return Chart(kind="columns", width=WIDTH, height=base + 26, bars=out, axis_y=base)
