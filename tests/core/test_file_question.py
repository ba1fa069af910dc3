"""The file question (runtime/widgets/file.py): the checker's rules, its limits in plain words,
the stored shape the "upload" format checks, and that no post is ever read as its answer."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from runtime.checker import check
from runtime.definition import Definition, read_file
from runtime.settings import PROJECT_ROOT
from runtime.validation import compiled
from runtime.widgets import WIDGETS
from runtime.widgets.file import limits_in_words, size_in_words

BLUE_BADGE = read_file(PROJECT_ROOT / "form_definitions" / "blue-badge.json")
FILE = {"id": "0123456789abcdef0123456789abcdef", "name": "photo.jpg", "size": 2048, "type": "image/jpeg"}


def with_photo(**question: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BLUE_BADGE)
    doc["questions"]["photo"].update(question)
    return doc


def messages(doc: dict[str, Any]) -> list[str]:
    return [f"{p.path}: {p.message}" for p in check(doc)]


def test_blue_badge_s_file_questions_pass_the_checker() -> None:
    assert check(BLUE_BADGE) == []
    assert Definition(BLUE_BADGE).file_questions == ("photo", "proof_of_identity")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"accept": ["gif"]}, "$.questions.photo.accept: gif is not a kind of file the runtime can check"),
        ({"accept": []}, "$.questions.photo.accept"),  # the meta-schema: at least one
        ({"max_size_mb": 0}, "$.questions.photo.max_size_mb"),
        ({"max_size_mb": 51}, "$.questions.photo.max_size_mb"),
    ],
)
def test_the_question_s_kinds_and_size_are_checked(change: dict[str, Any], expected: str) -> None:
    assert any(m.startswith(expected) for m in messages(with_photo(**change))), messages(with_photo(**change))


def test_a_file_question_needs_accept_max_items_and_upload_items() -> None:
    doc = copy.deepcopy(BLUE_BADGE)
    del doc["questions"]["photo"]["accept"]
    del doc["schema"]["properties"]["photo"]["maxItems"]
    doc["schema"]["properties"]["photo"]["items"] = {"type": "string"}
    found = messages(doc)
    assert any(m.startswith('$.questions.photo: a file question needs "accept"') for m in found), found
    assert any('needs "maxItems" from 1 to 20' in m for m in found), found
    assert any(m.startswith("$.schema.properties.photo.items: a file question's items") for m in found), found
    doc["schema"]["properties"]["photo"]["maxItems"] = 21
    assert any('needs "maxItems" from 1 to 20' in m for m in messages(doc))


@pytest.mark.parametrize(
    "items",
    [
        {"type": "object", "format": "upload", "additionalProperties": False},
        {"type": "object", "format": "upload", "properties": {"size": {"maximum": 10}}},
        {"type": "object", "format": "upload", "required": ["caption"]},
    ],
)
def test_a_file_question_s_items_take_no_other_keyword(items: dict[str, Any]) -> None:
    # Any other keyword could refuse the answer the upload use case writes, after the scan: the
    # file kept and the page never passed ("Id is not a question in this service").
    doc = copy.deepcopy(BLUE_BADGE)
    doc["schema"]["properties"]["photo"]["items"] = items
    assert any(
        m.startswith("$.schema.properties.photo.items: a file question's items must be exactly") for m in messages(doc)
    )


@pytest.mark.parametrize(("least", "most"), [(3, 1), (2, 1)])  # a negative or a fraction: the meta-schema
def test_a_file_question_asks_for_no_more_files_than_it_takes(least: Any, most: int) -> None:
    doc = copy.deepcopy(BLUE_BADGE)
    doc["schema"]["properties"]["photo"].update(minItems=least, maxItems=most)
    assert any(
        m.startswith('$.schema.properties.photo.minItems: "minItems" must be a whole number from 0 to "maxItems"')
        for m in messages(doc)
    ), messages(doc)


def test_a_file_question_is_alone_on_its_page() -> None:
    doc = copy.deepcopy(BLUE_BADGE)
    photo = next(p for p in doc["pages"] if p["id"] == "photo")
    photo["questions"].append("proof_of_identity")
    doc["pages"] = [p for p in doc["pages"] if p["id"] != "proof-of-identity"]
    assert any('the file question "photo" must be the only question on its page' in m for m in messages(doc))


def test_the_limits_in_plain_words() -> None:
    assert limits_in_words(["jpeg", "png"], 10, 1) == "The file must be a JPG or PNG, smaller than 10MB."
    assert limits_in_words(["jpeg", "png", "pdf"], 5, 3) == (
        "Upload up to 3 files. Each must be a JPG, PNG or PDF, smaller than 5MB."
    )
    assert [size_in_words(n) for n in (1, 2048, 1024 * 1024, 2_600_000)] == ["1KB", "2KB", "1MB", "2.5MB"]


def test_a_post_is_never_read_as_a_file_answer() -> None:
    definition = Definition(BLUE_BADGE)
    widget = WIDGETS["file"]
    posted = MultiDict({"photo": json.dumps([FILE])})
    assert widget.parse(definition.question("photo"), posted) == (None, {})
    assert widget.display(definition.question("photo"), [FILE]) == ["photo.jpg (2KB)"]


@pytest.mark.parametrize(
    "answer",
    [
        [{**FILE, "id": "../../etc/passwd"}],
        [{**FILE, "size": 0}],
        [{**FILE, "extra": True}],
        [{k: v for k, v in FILE.items() if k != "type"}],
        ["photo.jpg"],
        [FILE, FILE],  # more than maxItems
    ],
)
def test_a_stored_answer_must_have_the_upload_shape(answer: list[Any]) -> None:
    service = compiled(Definition(BLUE_BADGE))
    errors = service.validate({"photo": answer})
    assert "photo" in {path.split(".")[0] for path in errors}, errors
    assert "photo" not in {path.split(".")[0] for path in service.validate({"photo": [FILE]})}
