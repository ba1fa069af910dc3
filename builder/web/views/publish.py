"""Builder views: publishing, version history, rollback, the definition file and try it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("publish", __name__)
