"""One development server for every face of the product (``civicforms serve``).

Production runs each face from its own WSGI entry point (runtime/wsgi.py for citizens);
the builder and back office mount here as they arrive.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import create_citizen_app


def create_dev_app(config: dict[str, Any] | None = None) -> Flask:
    return create_citizen_app(config)
