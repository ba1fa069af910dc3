"""runtime.case_search (issue 17, part B): what a case is found by, and the checker's rule on
``searchable``."""

from __future__ import annotations

import copy
from pathlib import Path

from runtime import case_search
from runtime.checker import check
from runtime.definition import Definition, read_file

COUNCIL_TAX = Path(__file__).resolve().parents[2] / "form_definitions" / "council-tax-single-person-discount.json"


def test_the_shipped_council_tax_account_number_is_searchable() -> None:
    definition = Definition(read_file(COUNCIL_TAX))
    assert case_search.searchable_questions(definition) == ["account_number"]
    answers = {"account_number": " 50012345 ", "email": "Tess@Example.com", "full_name": "Tess Tax"}
    assert case_search.terms_of(definition, answers) == [
        ("email", "email:tess@example.com"),
        ("answer:account_number", "answer:50012345"),
    ]


def test_only_one_line_text_questions_may_be_searchable() -> None:
    doc = read_file(COUNCIL_TAX)
    assert check(doc) == []
    for name, question in doc["questions"].items():
        if question["widget"] in ("radios", "date", "uk-address"):
            broken = copy.deepcopy(doc)
            broken["questions"][name]["searchable"] = True
            problems = [p for p in check(broken) if p.path == f"$.questions.{name}.searchable"]
            assert problems and "cannot be searchable" in problems[0].message, name
    broken = copy.deepcopy(doc)
    broken["questions"]["account_number"]["searchable"] = "yes"
    assert any("searchable" in p.path for p in check(broken))


def test_what_a_typed_search_could_be() -> None:
    assert ("phone", "+447700900123") in case_search.search_prefixes("07700 900123")
    assert ("phone", "+447700900") in case_search.search_prefixes("+44 7700 900")
    assert ("postcode", "SW1A1") in case_search.search_prefixes("sw1a 1")
    assert not [k for k, _ in case_search.search_prefixes("SW1A") if k == "postcode"]  # a district is too wide
    assert ("email", "jane@exa") in case_search.search_prefixes("Jane@Exa")
    assert case_search.search_prefixes("ab") == []  # too short to search the terms
    assert case_search.search_prefixes("   ") == []
    assert case_search.search_prefixes("%_'") == []
    assert case_search.answer_key("CT-1234 56") == "ct1234 56"
