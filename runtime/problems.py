"""What a check finds, and where: the one ``Problem`` type and JSON paths, for every checker.

Nothing of the engine is imported here, so that the definition checker, the workflow checker,
the trap proof and the builder can all report alike without importing one another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    path: str  # JSON path: $.pages[2].questions[0]
    message: str

    def render(self, file: str) -> str:
        return f"{file}: {self.path}: {self.message}"


def json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def json_equal(a: Any, b: Any) -> bool:
    """Equal as JSON documents: key order does not count (but ``true`` is not ``1``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def json_depth(doc: Any) -> int:
    """How deeply a JSON document nests (a scalar counts 1), without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
