"""Reference numbers: readable on the phone, hard to guess, and found again however typed."""

from __future__ import annotations

import re

import pytest

from runtime.references import ALPHABET, new_reference, normalise_reference

LOOK_ALIKES = set("0O1ILU")


def test_the_alphabet_has_no_look_alikes() -> None:
    assert not LOOK_ALIKES & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 30


def test_a_reference_has_the_prefix_and_two_groups_of_four() -> None:
    reference = new_reference("PRK")
    assert re.fullmatch(r"PRK-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", reference), reference


def test_references_use_the_whole_alphabet_and_nothing_else() -> None:
    draws = [new_reference("BIN") for _ in range(20_000)]
    chars = {ch for reference in draws for ch in reference[4:].replace("-", "")}
    assert chars == set(ALPHABET)
    assert len(set(draws)) == len(draws)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("PRK-7KD4-9XQ2", "PRK-7KD4-9XQ2"),
        ("prk 7kd4 9xq2", "PRK-7KD4-9XQ2"),
        (" prk7kd49xq2 ", "PRK-7KD4-9XQ2"),
        ("PRK – 7KD4 – 9XQ2", "PRK-7KD4-9XQ2"),
        ("BIN-7KD4-9XQ2", "BIN-7KD4-9XQ2"),  # the prefix keeps its I
        ("gp-2345-6789", "GP-2345-6789"),
        ("PRK-7KD", "PRK7KD"),  # too short to be a reference: left squashed
    ],
)
def test_normalise_reference(typed: str, stored: str) -> None:
    assert normalise_reference(typed) == stored


@pytest.mark.parametrize("prefix", ["BB", "CTD", "BIN", "GP", "PRK", "OLIVE"])
def test_a_new_reference_normalises_to_itself(prefix: str) -> None:
    for _ in range(50):
        reference = new_reference(prefix)
        assert normalise_reference(reference) == reference
        assert normalise_reference(reference.lower().replace("-", " ")) == reference
