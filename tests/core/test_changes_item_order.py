"""A new order of the questions about each item of an add-another is a change (issue 18): that
order is only the key order of the list's ``questions``, which a key-order-blind comparison
missed, so ``changes`` said nothing, ``civicforms diff --exit-code`` said "unchanged" and the
builder's publish page said "There is nothing to publish". One rule, ``same_definition``, is used
by ``changes`` and by ``merging.same_content``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from runtime.changes import changes, same_definition
from runtime.cli import main
from runtime.definition import dumps, read_file
from runtime.merging import same_content
from runtime.settings import PROJECT_ROOT

HOUSEHOLD: Path = PROJECT_ROOT / "form_definitions" / "household-members.json"


def household() -> dict[str, Any]:
    return copy.deepcopy(read_file(HOUSEHOLD))


def reordered(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its date of birth asked first of each person, as the builder's Move up does."""
    new = copy.deepcopy(doc)
    q = new["questions"]["household"]["questions"]
    new["questions"]["household"]["questions"] = {"date_of_birth": q.pop("date_of_birth"), **q}
    props = new["schema"]["properties"]["household"]["items"]["properties"]
    new["schema"]["properties"]["household"]["items"]["properties"] = {
        "date_of_birth": props.pop("date_of_birth"),
        **props,
    }
    return new


def test_a_new_order_of_the_questions_about_each_item_is_a_change() -> None:
    old = household()
    new = reordered(old)
    found = changes(old, new)
    assert [c.sentence for c in found] == ["Reordered the questions of each person in 'People who live with you'"]
    assert found[0].old == ["full_name", "relationship", "date_of_birth"]
    assert found[0].new == ["date_of_birth", "full_name", "relationship"]
    assert not same_definition(old, new)
    assert not same_content(old, new)
    newer = {**new, "version": old["version"] + 1}
    assert not same_content(old, newer)


def test_other_key_orders_still_make_no_change() -> None:
    old = household()
    new = copy.deepcopy(old)
    new = {k: new[k] for k in reversed(list(new))}  # top-level keys in another order
    items = new["schema"]["properties"]["household"]["items"]
    items["properties"] = dict(reversed(list(items["properties"].items())))  # only the schema's order
    assert changes(old, new) == []
    assert same_definition(old, new)
    assert same_content(old, {**new, "version": old["version"] + 5})


def test_civicforms_diff_reports_the_new_order(tmp_path: Path) -> None:
    old = household()
    (tmp_path / "old.json").write_text(dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(dumps(reordered(old)), encoding="utf-8")
    args = ["diff", "--exit-code", str(tmp_path / "old.json"), str(tmp_path / "new.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # changed
    assert result.stdout.splitlines() == ["Reordered the questions of each person in 'People who live with you'"]
