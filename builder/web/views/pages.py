"""Builder views: pages, questions, conditions, routing and live preview."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)
