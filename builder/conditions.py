"""Conditions in plain words, for the builder's condition editor.

The reader and writer live in ``runtime.conditions`` (pure, no Flask), so that ``civicforms diff``
and the runtime's change summaries print conditions in plain words too; this module re-exports
them under the names the builder has always used. ``EditError`` is the same class here and there.
"""

from __future__ import annotations

from runtime.conditions import (
    OPERATOR_WORDS,
    OPERATORS,
    Clause,
    Condition,
    EditError,
    describe,
    describe_clause,
    describe_schema,
    from_schema,
    operator_label,
    operators_for,
    questions_for_condition,
    to_schema,
    validate_clause,
    validate_condition,
)

__all__ = [
    "OPERATORS",
    "OPERATOR_WORDS",
    "Clause",
    "Condition",
    "EditError",
    "describe",
    "describe_clause",
    "describe_schema",
    "from_schema",
    "operator_label",
    "operators_for",
    "questions_for_condition",
    "to_schema",
    "validate_clause",
    "validate_condition",
]
