"""The widget registry: every question type, in the order of the builder's palette.

A new question type is one ``Widget`` subclass in one module of this package and one entry in
``WIDGETS``; the checker, answers, rendering and error messages all dispatch through it (a
test checks that the meta-schema's widget enum lists exactly these names).
"""

from __future__ import annotations

from .add_another import ADD_ANOTHER, AddAnother
from .address import ADDRESS_PARTS, UK_ADDRESS
from .base import WIDTHS, FormData, Widget, clean_text, html_id
from .choices import CHECKBOXES, RADIOS, SELECT, YES_NO
from .date import DATE, long_date
from .declaration import DECLARATION
from .file import FILE, is_upload
from .identifiers import (
    NHS_NUMBER,
    NI_NUMBER,
    POSTCODE,
    format_nhs_number,
    format_ni_number,
    is_nhs_number,
    is_ni_number,
    is_postcode,
    normalise_nhs_number,
    normalise_ni_number,
    normalise_postcode,
)
from .money import MONEY, pounds
from .number import NUMBER
from .phone import UK_PHONE, format_phone, is_uk_phone, normalise_uk_phone
from .text import EMAIL, TEL, TEXT, TEXTAREA
from .time import TIME, format_time, is_time_of_day, normalise_time

WIDGETS: dict[str, Widget] = {
    w.name: w
    for w in (
        TEXT,
        TEXTAREA,
        NUMBER,
        DATE,
        EMAIL,
        TEL,
        POSTCODE,
        UK_ADDRESS,
        YES_NO,
        RADIOS,
        CHECKBOXES,
        SELECT,
        NI_NUMBER,
        NHS_NUMBER,
        DECLARATION,
        ADD_ANOTHER,
        TIME,
        MONEY,
        UK_PHONE,
        FILE,
    )
}
ADD_ANOTHER.widgets.update(WIDGETS)  # the widgets its item questions use

__all__ = [
    "ADDRESS_PARTS",
    "AddAnother",
    "WIDGETS",
    "WIDTHS",
    "FormData",
    "Widget",
    "clean_text",
    "format_nhs_number",
    "format_ni_number",
    "format_phone",
    "format_time",
    "html_id",
    "is_nhs_number",
    "is_ni_number",
    "is_postcode",
    "is_upload",
    "is_time_of_day",
    "is_uk_phone",
    "long_date",
    "normalise_nhs_number",
    "normalise_ni_number",
    "normalise_postcode",
    "normalise_time",
    "normalise_uk_phone",
    "pounds",
]
