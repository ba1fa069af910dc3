"""One development server for every face of the product (``civicforms serve``).

Production runs each face from its own WSGI entry point (runtime/wsgi.py for citizens,
builder/wsgi.py for the builder, runtime/casework_wsgi.py for the back office); here the citizen
runtime answers at /, the builder is mounted at /builder/ and the back office at /casework/.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import create_citizen_app

# Faces mounted beside the citizen runtime: (URL prefix, module, app factory). Named, never
# imported, here: the runtime must deploy and run without them (nothing in runtime/ imports
# builder/, and a test holds it to that).
OPTIONAL_FACES = [
    ("/builder", "builder.web", "create_builder_app"),
    ("/casework", "runtime.web.casework", "create_casework_app"),
]


def create_dev_app(config: dict[str, Any] | None = None) -> Flask:
    """The citizen runtime at /, with every optional face that is installed at its prefix."""
    app = create_citizen_app(config)
    mounts: dict[str, Any] = {}
    for prefix, module_name, factory in OPTIONAL_FACES:
        module = _optional_module(module_name)
        if module is not None:
            mounts[prefix] = getattr(module, factory)(config)
    if mounts:
        app.wsgi_app = DispatcherMiddleware(app.wsgi_app, mounts)  # type: ignore[method-assign]
    app.extensions["civicforms.mounted_faces"] = mounts
    return app


def _optional_module(name: str) -> Any:
    """The module, or None when its package is not installed; any other import error is raised."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        parts = name.split(".")
        if error.name in {".".join(parts[:i]) for i in range(1, len(parts) + 1)}:
            return None
        raise  # the face is there but broken: say so rather than serve without it
