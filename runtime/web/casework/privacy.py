"""Data protection in the back office: sharing agreements between departments and the access log."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("privacy", __name__)
