"""One development server for every face of the product (``civicforms serve``).

Production runs each face from its own WSGI entry point (runtime/wsgi.py for citizens,
builder/wsgi.py for the builder, runtime/casework_wsgi.py for the back office); here the citizen
runtime answers at /, the builder is mounted at /builder/ and the back office at /casework/.
A deployment of the runtime alone has no ``builder`` package: then the builder is not mounted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from runtime.web import create_citizen_app
from runtime.web.casework import create_casework_app

create_builder_app: Callable[[dict[str, Any] | None], Flask] | None
try:
    from builder.web import create_builder_app
except ModuleNotFoundError as error:
    if error.name not in ("builder", "builder.web"):
        raise  # the builder is there but broken: say so rather than serve without it
    create_builder_app = None


def create_dev_app(config: dict[str, Any] | None = None) -> Flask:
    """The citizen runtime at /, the builder (when installed) and the back office at their prefixes."""
    app = create_citizen_app(config)
    mounts: dict[str, Any] = {}
    if create_builder_app is not None:
        mounts["/builder"] = create_builder_app(config)
    mounts["/casework"] = create_casework_app(config)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, mounts)  # type: ignore[method-assign]
    app.extensions["civicforms.mounted_faces"] = mounts
    return app
