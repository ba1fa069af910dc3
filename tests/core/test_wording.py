"""Error messages generated from a question's own text read as GOV.UK's (issue 17, part G).

"Select whether you have told all the neighbours", not "Select have you told all the
neighbours?"; a number's limits say whether their ends are allowed ("from 1 to 500").
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.definition import Definition
from runtime.validation import compiled
from runtime.wording import confirmation_noun, error_noun, number_range
from tests.core.sample import complete_answers, sample_doc


@pytest.mark.parametrize(
    ("label", "noun"),
    [
        ("Have you told all the neighbours?", "whether you have told all the neighbours"),
        ("Do you live in Westbridge?", "whether you live in Westbridge"),
        ("Are you a carer?", "whether you are a carer"),
        ("Is it a through road?", "whether it is a through road"),
        ("Will there be music?", "whether there will be music"),
        ("What is your full name?", "your full name"),
        ("What's the name of the street?", "the name of the street"),
        ("When will you hold the party?", "when you will hold the party"),
        ("When do you want to close the road?", "when you want to close the road"),
        ("How many people will come?", "how many people will come"),
        ("Who is organising it?", "who is organising it"),
        ("Full name", "full name"),
        ("NHS number", "NHS number"),
        ("Email address?", "email address"),
        ("  Have   you told\tthem?  ", "whether you have told them"),
        # A subject of more than one word cannot be turned round without guessing: quoted.
        ("Is the road closed?", "an answer to ‘Is the road closed?’"),
        ("Does it need a closure?", "an answer to ‘Does it need a closure?’"),
        ("?", "?"),
    ],
)
def test_a_label_becomes_the_noun_of_its_error_messages(label: str, noun: str) -> None:
    assert error_noun(label) == noun


def _street_party(question: dict[str, Any], schema: dict[str, Any]) -> Definition:
    doc = sample_doc()
    doc["questions"]["told"] = question
    doc["schema"]["properties"]["told"] = schema
    doc["schema"]["required"].append("told")
    doc["pages"][0]["questions"].append("told")
    return Definition(doc)


def test_a_yes_no_question_without_a_short_label_says_select_whether() -> None:
    definition = _street_party({"label": "Have you told all the neighbours?", "widget": "yes-no"}, {"type": "boolean"})
    assert compiled(definition).validate(complete_answers()) == {
        "told": "Select whether you have told all the neighbours"
    }


def test_the_designers_own_error_name_still_wins() -> None:
    definition = _street_party(
        {"label": "Have you told all the neighbours?", "widget": "yes-no", "error_name": "if the neighbours know"},
        {"type": "boolean"},
    )
    assert compiled(definition).validate(complete_answers()) == {"told": "Select if the neighbours know"}


def _declaration(**question: Any) -> Definition:
    return _street_party(
        {"label": "Declaration", "widget": "declaration", **question}, {"type": "boolean", "const": True}
    )


def test_a_declaration_says_what_its_box_confirms_not_its_heading() -> None:
    """Found by the street party's trial: a declaration headed "Declaration" (the builder's own example)
    said "Select the box to confirm declaration"."""
    definition = _declaration(statement="I confirm I have told all the neighbours")
    expected = {"told": "Select the box to confirm you have told all the neighbours"}
    assert compiled(definition).validate(complete_answers()) == expected
    assert compiled(definition).validate({**complete_answers(), "told": False}) == expected
    # The designer's own words still win; a statement not starting "I confirm" keeps the heading's.
    own = _declaration(statement="I confirm I have told all the neighbours", error_name="that the neighbours know")
    assert compiled(own).validate(complete_answers()) == {"told": "Select the box to confirm that the neighbours know"}
    other = _declaration(statement="The neighbours have been told")
    assert compiled(other).validate(complete_answers()) == {"told": "Select the box to confirm declaration"}


@pytest.mark.parametrize(
    ("statement", "noun"),
    [
        ("I confirm I have told all the neighbours", "you have told all the neighbours"),
        ("I confirm that the information I have given is correct.", "that the information you have given is correct"),
        (
            "i CONFIRM I am the owner of my home, and I was living there",
            "you are the owner of your home, and you were living there",
        ),
        ("I confirm I’m over 18", "you’re over 18"),
        ("I confirm the road was closed by me", "the road was closed by you"),  # "was" changes only after "I"
        ("  I   confirm\n I have read it  ", "you have read it"),
        ("I agree to the terms", None),
        ("I confirm", None),
        ("", None),
        ("<script>I confirm</script>", None),
    ],
)
def test_confirmation_noun(statement: str, noun: str | None) -> None:
    assert confirmation_noun(statement) == noun


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 500}, 0, "The number of guests must be from 1 to 500"),
        ({"type": "integer", "minimum": 1, "maximum": 500}, 501, "The number of guests must be from 1 to 500"),
        ({"type": "integer", "minimum": 1, "maximum": 20000}, 0, "The number of guests must be from 1 to 20,000"),
        ({"type": "integer", "minimum": 1}, 0, "The number of guests must be 1 or more"),
        ({"type": "integer", "maximum": 500}, 501, "The number of guests must be 500 or less"),
        ({"type": "number", "exclusiveMinimum": 0}, 0, "The number of guests must be more than 0"),
        (
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            1,
            "The number of guests must be more than 0 and less than 1",
        ),
        (
            {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
            2,
            "The number of guests must be more than 0 and 1.5 or less",
        ),
    ],
)
def test_number_limits_say_whether_their_ends_are_allowed(schema: dict[str, Any], value: Any, message: str) -> None:
    definition = _street_party(
        {"label": "How many guests will come?", "short_label": "The number of guests", "widget": "number"}, schema
    )
    assert compiled(definition).validate(complete_answers() | {"told": value}) == {"told": message}


def test_number_range_without_limits_or_with_nonsense_is_none() -> None:
    assert number_range({}) is None
    assert number_range({"minimum": True, "maximum": "500"}) is None
    assert number_range({"minimum": 2, "exclusiveMinimum": 1}) == "2 or more"  # the tighter end is the one said
