"""WSGI entry point for the back office alone: ``gunicorn runtime.casework_wsgi:app``, served under /casework/."""

from .web.casework import create_casework_app, mounted

app = mounted(create_casework_app())
