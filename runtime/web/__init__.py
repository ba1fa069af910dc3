"""Web faces of the runtime: the citizen-facing service pages (``create_citizen_app``), the back
office (``runtime.web.casework``), and the staff sign-in the back office and the builder share
(``staff``, ``sso``), all on the shell in ``runtime.web.common``."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_citizen_app(config: dict[str, Any] | None = None) -> Flask:
    """The citizen-facing runtime: deployable on its own, without builder or back office."""
    from . import case_status, citizen, citizen_shell, information_files, upload_pages, uploads
    from .common import create_base_app

    app = create_base_app(__name__, citizen_shell.CITIZEN_FACE, config)
    app.request_class = upload_pages.UploadRequest  # a file question's post streams its file
    citizen_shell.init_app(app)
    app.register_blueprint(citizen.bp)
    uploads.init_app(app)
    app.register_blueprint(case_status.bp)
    app.register_blueprint(information_files.bp)  # issue 18, part F: files for a request's documents
    return app
