"""The probabilistic tier of the single customer view: Splink scores pairs of citizen profiles."""

from __future__ import annotations

import importlib.util
import json

import pytest

from runtime import linkage
from runtime.linkage_demo import generate
from runtime.nicknames import canonical_first_name
from runtime.settings import MATCH_DEFAULTS

# The shipped thresholds (chosen on bench/matching_truth.py --sweep): auto-link at or above, review between.
AUTO_LINK = MATCH_DEFAULTS["link"]
REVIEW = MATCH_DEFAULTS["review"]

PERSON = {
    "unique_id": "new-1",
    "full_name": "william henry smith",
    "date_of_birth": "1980-03-07",
    "email": "will.smith@example.com",
    "phone": "+447700900123",
    "postcode": "SW1A1AA",
    "nhs_number": None,
    "ni_number": None,
}


@pytest.fixture(scope="module")
def model() -> linkage.Model:
    return linkage.load_model()


def one(new: dict, candidate: dict, model: linkage.Model) -> linkage.Scored:
    [scored] = linkage.score([new], [candidate], model)
    return scored


def test_nickname_and_typo_pair_scores_above_auto_link(model):
    scored = one(PERSON, dict(PERSON, unique_id="old-1", full_name="bill smyth", email=None, phone=None), model)
    assert scored.match_weight >= AUTO_LINK
    assert scored.evidence["name"]["level"] == "close"
    assert scored.evidence["name"]["weight"] > 5


def test_twins_sharing_everything_but_first_name_are_put_to_staff_never_linked(model):
    twin = dict(PERSON, unique_id="old-2", full_name="george smith")
    scored = one(PERSON, twin, model)
    assert REVIEW <= scored.match_weight < AUTO_LINK
    assert scored.evidence["name"]["level"] == "disagree"
    # A household's shared contact details count for less than one person's.
    household = {f: scored.evidence[f] for f in ("email", "phone", "postcode")}
    assert {item["label"] for item in household.values()} == {"shared by people with different first names"}
    alone = one(PERSON, dict(PERSON, unique_id="old-2b", date_of_birth=None), model)
    assert all(0 < household[f]["weight"] < alone.evidence[f]["weight"] - 3 for f in household)


def test_one_person_under_an_unknown_nickname_at_the_same_home_is_put_to_staff(model):
    # "Kit" for Christabel is in no list: only the household's email, phone and address are left.
    unknown = dict(PERSON, unique_id="old-2c", full_name="kit smith", date_of_birth=None)
    scored = one(PERSON, unknown, model)
    assert REVIEW <= scored.match_weight < AUTO_LINK


def test_couple_sharing_email_phone_and_address_scores_below_review(model):
    partner = dict(PERSON, unique_id="old-3", full_name="mary jones", date_of_birth="1982-11-20")
    assert one(PERSON, partner, model).match_weight < REVIEW


def test_a_different_nhs_number_pushes_the_weight_strongly_negative(model):
    same = one(dict(PERSON, nhs_number="9434765919"), dict(PERSON, unique_id="old-4", nhs_number="9434765919"), model)
    different = one(
        dict(PERSON, nhs_number="9434765919"), dict(PERSON, unique_id="old-4", nhs_number="4010232137"), model
    )
    assert different.evidence["nhs_number"] == {
        "level": "disagree",
        "label": "different",
        "weight": pytest.approx(-13.3, abs=0.2),
    }
    assert same.match_weight - different.match_weight > 25
    ni = one(dict(PERSON, ni_number="QQ123456C"), dict(PERSON, unique_id="old-5", ni_number="QQ654321C"), model)
    assert ni.evidence["ni_number"]["weight"] < -10


def test_day_and_month_swapped_still_scores_well(model):
    swapped = dict(PERSON, unique_id="old-6", date_of_birth="1980-07-03", email=None, phone=None)
    scored = one(PERSON, swapped, model)
    assert scored.evidence["date_of_birth"]["label"] == "day and month swapped"
    assert scored.evidence["date_of_birth"]["weight"] > 5
    assert scored.match_weight >= AUTO_LINK


def test_missing_fields_are_missing_with_no_weight_and_evidence_has_every_field(model):
    sparse = {"unique_id": "old-7", "full_name": "william henry smith"}
    scored = one(PERSON, sparse, model)
    assert set(scored.evidence) == set(linkage.EVIDENCE_FIELDS)
    for field in ("date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number"):
        assert scored.evidence[field]["level"] == "missing"
        assert scored.evidence[field]["weight"] == 0.0
    assert scored.evidence["name"]["level"] == "agree"


def test_new_profiles_are_scored_against_candidates_and_each_other_once(model):
    second = dict(PERSON, unique_id="new-2", full_name="billy smith")
    candidate = dict(PERSON, unique_id="old-8", full_name="mary jones")
    pairs = {(s.left_id, s.right_id) for s in linkage.score([PERSON, second], [candidate], model)}
    assert pairs == {("new-1", "old-8"), ("new-2", "old-8"), ("new-1", "new-2")}


def test_empty_inputs_return_nothing(model):
    assert linkage.score([], [PERSON], model) == []
    assert linkage.score([PERSON], [], model) == []
    assert linkage.rematch([], model, threshold_weight=0) == []


@pytest.mark.parametrize(
    "hostile",
    ["'; drop table x; --", 'o"brien', "x" * 10_000, "zoë 😀 ＡＢＣ \\ ' \" ` $1 %s {0}", "null", "  "],
)
def test_hostile_strings_do_not_break_the_sql(model, hostile):
    profile = dict.fromkeys(linkage.PROFILE_FIELDS, hostile) | {"unique_id": hostile + "-id"}
    scored = linkage.score([profile], [PERSON, dict(profile, unique_id="other")], model)
    assert len(scored) == 2
    assert all(set(s.evidence) == set(linkage.EVIDENCE_FIELDS) for s in scored)


def test_blocking_rules_are_exported_as_data_and_as_splink_sql():
    keys = linkage.blocking_keys(PERSON)
    assert keys["email"] == ("will.smith@example.com",)
    assert keys["first_name_canonical+postcode"] == ("william", "SW1A1AA")
    assert keys["date_of_birth_swapped"] == ("1980-03-07",)
    assert keys["full_name"] == ("william henry smith",)  # someone who moved and changed email and phone
    assert "nhs_number" not in keys  # missing values never block
    assert len(linkage.blocking_rules()) == len(linkage.BLOCKING_RULES)
    assert 'l."date_of_birth" = r."dob_swapped"' in linkage.blocking_rules()
    assert linkage.prepare(dict(PERSON, date_of_birth="1980-03-20"))["dob_swapped"] is None


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("jenny okafor", "jennifer okafor"),
        ("jon smith", "jonathan smith"),
        ("jonny smith", "john smith"),
        ("abi jones", "abigail jones"),
        ("seun adeyemi", "oluwaseun adeyemi"),
        ("mo khan", "mohammed khan"),
        ("mo khan", "muhammad khan"),
        ("mohammed khan", "muhammad khan"),
        ("gosia white", "małgorzata white"),
        ("gosia white", "malgorzata white"),
        ("ola sharma", "aleksandra sharma"),
        ("dami okafor", "oluwadamilare okafor"),
        ("alex gomez", "alejandro gomez"),
        ("fran rossi", "francesca rossi"),
        ("frankie rossi", "francesca rossi"),
        ("kasia nowak", "katarzyna nowak"),
        ("rhi evans", "rhiannon evans"),
        ("emeka okafor", "chukwuemeka okafor"),
        ("ayesha begum", "aisha begum"),
    ],
)
def test_nicknames_across_communities_agree_with_the_given_name(model, short, full):
    new = dict(PERSON, full_name=short, email=None, phone=None)
    scored = one(new, dict(PERSON, unique_id="old-n", full_name=full, email=None, phone=None), model)
    assert scored.evidence["name"]["label"] == "same first name or nickname, same surname"
    assert scored.match_weight >= AUTO_LINK


def test_nicknames_map_to_their_given_name():
    assert [
        canonical_first_name(n) for n in ("bill", "will", "billy", "bob", "rob", "liz", "beth", "peggy", "jim")
    ] == [
        "william",
        "william",
        "william",
        "robert",
        "robert",
        "elizabeth",
        "elizabeth",
        "margaret",
        "james",
    ]
    assert canonical_first_name("zebedee") == "zebedee"
    assert canonical_first_name(None) is None


def test_train_is_deterministic_reports_progress_and_rematch_finds_duplicates(tmp_path):
    profiles = generate(3000, seed=7)
    steps = []
    model = linkage.train(profiles, progress=lambda step, done, total: steps.append((step, done, total)))
    assert steps[0] == ("prepare", 0, 6) and steps[-1] == ("done", 6, 6)
    assert linkage.train(profiles).to_json() == model.to_json()
    model.save(tmp_path / "model.json")
    loaded = linkage.load_model(tmp_path / "model.json")
    assert json.loads(loaded.to_json()) == json.loads(model.to_json())

    truth = {p["unique_id"]: p["person_id"] for p in profiles}
    pairs = linkage.rematch(profiles, loaded, threshold_weight=AUTO_LINK)
    true_links = sum(truth[s.left_id] == truth[s.right_id] for s in pairs)
    assert len(pairs) > 500
    assert true_links / len(pairs) > 0.97
    assert all(s.match_weight >= AUTO_LINK for s in pairs)


def test_the_shipped_model_loads_and_an_unknown_format_is_refused(tmp_path):
    assert linkage.load_model().settings["comparisons"][0]["output_column_name"] == "name"
    (tmp_path / "old.json").write_text('{"format": 0}')
    with pytest.raises(ValueError, match="format"):
        linkage.load_model(tmp_path / "old.json")


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is not None, reason="pyspark is installed")
def test_spark_backend_without_pyspark_names_the_setting(model):
    with pytest.raises(RuntimeError, match="CIVICFORMS_LINKAGE_BACKEND"):
        linkage.score([PERSON], [dict(PERSON, unique_id="x")], model, backend="spark")
    with pytest.raises(ValueError, match="CIVICFORMS_LINKAGE_BACKEND"):
        linkage.score([PERSON], [dict(PERSON, unique_id="x")], model, backend="oracle")  # type: ignore[arg-type]


def test_later_calls_replaying_the_cached_sql_score_like_a_fresh_model():
    first_batch = [dict(PERSON, unique_id="a1"), dict(PERSON, unique_id="a2", full_name="bill smith")]
    second_new = [dict(PERSON, unique_id="b1", full_name="liz jones", postcode="M11AA")]
    second_candidates = [dict(PERSON, unique_id="b2", full_name="elizabeth jones", postcode="M11AB")]
    warm = linkage.load_model()
    linkage.score(first_batch, [], warm)
    replayed = linkage.score(second_new, second_candidates, warm)
    fresh = linkage.score(second_new, second_candidates, linkage.load_model())
    assert replayed == fresh
    assert replayed[0].evidence["postcode"]["label"] == "same sector"
    assert replayed[0].evidence["name"]["label"] == "same first name or nickname, same surname"


def test_a_rematch_scores_a_pair_as_the_worker_does() -> None:
    """Both use the model's term frequencies, so one threshold means the same in both."""
    model = linkage.load_model()
    jennifer = {
        "unique_id": "1",
        "full_name": "jennifer okafor",
        "date_of_birth": "1980-01-02",
        "email": "j@example.com",
        "phone": "+447700900123",
        "postcode": "L82SX",
        "nhs_number": None,
        "ni_number": None,
    }
    jenny = {**jennifer, "unique_id": "2", "full_name": "jenny okafor", "email": "jo@example.org"}
    [worker] = linkage.score([jenny], [jennifer], model)
    [batch] = linkage.rematch([jennifer, jenny], model, threshold_weight=-50)
    assert round(batch.match_weight, 6) == round(worker.match_weight, 6)
