"""Citizen records in the back office: search, the record page, the review queue of possible matches."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("records", __name__)
