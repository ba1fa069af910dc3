"""Subject access reports and erasure on request, for the data protection officer (docs/citizen-records.md)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("erasure", __name__)
