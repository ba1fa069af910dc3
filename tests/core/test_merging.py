"""runtime.merging: the three-way merge of a draft with a newer version, and the parts an edit touched."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.merging import MISSING, merge, part_words, parts, same_content, words
from tests.core.sample import sample_doc


def edited(doc: dict[str, Any], change: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    change(out)
    return out


def page(doc: dict[str, Any], page_id: str) -> dict[str, Any]:
    return next(p for p in doc["pages"] if p["id"] == page_id)


def test_changes_to_different_parts_merge() -> None:
    base = sample_doc()
    ours = edited(base, lambda d: d["questions"]["full_name"].update(hint="As on your tenancy"))
    theirs = edited(base, lambda d: d["confirmation"].update(title="We have your application"))
    theirs["version"] = 3
    merged = merge(base, ours, theirs)
    assert merged.clean
    assert merged.doc["questions"]["full_name"]["hint"] == "As on your tenancy"
    assert merged.doc["confirmation"]["title"] == "We have your application"
    assert merged.doc["version"] == 3


def test_a_part_both_changed_is_a_conflict_in_plain_words_and_theirs_until_chosen() -> None:
    base = sample_doc()
    label = base["questions"]["full_name"]["label"]
    ours = edited(base, lambda d: d["questions"]["full_name"].update(hint="Ours"))
    theirs = edited(base, lambda d: d["questions"]["full_name"].update(hint="Theirs"))
    merged = merge(base, ours, theirs)
    [conflict] = merged.conflicts
    assert conflict.path == ("questions", "full_name", "hint")
    assert conflict.words == f"the question '{label}': its hint"
    assert (conflict.base, conflict.ours, conflict.theirs) == (
        base["questions"]["full_name"].get("hint", MISSING),
        "Ours",
        "Theirs",
    )
    assert merged.doc["questions"]["full_name"]["hint"] == "Theirs"
    assert merge(base, ours, theirs, choose={conflict.key: "ours"}).doc["questions"]["full_name"]["hint"] == "Ours"


def test_a_page_condition_conflict_names_the_page() -> None:
    base = sample_doc()
    title = page(base, "about-you")["title"]
    ours = edited(
        base, lambda d: page(d, "about-you").update(show_if={"properties": {"lives_in_area": {"const": False}}})
    )
    theirs = edited(base, lambda d: page(d, "about-you").update(show_if={"properties": {"has_pet": {"const": True}}}))
    [conflict] = merge(base, ours, theirs).conflicts
    assert conflict.words == f"the page '{title}': its condition"
    assert conflict.key == "pages/about-you/show_if"


def test_pages_merge_by_id_with_our_new_page_after_its_predecessor() -> None:
    base = sample_doc()
    ours = edited(base, lambda d: d["pages"].insert(3, {"id": "extra", "title": "Extra", "questions": []}))

    # theirs moves the last page to the front and renames another
    def theirs_change(d: dict[str, Any]) -> None:
        d["pages"].insert(0, d["pages"].pop())
        page(d, "about-you")["title"] = "About you now"

    theirs = edited(base, theirs_change)
    merged = merge(base, ours, theirs)
    assert merged.clean
    ids = [p["id"] for p in merged.doc["pages"]]
    expected = [p["id"] for p in theirs["pages"]]
    expected.insert(expected.index(base["pages"][2]["id"]) + 1, "extra")
    assert ids == expected
    assert page(merged.doc, "about-you")["title"] == "About you now"


def test_a_page_removed_on_one_side_and_changed_on_the_other_is_a_conflict() -> None:
    base = sample_doc()
    ours = edited(base, lambda d: d.update(pages=[p for p in d["pages"] if p["id"] != "numbers"]))
    theirs = edited(base, lambda d: page(d, "numbers").update(title="Phone numbers"))
    [conflict] = merge(base, ours, theirs).conflicts
    assert conflict.path == ("pages", "numbers") and conflict.ours is MISSING
    resolved = merge(base, ours, theirs, choose={conflict.key: "ours"}).doc
    assert "numbers" not in [p["id"] for p in resolved["pages"]]


def test_other_lists_are_one_value() -> None:
    base = sample_doc()
    ours = edited(base, lambda d: d["confirmation"].update(next_steps=["A"]))
    theirs = edited(base, lambda d: d["confirmation"].update(next_steps=["B"]))
    [conflict] = merge(base, ours, theirs).conflicts
    assert conflict.path == ("confirmation", "next_steps")
    assert conflict.words == "the confirmation page: its 'what happens next' text"


def test_version_is_never_a_conflict() -> None:
    base = sample_doc()
    assert merge(base, {**base, "version": 5}, {**base, "version": 4}).clean


def test_parts_name_what_an_edit_touched() -> None:
    base = sample_doc()
    new = edited(base, lambda d: d["questions"]["full_name"].update(hint="x"))
    new["schema"]["properties"]["pet_count"]["maximum"] = 9
    new["confirmation"]["title"] = "Done"
    page(new, "contact")["title"] = "How to contact you"
    new["version"] = 7
    assert parts(base, new) == ["schema", "question:full_name", "question:pet_count", "page:contact", "confirmation"][
        :0
    ] or set(parts(base, new)) == {"question:full_name", "question:pet_count", "page:contact", "confirmation"}
    assert parts(base, base) == []
    assert part_words("page:contact", new) == "the page 'How to contact you'"
    assert part_words("confirmation", new) == "the confirmation page"
    assert words(("workflow", "states"), new) == "the approval steps: its steps"


# -- properties -------------------------------------------------------------------------------------

_texts = st.text(alphabet="abcxyz", min_size=0, max_size=3)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), _texts)


def _edits(doc: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A few random changes to a copy of ``doc``: texts of questions, pages and sections, pages added or dropped."""
    question_names = list(doc["questions"])
    page_ids = [p["id"] for p in doc["pages"]]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["hint", "page", "confirm", "add", "drop", "title"]))
            if kind == "hint":
                out["questions"][draw(st.sampled_from(question_names))]["hint"] = draw(_scalars)
            elif kind == "page":
                target = draw(st.sampled_from(out["pages"]))
                target["intro"] = draw(_texts)
            elif kind == "confirm":
                out["confirmation"]["title"] = draw(_texts)
            elif kind == "title":
                out["title"] = draw(_texts)
            elif kind == "add":
                new_id = "p-" + draw(st.text(alphabet="abc", min_size=1, max_size=2))
                if new_id not in [p["id"] for p in out["pages"]]:
                    out["pages"].insert(draw(st.integers(0, len(out["pages"]))), {"id": new_id, "title": new_id})
            elif kind == "drop" and len(out["pages"]) > 1:
                dropped = draw(st.sampled_from(page_ids))
                out["pages"] = [p for p in out["pages"] if p["id"] != dropped]
        return out

    return build()


BASE = sample_doc()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits(BASE))
def test_merging_nothing_in_gives_ours(x: dict[str, Any]) -> None:
    merged = merge(BASE, x, copy.deepcopy(BASE))
    assert merged.clean and merged.doc == x


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits(BASE))
def test_merging_onto_an_untouched_draft_gives_theirs(y: dict[str, Any]) -> None:
    merged = merge(BASE, copy.deepcopy(BASE), y)
    assert merged.clean and merged.doc == y


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits(BASE))
def test_the_same_change_on_both_sides_is_no_conflict(x: dict[str, Any]) -> None:
    merged = merge(BASE, x, copy.deepcopy(x))
    assert merged.clean and same_content(merged.doc, x)
