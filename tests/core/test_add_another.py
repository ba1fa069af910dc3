"""Add another (issue 18, part C), the pure core: the checker's rules, item questions as a small
definition of their own, item errors with their index (worded and anchored as the item's page
words them), the list's own errors, conditions on the number of items and on any item's answer
(in plain words, read back and written), check answers' lines, the case page's table and the
spreadsheet columns."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from runtime import rendering
from runtime.answers import display, parse_page
from runtime.checker import check
from runtime.conditions import Clause, Condition, EditError, describe_schema, from_schema, to_schema, validate_clause
from runtime.definition import Definition, read_file
from runtime.journey import Journey
from runtime.settings import PROJECT_ROOT
from runtime.validation import compiled
from runtime.widgets import WIDGETS
from runtime.widgets.add_another import fingerprint

HOUSEHOLD: Path = PROJECT_ROOT / "form_definitions" / "household-members.json"
Doc = dict[str, Any]


def doc() -> Doc:
    return copy.deepcopy(read_file(HOUSEHOLD))


def problems(d: Doc) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(d)]


JOHN = {"full_name": "John Smith", "relationship": "partner", "date_of_birth": "1979-02-14"}
AMY = {"full_name": "Amy Smith", "relationship": "child"}


# -- the checker ---------------------------------------------------------------------------------


def test_the_shipped_service_is_valid() -> None:
    assert check(doc()) == []


def _without_max(d: Doc) -> None:
    del d["schema"]["properties"]["household"]["maxItems"]


def _max_too_many(d: Doc) -> None:
    d["schema"]["properties"]["household"]["maxItems"] = 51


def _min_over_max(d: Doc) -> None:
    d["schema"]["properties"]["household"]["minItems"] = 11


def _no_singular(d: Doc) -> None:
    del d["questions"]["household"]["singular"]


def _items_not_objects(d: Doc) -> None:
    d["schema"]["properties"]["household"]["items"] = {"type": "string", "maxLength": 10}


def _item_question_missing(d: Doc) -> None:
    del d["questions"]["household"]["questions"]["date_of_birth"]


def _item_question_extra(d: Doc) -> None:
    d["questions"]["household"]["questions"]["pets"] = {"label": "Pets", "widget": "text"}


def _nested_list(d: Doc) -> None:
    d["questions"]["household"]["questions"]["full_name"]["widget"] = "add-another"


def _item_free_text_unbounded(d: Doc) -> None:
    del d["schema"]["properties"]["household"]["items"]["properties"]["full_name"]["maxLength"]


def _item_radios_without_label(d: Doc) -> None:
    del d["questions"]["household"]["questions"]["relationship"]["options"]["other"]


def _summary_unknown(d: Doc) -> None:
    d["questions"]["household"]["summary"] = "nickname"


def _not_alone(d: Doc) -> None:
    d["pages"][1]["questions"].append("bedrooms")
    d["pages"][3]["questions"].remove("bedrooms")
    del d["pages"][3]


def _condition_unknown_item(d: Doc) -> None:
    d["pages"][2]["show_if"]["properties"]["household"]["contains"]["properties"] = {"relation": {"const": "partner"}}
    d["pages"][2]["show_if"]["properties"]["household"]["contains"]["required"] = ["relation"]


def _condition_unknown_value(d: Doc) -> None:
    d["pages"][2]["show_if"]["properties"]["household"]["contains"]["properties"]["relationship"]["const"] = "spouse"


def _message_of_no_item_field(d: Doc) -> None:
    d["messages"]["household.nickname"] = {"required": "Enter a nickname"}


@pytest.mark.parametrize(
    ("breaks", "expected"),
    [
        (_without_max, ("$.schema.properties.household", 'an add-another question needs a "maxItems" from 1 to 50')),
        (_max_too_many, ("$.schema.properties.household", 'an add-another question needs a "maxItems" from 1 to 50')),
        (_min_over_max, ("$.schema.properties.household.minItems", '"minItems" (11) is more than "maxItems" (10)')),
        (
            _no_singular,
            (
                "$.questions.household",
                'an add-another question needs "singular": what one item is called, like "person"',
            ),
        ),
        (
            _items_not_objects,
            (
                "$.schema.properties.household.items",
                'an add-another question\'s "items" must be an object with "properties"',
            ),
        ),
        (
            _item_question_missing,
            (
                "$.schema.properties.household.items.properties.date_of_birth",
                'item property "date_of_birth" has no entry in household\'s questions',
            ),
        ),
        (
            _item_question_extra,
            ("$.questions.household.questions.pets", '"pets" is not a property of the items of "household"'),
        ),
        (
            _nested_list,
            (
                "$.questions.household.questions.full_name.widget",
                "an add-another question cannot ask an add-another question of each item",
            ),
        ),
        (
            _item_free_text_unbounded,
            ("$.schema.properties.household.items.properties.full_name", 'free text "full_name" needs a "maxLength"'),
        ),
        (
            _item_radios_without_label,
            ("$.questions.household.questions.relationship.options", "no label for other"),
        ),
        (_summary_unknown, ("$.questions.household.summary", '"nickname" is not one of household\'s questions')),
        (
            _not_alone,
            (
                "$.pages[1].questions[0]",
                '"household" asks for a list (add another), so it must be the only question on its page',
            ),
        ),
        (
            _condition_unknown_item,
            (
                "$.pages[2].show_if.properties.household.contains",
                'condition uses "relation", which is not a question asked of each person',
            ),
        ),
        (
            _condition_unknown_value,
            (
                "$.pages[2].show_if.properties.household.contains",
                'condition compares "relationship" with "spouse", which is not one of its choices',
            ),
        ),
        (
            _message_of_no_item_field,
            ("$.messages.household.nickname", '"household.nickname" is not a field of the schema'),
        ),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_each_rule_gives_one_clear_problem(breaks: Any, expected: tuple[str, str]) -> None:
    d = doc()
    breaks(d)
    assert expected in problems(d)


def test_item_messages_may_word_item_fields() -> None:
    d = doc()
    assert "household.date_of_birth" in d["messages"]
    assert check(d) == []


# -- the engine ----------------------------------------------------------------------------------


def test_item_questions_are_a_definition_of_their_own() -> None:
    definition = Definition(doc())
    each = definition.item_definition("household")
    assert [p.questions for p in each.pages] == [["full_name", "relationship", "date_of_birth"]]
    assert each.messages == {"date_of_birth": {"dateBefore": "Their date of birth must be in the past"}}
    question = definition.question("household")
    assert [q.name for q in question.items] == ["full_name", "relationship", "date_of_birth"]
    assert question.items[1].options[0].label == "Partner"
    assert not question.items[0].optional and question.items[2].optional
    assert (question.singular, question.plural, question.summary) == ("person", "people", "full_name")
    assert definition.item_field("household.1.full_name") == ("household", 1, "full_name")
    assert definition.item_field("household.full_name") is None
    assert definition.item_field("address.line1") is None
    # The item's posted fields are the item's questions' own names.
    given, raw = parse_page(
        each,
        each.pages[0].questions,
        MultiDict({"full_name": "  Ann   Smith ", "relationship": "child", "date_of_birth-day": "3"}),
    )
    assert given == {"full_name": "Ann Smith", "relationship": "child", "date_of_birth": "--3"}
    assert raw["date_of_birth-day"] == "3"


def test_item_errors_keep_their_index_and_the_item_page_s_wording() -> None:
    definition = Definition(doc())
    answers = {
        "household": [JOHN, {"relationship": "cousin"}, {**AMY, "full_name": "x" * 101, "date_of_birth": "2999-01-01"}],
    }
    errors = compiled(definition).validate(answers)
    items = {path: message for path, message in errors.items() if path.startswith("household")}
    assert items == {
        "household.1.full_name": "Enter their full name",
        "household.1.relationship": "Select how they are related to you",
        "household.2.full_name": "Their full name must be 100 characters or less",
        "household.2.date_of_birth": "Their date of birth must be in the past",
    }
    assert list(errors)[:2] == ["address.line1", "address.town"]  # the order a citizen meets them
    assert rendering.anchor(definition, "household.1.full_name") == "#full-name"
    assert rendering.anchor(definition, "household.2.date_of_birth") == "#date-of-birth-day"
    assert rendering.anchor(definition, "household") == "#add-another"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "Add at least one person"),
        ([AMY] * 11, "You can add up to 10 people"),
        ("John", "Add at least one person"),
        ([1], "Add at least one person"),
    ],
)
def test_the_list_s_own_errors_are_in_its_words(value: Any, message: str) -> None:
    errors = compiled(Definition(doc())).validate({"household": value})
    assert errors["household"] == message


def test_a_tampered_item_with_an_unknown_field_is_refused() -> None:
    errors = compiled(Definition(doc())).validate({"household": [{**AMY, "is_admin": True}]})
    assert errors["household.0.is_admin"] == "Is_admin is not a question in this service"


def test_conditions_on_the_number_of_items_and_on_any_item_s_answer() -> None:
    definition = Definition(doc())
    service = compiled(definition)
    base = {"address": {"line1": "1 High St", "town": "Westbridge", "postcode": "WB1 1AA"}}

    def path(household: list[dict[str, Any]]) -> list[str]:
        return [p.id for p in Journey(service, {**base, "household": household}).path]

    assert path([AMY]) == ["your-address", "household-members", "your-details"]
    assert path([JOHN]) == ["your-address", "household-members", "partner", "your-details"]
    assert path([AMY, AMY]) == ["your-address", "household-members", "bedrooms", "your-details"]
    assert path([AMY, JOHN]) == ["your-address", "household-members", "partner", "bedrooms", "your-details"]


def test_a_condition_on_an_item_question_without_a_short_label_quotes_the_question() -> None:
    """An item question with no short label (the builder's, say) is a question: quoted, as a
    page's own question is, never "any person's how are they related to you? is Partner"."""
    d = doc()
    del d["questions"]["household"]["questions"]["relationship"]["short_label"]
    partner = d["pages"][2]["show_if"]
    assert describe_schema(d, partner) == (
        "Show this page only if any person's answer to 'How are they related to you?' is Partner"
    )


def test_conditions_in_plain_words_read_back_and_written() -> None:
    d = doc()
    partner, bedrooms = d["pages"][2]["show_if"], d["pages"][3]["show_if"]
    assert describe_schema(d, partner) == "Show this page only if any person's relationship is Partner"
    assert describe_schema(d, bedrooms) == "Show this page only if 2 or more people added"
    assert from_schema(d, bedrooms) == Condition((Clause("household", "at_least", 2),))
    written = to_schema(d, Condition((Clause("household", "any_item", Clause("relationship", "is", "partner")),)))
    assert written == partner
    one = {"properties": {"household": {"minItems": 1}}, "required": ["household"]}
    assert describe_schema(d, one) == "Show this page only if at least one person added"
    dated = {"properties": {"household": {"contains": {"required": ["date_of_birth"]}}}, "required": ["household"]}
    assert describe_schema(d, dated) == "Show this page only if any person's date of birth is answered"
    for bad, field in (
        (Clause("household", "at_least", 0), "value"),
        (Clause("household", "at_least", "two"), "value"),
        (Clause("household", "any_item", Clause("pets", "is", "cat")), "value"),
        (Clause("household", "any_item", Clause("relationship", "is", "spouse")), "value"),
        (Clause("household", "more_than", 2), "operator"),
    ):
        with pytest.raises(EditError) as refused:
            validate_clause(d, bad)
        assert refused.value.field == field


def test_check_answers_lines_the_case_table_and_the_spreadsheet_columns() -> None:
    definition = Definition(doc())
    assert display(definition, "household", [JOHN, AMY, {"relationship": "other"}]) == [
        "John Smith: Partner, 14 February 1979",
        "Amy Smith: Child",
        "Person 3: Other relative or someone else",
    ]
    assert rendering.item_table(definition, "household", [JOHN, AMY]) == {
        "caption": "People who live with you",
        "head": ["Full name", "Relationship", "Date of birth"],
        "rows": [["John Smith", "Partner", "14 February 1979"], ["Amy Smith", "Child", ""]],
    }
    assert rendering.item_table(definition, "household", None) is None
    assert rendering.item_table(definition, "bedrooms", 2) is None
    columns = rendering.answer_columns(definition)
    cells = rendering.answer_cells(definition, {"household": [JOHN, AMY], "bedrooms": 2})
    assert len(columns) == len(cells) == 1 + 30 + 5  # address, 10 people x 3, then one a question
    row = dict(zip(columns, cells, strict=True))
    assert row["People 1: Full name"] == "John Smith" and row["People 2: Relationship"] == "Child"
    assert row["People 10: Date of birth"] == "" and row["Bedrooms"] == "2"


def test_the_widget_is_registered_with_a_fresh_question_the_checker_takes() -> None:
    widget = WIDGETS["add-another"]
    d = doc()
    d["schema"]["properties"]["pets"] = widget.new_property()
    d["questions"]["pets"] = widget.new_question("Your pets")
    d["pages"].append({"id": "pets", "title": "Pets", "questions": ["pets"]})
    assert check(d) == []


def test_a_fingerprint_is_stable_and_differs_by_content_and_place() -> None:
    assert fingerprint([0, JOHN]) == fingerprint([0, json.loads(json.dumps(JOHN))])
    assert fingerprint([0, JOHN]) != fingerprint([1, JOHN])
    assert fingerprint([0, JOHN]) != fingerprint([0, {**JOHN, "full_name": "John Smyth"}])
