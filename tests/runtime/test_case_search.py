# ruff: noqa: F811  (world and empty_database_url are fixtures imported from their test modules)
"""Searching the inbox by name or reference (migration 0004's search keys and their indexes), on
SQLite and PostgreSQL: prefixes of the name as written and surname first, of the reference, any
case and any accents; hostile input is plain text; only the caseworker's departments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from runtime import case_reads, cases, citizens
from runtime import db as dbmod
from runtime.models import Case
from tests.runtime.test_cases import NOW, World, world  # noqa: F401  (the fixture)
from tests.test_migrations import _insert_0001_data, empty_database_url  # noqa: F401  (the fixture)


def _search(world: World, search: str, staff: int | None = None, **kw: Any) -> list[int]:
    with world.session() as s:
        page = case_reads.inbox(
            s, staff_id=staff or world.caseworker, now=NOW, filters=case_reads.InboxFilters(search=search, **kw)
        )
    return [row.id for row in page.rows]


def _move(world: World, case_id: int, **values: Any) -> None:
    with world.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        for key, value in values.items():
            setattr(case, key, value)
        s.add(case)
        s.commit()


def test_search_keys() -> None:
    assert cases.search_key("  José   GARCÍA ") == "jose garcia"
    assert cases.search_key("Zoë O'Brien-Smith") == "zoe obriensmith"
    assert cases.search_key("Straße") == "strasse"
    assert cases.search_key("a\x00b%c_d\\e") == "a b c d e"
    assert cases.search_key("%_\\'\"") == ""
    assert len(cases.search_key("x" * 10_000)) == citizens.MAX_NAME_KEY
    assert cases.name_keys("Mary Ann Smith") == ("mary ann smith", "smith mary ann")
    assert cases.name_keys("Cher") == ("cher", "cher")
    assert cases.name_keys(None) == (None, None)
    assert cases.name_keys(" ,. ") == (None, None)


def test_open_case_stores_the_search_keys(world: World) -> None:
    case = world.case(world.new_case(name="José  García"))
    assert (case.citizen_name, case.search_name, case.search_surname) == ("José García", "jose garcia", "garcia jose")


def test_search_by_name_and_reference_prefix(world: World) -> None:
    jose = world.new_case(name="José García", now=NOW)
    jane = world.new_case(name="Jane Smith", now=NOW + timedelta(days=1))
    mary = world.new_case(name="Mary Ann Smith-Jones", now=NOW + timedelta(days=2))
    ada = world.new_case(name="Ada Lovelace", now=NOW + timedelta(days=3))
    nameless = world.new_case(name="", now=NOW + timedelta(days=4))
    assert _search(world, "jose") == [jose]  # accents do not matter
    assert _search(world, "JOSÉ") == [jose]
    assert _search(world, "Jo") == [jose]  # a prefix of the first name
    assert _search(world, "garc") == [jose]  # of the surname
    assert _search(world, "José García") == [jose]  # the full name
    assert _search(world, "garcia  JOSE") == [jose]  # surname first
    assert _search(world, "jose g") == [jose]
    assert _search(world, "smith") == [jane, mary]  # in deadline order
    assert _search(world, "smith j") == [jane]
    assert _search(world, "Smith-Jones") == [mary]
    assert _search(world, "mary ann") == [mary]
    assert _search(world, "jane smith") == [jane]
    assert _search(world, "lace") == []  # a prefix, not any substring
    assert _search(world, "ada lovelace x") == []
    assert _search(world, "nobody at all") == []
    for case_id in (jose, ada, nameless):
        reference = world.case(case_id).reference
        assert _search(world, reference) == [case_id]  # whole
        assert _search(world, reference.lower()) == [case_id]
        assert _search(world, reference[:-3]) == [case_id]  # a prefix
        assert _search(world, reference[:-3].lower()) == [case_id]
    prefix = world.case(jose).reference.split("-")[0]  # the service's prefix: every case
    assert _search(world, prefix + "-") == [jose, jane, mary, ada, nameless]
    _move(world, jane, closed_at=NOW, state="approved")
    assert _search(world, "smith") == [mary]  # closed cases are left out
    assert _search(world, "smith", include_closed=True) == [jane, mary]


@pytest.mark.parametrize(
    "search",
    ["%", "_", "\\", "'", '"', "%mith", "_mith", "S_ith", "_ane", "%ane", "' OR 1=1 --", "\x00", "x" * 10_000,
     "%" * 10_000, "é" * 10_000, "\U0010ffff", "\ud800", "\u0301", "-", "--", "\\%"],
)  # fmt: skip
def test_hostile_search_is_plain_text_and_never_fails(world: World, search: str) -> None:
    """Wildcards and quotes match nothing (no name or reference holds them), and never fail."""
    world.new_case(name="Jane Smith")
    world.new_case(name="Bob O'Hara")
    assert _search(world, search) == []
    assert _search(world, search, include_closed=True) == []


def test_control_characters_and_punctuation_separate_words(world: World) -> None:
    jane = world.new_case(name="Jane Smith")
    bob = world.new_case(name="Bob O'Hara")
    assert _search(world, "jane\x00smith") == [jane]
    assert _search(world, "smith" + "\U0010ffff" * 3) == [jane]
    assert _search(world, "o'hara") == _search(world, "ohara") == _search(world, "O’Hara") == [bob]


def test_other_departments_cases_are_never_found(world: World) -> None:
    ours = world.new_case(name="Jane Smith")
    theirs = world.new_case(name="Jane Smith")
    _move(world, theirs, department_id=world.other_department_id)
    reference = world.case(theirs).reference
    assert _search(world, "jane") == [ours]
    assert _search(world, "smith") == [ours]
    assert _search(world, reference) == []
    assert _search(world, reference[:-2]) == []
    assert _search(world, "jane", staff=world.outsider) == [theirs]
    assert _search(world, "jane", staff=world.designer) == []  # no case role


def test_paging_through_search_results_yields_each_once_in_order(world: World) -> None:
    wanted = []
    for i in range(23):
        case_id = world.new_case(name=f"Sam Smith{'son' if i % 2 else ''}", now=NOW + timedelta(hours=i % 5))
        wanted.append(case_id)
        if i % 7 == 0:
            _move(world, case_id, deadline_at=None)
        world.new_case(name="Sally Jones")
    with world.session() as s:
        rows = s.exec(text("SELECT id, deadline_at FROM case_record")).all()  # type: ignore[call-overload]
    deadlines = {row[0]: row[1] for row in rows}
    seen: list[int] = []
    after = None
    for _ in range(10):
        with world.session() as s:
            page = case_reads.inbox(
                s,
                staff_id=world.caseworker,
                now=NOW,
                filters=case_reads.InboxFilters(search="smi"),
                after=after,
                limit=4,
            )
        seen += [row.id for row in page.rows]
        after = page.next_cursor
        if after is None:
            break
    assert sorted(seen) == sorted(wanted) and len(seen) == len(set(seen))
    dated = [i for i in wanted if deadlines[i] is not None]
    assert seen == sorted(dated, key=lambda i: (world.case(i).deadline_at, i)) + sorted(set(wanted) - set(dated))


def test_migration_fills_the_keys_of_existing_cases(empty_database_url: str) -> None:  # noqa: F811
    url = empty_database_url
    config = dbmod.alembic_config(url)
    command.upgrade(config, "0001")
    _insert_0001_data(url)
    command.upgrade(config, "0003")
    engine = dbmod.make_engine(url)
    when = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        submissions = conn.execute(
            text("SELECT s.id, s.reference, s.service_id, s.service_version, s.citizen_id, v.department_id "
                 "FROM submission s JOIN service v ON v.id = s.service_id ORDER BY s.id LIMIT 3")
        ).all()  # fmt: skip
        for (sid, reference, service, version, citizen, department), name in zip(
            submissions, ["José García", None, "Ann Lee"], strict=True
        ):
            conn.execute(
                text(
                    "INSERT INTO case_record (submission_id, reference, service_id, service_version, department_id, "
                    "state, citizen_id, citizen_name, entered_state_at, created_at) VALUES (:sid, :reference, "
                    ":service, :version, :department, 'received', :citizen, :name, :when, :when)"
                ),
                {"sid": sid, "reference": reference, "service": service, "version": version,
                 "department": department, "citizen": citizen, "name": name, "when": when},
            )  # fmt: skip
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT citizen_name, search_name, search_surname, status_key FROM case_record ORDER BY id")
        ).all()
    assert [row[:3] for row in rows] == [
        ("José García", "jose garcia", "garcia jose"),
        (None, None, None),
        ("Ann Lee", "ann lee", "lee ann"),
    ]
    keys = [row[3] for row in rows]
    assert len(set(keys)) == 3 and all(len(key) >= 22 for key in keys)
    command.check(config)
    command.downgrade(config, "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM case_record")).scalar_one() == 3
    engine.dispose()
