"""The access log for the data protection officer: every view of a case is there, searchable by
member of staff, record, case, action and dates, newest first a page at a time, and exported as
CSV (the export itself logged); hostile filters are answered, never a crash."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from runtime.models import AccessLog
from tests.casework.conftest import Office, case_url
from tests.conftest import page

LOG = "/data-protection/access-log"


def _rows(soup) -> list[str]:  # type: ignore[no-untyped-def]
    return [tr.get_text(" | ", strip=True) for tr in soup.select("table.cf-access-log tbody tr")]


def test_the_dpo_sees_who_viewed_which_case_and_filters_it(office: Office) -> None:
    first = office.new_case(name="Ada Lovelace")
    second = office.new_case(name="Grace Hopper", email="grace@example.com")
    casey = office.staff("Casey Worker", "caseworker")
    other = office.staff("Olive Other", "caseworker")
    casey_client, olive_client = office.sign_in(casey), office.sign_in(other)
    casey_client.get(case_url(first))
    olive_client.get(case_url(second))
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    rows = _rows(page(dpo.get(LOG)))
    assert len(rows) == 2
    assert "Olive Other" in rows[0] and second in rows[0] and "Viewed a case" in rows[0]  # newest first
    assert "Casey Worker" in rows[1] and first in rows[1]
    only_casey = _rows(page(dpo.get(LOG, query_string={"staff": str(casey.id)})))
    assert len(only_casey) == 1 and first in only_casey[0]
    by_case = _rows(page(dpo.get(LOG, query_string={"case": second.lower()})))
    assert len(by_case) == 1 and "Olive Other" in by_case[0]
    record = office.case(first).citizen_id
    assert len(_rows(page(dpo.get(LOG, query_string={"record": str(record)})))) == 1
    assert _rows(page(dpo.get(LOG, query_string={"action": "export"}))) == []
    assert _rows(page(dpo.get(LOG, query_string={"case": "BB-ZZZZ-ZZZZ"}))) == []
    dates = {"since-day": "1", "since-month": "1", "since-year": "2001", "until-day": "2", "until-month": "1"}
    assert _rows(page(dpo.get(LOG, query_string={**dates, "until-year": "2001"}))) == []
    assert len(_rows(page(dpo.get(LOG, query_string={**dates, "until-year": "2999"})))) == 2


def test_the_log_is_paginated_newest_first(office: Office) -> None:
    office.app.config["CASEWORK_PAGE_SIZE"] = 50
    reference = office.new_case()
    casey = office.sign_in(office.staff("Casey Worker", "caseworker"))
    for _ in range(53):
        casey.get(case_url(reference))
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    soup = page(dpo.get(LOG))
    ids = [int(tr["data-id"]) for tr in soup.select("table.cf-access-log tbody tr")]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = soup.select_one(".govuk-pagination__next a")["href"]
    rest = [int(tr["data-id"]) for tr in page(dpo.get(older.removeprefix("/casework"))).select("tbody tr")]
    assert len(rest) == 3 and max(rest) < min(ids)


def test_the_csv_export_has_the_same_rows_and_is_logged(office: Office) -> None:
    reference = office.new_case()
    casey = office.staff("=cmd|' /C calc'!A0", "caseworker")  # a hostile name: not a formula in a spreadsheet
    office.sign_in(casey).get(case_url(reference))
    dpo_user = office.staff("Dee Protection", "dpo")
    dpo = office.sign_in(dpo_user)
    response = dpo.get(LOG + ".csv", query_string={"action": "view-case"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:2] == ["When (UTC)", "Member of staff"]
    assert len(rows) == 2 and rows[1][1].startswith("'=") and rows[1][6] == reference
    with office.session() as s:
        exports = list(s.exec(select(AccessLog).where(AccessLog.action == "export")))
    assert [(e.staff_id, (e.detail or {}).get("export")) for e in exports] == [(dpo_user.id, "access-log")]
    assert "Exported" in _rows(page(dpo.get(LOG)))[0]


@pytest.mark.parametrize(
    "query",
    [
        {"record": "x" * 10_000},
        {"record": "99999999999999999999"},
        {"staff": "1; DROP TABLE access_log"},
        {"case": "\x00"},
        {"case": "<script>alert(1)</script>"},
        {"action": "view-case' OR '1'='1"},
        {"since-day": "31", "since-month": "2", "since-year": "2026"},
        {"since-day": "1", "since-month": "1", "since-year": "99999"},
        {"until-day": "1", "until-month": "1", "until-year": "0"},
        {"before": "-1"},
        {"before": "x" * 500},
    ],
)
def test_hostile_filters_are_answered(office: Office, query: dict[str, str]) -> None:
    office.sign_in(office.staff("Casey Worker", "caseworker")).get(case_url(office.new_case()))
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    response = dpo.get(LOG, query_string=query)
    assert response.status_code in (200, 400)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert dpo.get(LOG + ".csv", query_string=query).status_code in (200, 400)
    with office.session() as s:
        assert s.exec(select(AccessLog).where(AccessLog.action == "view-case")).first() is not None


@pytest.mark.parametrize("role", ["caseworker", "manager", "admin", "records", "designer"])
def test_only_the_dpo_may_read_or_export_the_log(office: Office, role: str) -> None:
    client = office.sign_in(office.staff("Someone", role))
    assert client.get(LOG).status_code == 403
    assert client.get(LOG + ".csv").status_code == 403
    with office.session() as s:
        assert s.exec(select(AccessLog).where(AccessLog.action == "export")).first() is None


def test_a_dpo_of_another_department_reads_the_whole_log(office: Office) -> None:
    """DATA_PROTECTION is organisation-wide."""
    reference = office.new_case()
    office.sign_in(office.staff("Casey Worker", "caseworker")).get(case_url(reference))
    dpo = office.sign_in(office.staff("Dee Protection", "dpo", department=office.other_department))
    assert len(_rows(page(dpo.get(LOG)))) == 1
