"""Definitions that would make the runtime exponential or crash it: refused by validate, bounded at runtime."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from runtime.checker import MAX_OPTIONS, check
from runtime.cli import main
from runtime.definition import Definition, dumps
from runtime.dialect import FORMATS, MAX_EXPANDED_SIZE, UnsafeDefinition, _validator
from runtime.validation import CompiledService
from tests.core.sample import sample_doc

Doc = dict[str, Any]


def validate(tmp_path: Path, doc: Doc) -> Result:
    path = tmp_path / f"{doc['id']}.json"
    path.write_text(dumps(doc), encoding="utf-8")
    return CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)


def refused(tmp_path: Path, doc: Doc) -> list[tuple[str, str]]:
    """The CLI's problems as (JSON path, message); the exit code must say the file was refused."""
    result = validate(tmp_path, doc)
    assert result.exit_code == 1, result.stdout
    out = []
    for line in result.stdout.strip().splitlines():
        _, path, message = line.split(": ", 2)
        out.append((path, message))
    return out


def props(doc: Doc) -> dict[str, Any]:
    return doc["schema"]["properties"]  # type: ignore[no-any-return]


def fan_out(doc: Doc, width: int = 10, levels: int = 6) -> None:
    """notes -> $defs/n0, each level referring ``width`` times to the next: width**levels objects."""
    defs = doc["schema"]["$defs"]
    for i in range(levels):
        defs[f"n{i}"] = {"allOf": [{"$ref": f"#/$defs/n{i + 1}"}] * width}
    defs[f"n{levels}"] = {"type": "string", "maxLength": 500}
    props(doc)["notes"] = {"$ref": "#/$defs/n0"}


def self_reference(doc: Doc) -> None:
    doc["schema"]["$defs"]["loop"] = {"type": "string", "maxLength": 500, "allOf": [{"$ref": "#/$defs/loop"}]}
    props(doc)["notes"] = {"$ref": "#/$defs/loop"}


# -- $ref: fan-out, cycles, depth ---------------------------------------------------------------


def test_allof_fan_out_through_defs_is_refused_with_its_size(tmp_path: Path) -> None:
    doc = sample_doc()
    fan_out(doc)
    problems = refused(tmp_path, doc)
    assert len(problems) == 1, problems
    path, message = problems[0]
    assert path.startswith("$.schema.$defs.n"), path
    assert f"the limit is {MAX_EXPANDED_SIZE:,}" in message
    assert "once its references are followed" in message


def test_fan_out_is_refused_quickly_even_when_enormous(tmp_path: Path) -> None:
    doc = sample_doc()
    fan_out(doc, width=50, levels=15)  # 50**15 schema objects: evaluating it would never end
    start = time.thread_time()
    assert refused(tmp_path, doc)
    assert time.thread_time() - start < 2


def test_a_self_referencing_allof_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    doc = sample_doc()
    self_reference(doc)
    assert refused(tmp_path, doc) == [
        (
            "$.schema.$defs.loop.allOf[0].$ref",
            "circular reference (#/$defs/loop -> #/$defs/loop): a schema cannot refer to itself",
        )
    ]


def test_a_cycle_through_properties_is_refused(tmp_path: Path) -> None:
    doc = sample_doc()
    doc["schema"]["$defs"]["a"] = {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}}
    doc["schema"]["$defs"]["b"] = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}
    props(doc)["notes"] = {"allOf": [{"$ref": "#/$defs/a"}], "type": "string", "maxLength": 5}
    assert refused(tmp_path, doc) == [
        (
            "$.schema.$defs.b.anyOf[1].$ref",
            "circular reference (#/$defs/a -> #/$defs/b -> #/$defs/a): a schema cannot refer to itself",
        )
    ]


def test_references_nested_too_deep_are_refused(tmp_path: Path) -> None:
    doc = sample_doc()
    for i in range(19):
        doc["schema"]["$defs"][f"c{i}"] = {"allOf": [{"$ref": f"#/$defs/c{i + 1}"}]}
    doc["schema"]["$defs"]["c19"] = {"type": "string", "maxLength": 500}
    props(doc)["notes"] = {"$ref": "#/$defs/c0"}
    [(path, message)] = refused(tmp_path, doc)
    assert re.fullmatch(r"\$\.schema\.\$defs\.c\d+\.allOf\[0\]\.\$ref", path), path
    assert message == "references nested more than 16 deep"


@pytest.mark.parametrize("make", [fan_out, self_reference], ids=["fan-out", "self-reference"])
def test_the_runtime_refuses_to_compile_them_in_milliseconds(make: Any) -> None:
    # A definition that never passed the checker (stored before these rules): a clear error at
    # once, never a worker pinned for 30 s or a RecursionError on every start.
    doc = sample_doc()
    make(doc)
    start = time.process_time()  # this process's CPU: a busy machine (another worker) stretches the wall clock
    with pytest.raises(UnsafeDefinition, match="pet-licence version 1"):
        CompiledService(Definition(doc))
    assert time.process_time() - start < 0.5


# -- typed custom keywords -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("dateBefore", "soon"), ("dateAfter", "2024-02-30"), ("dateBefore", 20240101), ("dateAfter", "1/4/2024")],
)
def test_date_bounds_must_be_today_or_a_real_iso_date(tmp_path: Path, keyword: str, value: Any) -> None:
    doc = sample_doc()
    props(doc)["date_of_birth"][keyword] = value
    [(path, message)] = refused(tmp_path, doc)
    assert path == f"$.schema.properties.date_of_birth.{keyword}"
    assert message.startswith(f'{keyword} must be "today" or a date written YYYY-MM-DD')


def test_a_date_bound_in_a_condition_is_checked_too() -> None:
    doc = sample_doc()
    doc["pages"][4]["show_if"] = {"properties": {"date_of_birth": {"dateBefore": "soon"}}}
    assert [p.path for p in check(doc)] == ["$.pages[4].show_if.properties.date_of_birth.dateBefore"]


def test_an_unreadable_date_bound_never_breaks_the_runtime() -> None:
    for bound in ("soon", 5, None, "2024-02-30"):
        validator = _validator({"type": "string", "format": "date", "dateBefore": bound}, format_checker=FORMATS)
        assert validator.is_valid("2000-01-01")  # not applied, instead of a 500 on every valid date
    assert not _validator({"dateBefore": "2000-01-01"}).is_valid("2001-01-01")


# -- formats ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt", ["iri", "regex", "idn-email", "idn-hostname", "uri", "hostname", "date-time", "made-up"]
)
def test_only_the_formats_civic_forms_checks_are_allowed(tmp_path: Path, fmt: str) -> None:
    doc = sample_doc()
    props(doc)["notes"]["format"] = fmt
    [(path, message)] = refused(tmp_path, doc)
    assert path == "$.schema.properties.notes.format"
    assert message.startswith(f"'{fmt}' is not a format Civic Forms checks; use one of date, email,")


def test_a_format_that_slipped_through_is_never_run_on_long_input() -> None:
    validator = _validator({"type": "string", "format": "iri"}, format_checker=FORMATS)
    start = time.process_time()  # this process's CPU: a busy machine (another worker) stretches the wall clock
    assert validator.is_valid("http://" + "a" * 60_000)
    assert time.process_time() - start < 0.5
    # Only Civic Forms' own formats are checked (issue 18 added a file's details, a time of day
    # and a UK phone number), and none of them takes long on long input either.
    assert set(FORMATS.checkers) == {
        "date",
        "email",
        "ni-number",
        "nhs-number",
        "uk-postcode",
        "upload",
        "time-of-day",
        "uk-phone",
    }
    long_file = {"id": "a" * 60_000, "name": "x" * 60_000, "size": 1, "type": "image/png"}
    for name, (checker, _raises) in FORMATS.checkers.items():
        start = time.process_time()
        for value in ("1" * 60_000, "+44" + "7" * 60_000, " " * 60_000 + "x", long_file):
            try:
                checker(value)
            except Exception:  # noqa: BLE001  (a refusal is fine: only the time it takes counts)
                pass
        assert time.process_time() - start < 0.5, name


def test_pattern_properties_are_refused(tmp_path: Path) -> None:
    doc = sample_doc()
    props(doc)["address"] = {"type": "object", "patternProperties": {"^x": {"type": "string"}}}
    problems = refused(tmp_path, doc)
    assert (
        "$.schema.properties.address.patternProperties",
        '"patternProperties" is not supported: name each answer in "properties"',
    ) in problems


# -- identity fields and their database column ---------------------------------------------------


def test_an_identity_field_longer_than_its_column_is_refused(tmp_path: Path) -> None:
    doc = sample_doc()
    props(doc)["email"]["maxLength"] = 1000
    assert refused(tmp_path, doc) == [
        (
            "$.identity.email",
            '"email" may be 1000 characters long, but an identifier is stored in at most 400: '
            'give it a "maxLength" of 400 or less',
        )
    ]


def test_a_name_too_long_for_the_name_date_of_birth_and_postcode_key_is_refused(tmp_path: Path) -> None:
    doc = sample_doc()
    props(doc)["full_name"]["maxLength"] = 395
    assert refused(tmp_path, doc) == [
        (
            "$.identity.full_name",
            "the name, date of birth and postcode are stored together in at most 400 characters; "
            'give "full_name" a "maxLength" of 378 or less',
        )
    ]
    props(doc)["full_name"]["maxLength"] = 378
    assert check(doc) == []


def test_an_identity_field_without_a_bound_is_refused() -> None:
    doc = sample_doc()
    doc["identity"]["phone"] = "phone"
    del props(doc)["phone"]["maxLength"]
    problems = [(p.path, p.message) for p in check(doc)]
    assert ("$.identity.phone", '"phone" identifies the citizen, so it needs a "maxLength" of 400 or less') in problems


# -- options ---------------------------------------------------------------------------------------


def many_options(doc: Doc, count: int) -> list[str]:
    values = [f"colour_{i}" for i in range(count)]
    props(doc)["pet_colours"]["items"]["enum"] = values
    doc["questions"]["pet_colours"]["options"] = {v: {"label": f"Colour {i}"} for i, v in enumerate(values)}
    return values


def test_a_15000_option_checkbox_question_is_refused_quickly_with_a_clear_message(tmp_path: Path) -> None:
    doc = sample_doc()
    values = [str(i) for i in range(15_000)]
    props(doc)["pet_colours"]["items"]["enum"] = values
    doc["questions"]["pet_colours"]["options"] = {v: {"label": "x"} for v in values}
    path = tmp_path / "pet-licence.json"
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")  # under the 512 KB limit
    start = time.thread_time()
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    problems = [tuple(line.split(": ", 2)[1:]) for line in result.stdout.strip().splitlines()]
    took = time.thread_time() - start
    print(f"validate with 15,000 options: {took:.2f} s")  # noqa: T201
    assert problems == [
        (
            "$.questions.pet_colours.options",
            "15,000 options is too many for one question: the limit is 1,000; "
            "ask a text question instead, or split the list",
        )
    ]
    assert took < 5  # 7 s before, most of it a quadratic check; the rest is the meta-schema, linear


def test_the_options_check_is_linear() -> None:
    doc = sample_doc()
    many_options(doc, MAX_OPTIONS)
    del doc["questions"]["pet_colours"]["options"]["colour_7"]
    doc["questions"]["pet_colours"]["options"]["colour_x"] = {"label": "X"}
    start = time.thread_time()
    problems = [(p.path, p.message) for p in check(doc)]
    assert problems == [
        ("$.questions.pet_colours.options", "no label for colour_7"),
        ("$.questions.pet_colours.options", "colour_x not in the enum"),
    ]
    assert time.thread_time() - start < 2


def test_the_most_options_allowed_all_chosen_validate_in_milliseconds() -> None:
    doc = sample_doc()
    values = many_options(doc, MAX_OPTIONS)
    assert check(doc) == []
    service = CompiledService(Definition(doc))
    start = time.thread_time()
    errors = service.validate({"pet_colours": values})
    took = time.thread_time() - start
    print(f"1,000 chosen out of 1,000 options: {took * 1000:.1f} ms")  # noqa: T201
    assert "pet_colours" not in errors
    assert took < 0.5
    assert service.validate({"pet_colours": ["colour_1", "mauve"]})["pet_colours"] == "Select the colours of your cat"


def test_enum_keeps_json_equality() -> None:
    # The set lookup must not make true equal 1, as Python's == would.
    assert not _validator({"enum": [1, "a"]}).is_valid(True)
    assert _validator({"enum": [1, "a"]}).is_valid(1.0)
    assert not _validator({"enum": [True]}).is_valid(1)
    assert _validator({"enum": [{"a": 1}, [1]]}).is_valid([1])


def test_an_identifier_that_folding_makes_too_long_for_its_column_is_left_out() -> None:
    from runtime.citizens import MAX_IDENTIFIER, MAX_NAME_KEY, identifiers

    # "ß" folds to "ss": 300 typed characters become 600; a name is cut to MAX_NAME_KEY after
    # folding, so that it always fits its column (and its surname-first key too).
    found = identifiers({"full_name": "name", "email": "email"}, {"name": "ß" * 300, "email": "a@b.example"})
    assert found["full_name"] == "s" * MAX_NAME_KEY and found["email"] == "a@b.example"
    assert all(len(value) <= MAX_IDENTIFIER for value in found.values())
    # Anything else longer than the column is left out, never cut into something else.
    assert "email" not in identifiers({"email": "email"}, {"email": "a" * MAX_IDENTIFIER + "@b.example"})
