"""WSGI entry point for the builder alone: ``gunicorn builder.wsgi:app``, served under /builder/."""

from .web import create_builder_app, mounted

app = mounted(create_builder_app())
