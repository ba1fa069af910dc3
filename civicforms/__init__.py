"""The whole product put together: the ``civicforms`` command, and one development server for
every face (``civicforms serve``).

This package is the top layer: it may import the citizen runtime (``runtime``), the back office
(``runtime.web.casework``) and the builder (``builder``); nothing imports it. The runtime deploys
without it and without the builder (each face has its own WSGI entry point).
"""
