"""The limits the definition format states, read from its meta-schema, and the one cap on a posted
field: every check that repeats a limit of the format takes it from here, so that the meta-schema
stays the one place it is written (runtime/schemas/definition.schema.json).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

META_SCHEMA = Path(__file__).parent / "schemas" / "definition.schema.json"


@cache
def meta_schema() -> dict[str, Any]:
    """The definition format's meta-schema, read once."""
    return json.loads(META_SCHEMA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _stated(*path: str) -> int:
    node: Any = meta_schema()
    for key in path:
        node = node[key]
    return int(node)


MAX_TEXT = _stated("$defs", "text", "maxLength")  # every text a designer writes: labels, hints, paragraphs
MAX_NAME = _stated("$defs", "property_name", "maxLength")  # an answer's property name
MAX_SERVICE_ID = _stated("properties", "id", "maxLength")
MAX_PAGE_ID = _stated("$defs", "page", "properties", "id", "maxLength")
MAX_STEP_TEXT = _stated("$defs", "short_text", "maxLength")  # a state's or an action's label
MAX_STATES = _stated("properties", "workflow", "properties", "states", "maxProperties")
MAX_TRANSITIONS = _stated("properties", "workflow", "properties", "transitions", "maxItems")
MAX_QUORUM = _stated("$defs", "workflow_transition", "properties", "approvals", "properties", "count", "maximum")
MAX_EMAIL = _stated("properties", "contact", "properties", "email", "maxLength")

# Not a limit of the format: what the web faces keep of any one posted field. Longer than any text
# a definition or a builder operation accepts, so that the rule's own message is the one shown; a
# megabyte stops at the request size limit first.
MAX_FIELD = 20_000
