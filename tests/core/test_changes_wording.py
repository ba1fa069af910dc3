"""`civicforms diff` and the change summary show old and new text for every changed wording (issue 17, G):
hints of choices, introductions, messages of the approval steps, review or appeal words, reasons, and
the whole-case deadline; a wording too long for its sentence is printed in full under it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from runtime.changes import Change, changes, summarise, wording
from runtime.cli import main
from runtime.definition import dumps
from tests.builder.street_party import street_party
from tests.core.sample import sample_doc

LONG_OLD = "This service is only for people who live in Westbridge. " * 3
LONG_NEW = "You can only use this service if your home is in Westbridge or Eastbridge. " * 3


def by_path(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Change]:
    return {c.path: c for c in changes(old, new)}


def test_a_choice_hint_says_old_and_new() -> None:
    old = sample_doc()
    old["questions"]["pet_kind"]["options"]["cat"]["hint"] = "Including kittens"
    new = copy.deepcopy(old)
    new["questions"]["pet_kind"]["options"]["cat"]["hint"] = "Any cat, of any age"
    found = by_path(old, new)["$.questions.pet_kind.options.cat.hint"]
    assert found.sentence == (
        "Changed the hint of choice 'Cat' in 'What kind of pet is it?' from 'Including kittens' to "
        "'Any cat, of any age'"
    )
    assert (found.old, found.new) == ("Including kittens", "Any cat, of any age")
    removed = copy.deepcopy(new)
    del removed["questions"]["pet_kind"]["options"]["cat"]["hint"]
    assert "(was 'Any cat, of any age')" in summarise(new, removed)[0]


def test_a_renamed_choice_and_short_label_carry_their_values() -> None:
    old = sample_doc()
    new = copy.deepcopy(old)
    new["questions"]["pet_kind"]["options"]["dog"]["label"] = "Puppy or dog"
    new["questions"]["has_pet"]["short_label"] = "Already has a pet"
    found = by_path(old, new)
    assert (
        found["$.questions.pet_kind.options.dog.label"].old,
        found["$.questions.pet_kind.options.dog.label"].new,
    ) == (
        "Dog",
        "Puppy or dog",
    )
    assert found["$.questions.has_pet.short_label"].new == "Already has a pet"


def test_messages_of_the_approval_steps_say_old_and_new_text() -> None:
    old = street_party()
    old["workflow"]["messages"] = {"decision": {"subject": "Your street party", "body": "We have decided."}}
    new = copy.deepcopy(old)
    new["workflow"]["messages"]["decision"]["body"] = "We have made a decision about your street party."
    sentences = summarise(old, new)
    assert sentences == [
        "Changed the body of the message telling the applicant the decision from 'We have decided.' to "
        "'We have made a decision about your street party.'"
    ]


def test_the_whole_case_deadline_reasons_and_appeal_words() -> None:
    old = street_party()
    new = copy.deepcopy(old)
    new["workflow"]["decide_within"] = "P15D"
    new["workflow"]["states"]["refused"]["appeal"] = "Write to the Highways manager within 28 days."
    new["workflow"]["transitions"][9]["reason"] = "required"  # the manager's refusal
    sentences = summarise(old, new)
    assert "Every case must now be decided within 15 working days (was 10 working days)" in sentences
    assert (
        "Changed the words on asking for a review or appeal in 'Refused' from 'Write to "
        "highways@westbridge.gov.uk within 28 days to ask for a review.' to 'Write to the Highways manager within "
        "28 days.'" in sentences
    )
    assert (
        "'Refuse the road closure' in 'Waiting for a manager to approve the road closure' now tells the applicant "
        "the reason, which staff must give" in sentences
    )
    gone = copy.deepcopy(old)
    gone["workflow"].pop("decide_within")
    assert summarise(old, gone) == ["Cases no longer have a time to be decided in (was 10 working days)"]
    assert summarise(gone, old) == ["Every case must now be decided within 10 working days of the application arriving"]
    same = copy.deepcopy(old)
    same["workflow"]["decide_within"] = "P2W"  # 14 working days: a change
    assert summarise(old, same) == ["Every case must now be decided within 14 working days (was 10 working days)"]


def test_a_long_wording_is_given_in_full_and_a_short_one_only_in_its_sentence() -> None:
    old = sample_doc()
    old["pages"][1]["intro"] = [LONG_OLD]
    new = copy.deepcopy(old)
    new["pages"][1]["intro"] = [LONG_NEW]
    change = by_path(old, new)["$.pages[1].intro"]
    assert "…" in change.sentence
    assert wording(change) == (LONG_OLD, LONG_NEW)
    short = copy.deepcopy(old)
    short["pages"][1]["title"] = "You cannot apply yet"
    assert wording(by_path(old, short)["$.pages[1].title"]) is None  # the sentence says it all
    setting = copy.deepcopy(old)
    setting["reference_prefix"] = "NEWP"
    assert all(wording(c) is None for c in changes(old, setting))


def test_civicforms_diff_prints_the_whole_old_and_new_wording(tmp_path: Path) -> None:
    old = sample_doc()
    old["pages"][1]["intro"] = [LONG_OLD]
    new = copy.deepcopy(old)
    new["version"] = 2
    new["pages"][1]["intro"] = [LONG_NEW]
    new["confirmation"]["next_steps"] = ["We will email you within 10 working days.", "Keep your reference."]
    (tmp_path / "old.json").write_text(dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(dumps(new), encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Changed the introduction of page"))
    assert lines[at + 1] == f"    was: {LONG_OLD}"
    assert lines[at + 2] == f"    now: {LONG_NEW}"
    at = next(i for i, line in enumerate(lines) if "what happens next" in line)
    assert lines[at + 1 : at + 4] == [
        "    was: We will email you within 10 working days.",
        "    now: We will email you within 10 working days.",
        "         Keep your reference.",
    ]
