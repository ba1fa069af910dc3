"""WSGI entry point for the citizen-facing runtime alone: ``gunicorn runtime.wsgi:app``."""

from .web import create_citizen_app

app = create_citizen_app()
