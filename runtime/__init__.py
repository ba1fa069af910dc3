"""Civic Forms runtime: the engine that loads, checks, renders and stores e-services.

Modules at this level never import Flask; the web layers live in :mod:`runtime.web`.
"""

import sys

# jsonschema imports the optional checkers of the formats it knows when it is first imported.
# Two check formats Civic Forms never checks (runtime.validation.ALLOWED_FORMATS; the
# meta-schemas use only uri, uri-reference and regex) and are slow to import: rfc3987_syntax
# ("iri") builds its grammars with lark, about 1 s and 100 MB at every start of
# ``civicforms validate`` and of each worker, and isoduration ("duration") imports arrow.
# Marked missing, they are skipped, as jsonschema skips any checker whose package is not
# installed.
for _name in ("rfc3987_syntax", "isoduration"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]
