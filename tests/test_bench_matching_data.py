"""The matching benchmark's data (bench/matching_data.py): generated residents with known truth,
answers every shipped service accepts, pairwise scores, and Splink's fake_1000."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from bench import matching_data as md
from runtime import validation
from runtime.definition import Definition, read_file
from runtime.journey import Journey
from runtime.widgets.identifiers import is_nhs_number

TODAY = date.today()


@pytest.fixture(scope="module")
def applications() -> list[md.Application]:
    return md.residents(1000, seed=1)


@pytest.fixture(scope="module")
def definitions() -> dict[str, Definition]:
    found = {}
    for path in sorted([*md.DEFINITIONS.glob("*.json"), *md.DEFINITIONS.glob("*/*.json")]):
        definition = Definition(read_file(path))
        if definition.identity:
            found[definition.id] = definition
    return found


def test_every_shipped_service_with_an_identity_accepts_the_generated_answers(applications, definitions) -> None:
    assert set(md.service_identities()) == set(definitions)
    rng = random.Random(7)
    by_service: dict[str, list[md.Application]] = {}
    for app in applications:
        by_service.setdefault(app.service_id, []).append(app)
    assert set(by_service) == set(definitions)
    for service_id, apps in by_service.items():
        definition = definitions[service_id]
        service = validation.compiled(definition)
        for app in apps[:60]:
            answers = md.answers_for(definition.doc, app.details, rng, TODAY)
            assert service.validate(answers) == {}, (app, answers)
            assert Journey(service, answers).complete
            # The identity answers carry the details as the service stores them.
            for kind, path in definition.identity.items():
                name, _, part = path.partition(".")
                value = answers.get(name, {}).get(part) if part else answers.get(name)
                if kind in app.details:
                    assert value is not None, (kind, app)
                if kind == "date_of_birth" and kind in app.details:
                    assert value == app.details[kind]
                if kind == "email" and kind in app.details:
                    assert value == app.details[kind]


def test_the_gp_journey_asks_for_an_nhs_number_only_from_those_who_give_one(definitions) -> None:
    gp = definitions["register-with-gp"]
    details = {"full_name": "Siân ap Rhys", "date_of_birth": "1980-02-29", "phone": "+44 7700 900123"}
    details |= {"postcode": "cf10 1aa", "email": "sian@example.org"}
    without = md.answers_for(gp, details, random.Random(1), TODAY)
    assert without["knows_nhs_number"] is False and "nhs_number" not in without
    given = md.answers_for(gp, {**details, "nhs_number": "999 000 0018"}, random.Random(1), TODAY)
    assert given["knows_nhs_number"] is True and given["nhs_number"] == "9990000018"
    assert given["address"]["postcode"] == "CF10 1AA" and given["date_of_birth"] == "1980-02-29"


def test_the_form_posts_name_each_page_the_journey_asks(definitions) -> None:
    badge = definitions["blue-badge"]
    details = {"full_name": "José García", "date_of_birth": "1950-07-03", "email": "jose@example.com"}
    details |= {"phone": "07700 900001", "postcode": "LS6 2AB", "ni_number": "ab 12 34 56 c"}
    posts, answers = md.form_posts_for(badge, details, random.Random(3), TODAY)
    pages = [page for page, _ in posts]
    assert pages[0] == "where-you-live" and "cannot-apply-online" not in pages
    assert dict(posts)["your-details"]["date_of_birth-year"] == "1950"
    assert answers["lives_in_area"] is True and answers["ni_number"] == "AB123456C"


def test_the_same_seed_makes_the_same_data_and_another_seed_other_data() -> None:
    assert md.residents(200, seed=5) == md.residents(200, seed=5)
    assert md.residents(200, seed=5) != md.residents(200, seed=6)


def test_each_variation_and_hard_negative_has_a_sizeable_share(applications) -> None:
    found = md.mix(applications)
    people = found["totals"]["people"]
    assert people == 1000
    assert 1000 <= found["totals"]["applications"] <= 4000
    for variation, count in found["variations"].items():
        assert count >= 25, (variation, count)
    for role in md.NEGATIVES:
        assert 0.05 * people <= found["people_by_role"][role] <= 0.2 * people, (role, found)
    per_person: dict[int, int] = {}
    for app in applications:
        per_person[app.person_id] = per_person.get(app.person_id, 0) + 1
    assert set(per_person.values()) <= {1, 2, 3, 4} and max(per_person.values()) == 4


def test_hard_negatives_share_what_they_should_and_differ_in_person(applications) -> None:
    first: dict[int, md.Application] = {}
    for app in applications:
        first.setdefault(app.person_id, app)
    emails: dict[str, set[int]] = {}
    for app in applications:
        emails.setdefault(app.details["email"].lower(), set()).add(app.person_id)
    couples = [pids for pids in emails.values() if len(pids) > 1]
    assert len(couples) >= 50  # one email, two people
    nhs: dict[str, set[int]] = {}
    for app in applications:
        if "nhs_number" in app.details:
            nhs.setdefault(app.details["nhs_number"].replace(" ", ""), set()).add(app.person_id)
    assert sum(len(p) > 1 for p in nhs.values()) >= 50
    for pids in nhs.values():
        if len(pids) > 1:
            names = {first[p].details["full_name"] for p in pids}
            assert len(names) == len(pids)


def test_identifiers_are_made_up_and_well_formed(applications) -> None:
    for app in applications:
        d = app.details
        assert re.fullmatch(r"[^@\s]+@example\.(com|org|net)", d["email"], re.IGNORECASE)
        digits = re.sub(r"\D", "", d["phone"])
        digits = "0" + digits[2:] if digits.startswith("44") else digits
        assert re.fullmatch(r"07700900\d{3}|01632960\d{3}|02079460\d{3}", digits), d["phone"]
        assert re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", d["postcode"].upper())
        if "nhs_number" in d:
            assert md.is_nhs_number(d["nhs_number"].replace(" ", ""))
        if "ni_number" in d:
            assert re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", d["ni_number"].replace(" ", "").upper())
        if "date_of_birth" in d:
            assert date.fromisoformat(d["date_of_birth"]) < TODAY
    assert md.is_nhs_number("9434765919") and not md.is_nhs_number("9434765918")
    held = {a.details["nhs_number"].replace(" ", "") for a in applications if "nhs_number" in a.details}
    assert held and all(is_nhs_number(v) for v in held)  # the service's own check agrees


def test_truth_pairs_follow_person_ids_and_scores_count_them(applications) -> None:
    truth = md.truth_pairs(applications)
    for pair in truth:
        a, b = sorted(pair)
        assert applications[a].person_id == applications[b].person_id
    sizes: dict[int, int] = {}
    for app in applications:
        sizes[app.person_id] = sizes.get(app.person_id, 0) + 1
    assert len(truth) == sum(k * (k - 1) // 2 for k in sizes.values())
    assert md.pairwise_scores(truth, truth) == {"precision": 1.0, "recall": 1.0, "tp": len(truth), "fp": 0, "fn": 0}
    some = set(list(truth)[:10])
    wrong = {frozenset((0, 1))} if frozenset((0, 1)) not in truth else set()
    scores = md.pairwise_scores([tuple(p) for p in some | wrong], truth)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (10, len(wrong), len(truth) - 10)
    assert md.pairwise_scores([], set()) == {"precision": 1.0, "recall": 1.0, "tp": 0, "fp": 0, "fn": 0}
    assert md.pairs_from_clusters(["a", "b", "a", None, "a"]) == {frozenset(p) for p in [(0, 2), (0, 4), (2, 4)]}


def test_fake_1000_loads_a_thousand_rows_with_clusters() -> None:
    rows = md.fake_1000_profiles()
    assert len(rows) == 1000
    assert set(rows[0]) == {"unique_id", "first_name", "surname", "dob", "city", "email", "cluster"}
    assert [r["unique_id"] for r in rows] == list(range(1000))
    clusters = {r["cluster"] for r in rows}
    assert 100 < len(clusters) < 1000
    assert rows[0]["first_name"] == "Julia" and rows[0]["surname"] is None
    assert md.FAKE_1000.with_name("README.md").read_text(encoding="utf-8").count("MIT") >= 1
