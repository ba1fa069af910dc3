"""The reports page and the audit of actions on cases (issue 17, part E): figures counted from the
cases made here, charts a screen reader can read, the same figures as tables and CSV, an empty
period as zeros, bad filters refused with a message, and nothing of another department."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select

from runtime import report_reads as reads
from runtime.models import AccessLog, CaseEvent, StaffUser
from runtime.services import casework
from tests.casework.conftest import OTHER_SERVICE, Office
from tests.conftest import page

# A fixed period: Monday 2 November 2026 to Sunday 29 November 2026 (four whole weeks).
SENT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = {
    "since-day": "2",
    "since-month": "11",
    "since-year": "2026",
    "until-day": "29",
    "until-month": "11",
    "until-year": "2026",
}


def _decide(office: Office, reference: str, who: StaffUser, action: str, at: datetime) -> None:
    case = office.case(reference)
    assert case.id is not None and who.id is not None
    with office.session() as s:
        casework.act(
            session=s,
            actor=who.id,
            case_id=case.id,
            seen_lock_version=case.lock_version,
            action=action,
            comment="Checked",
            secret_key=office.secret,
            now=at,
        )


def _team(office: Office) -> dict[str, Any]:
    """Three caseworkers' decisions on five blue badge cases sent on 2 November, and one open case
    past its deadline; a case of another department, decided, that no report here may count."""
    manager = office.staff("Mo Manager", "manager")
    casey = office.staff("Casey Worker", "caseworker")
    robin = office.staff("Robin Worker", "caseworker")
    refs = [office.new_case(name=f"Person {i}", now=SENT) for i in range(6)]
    # Decided after 1, 2, 3, 4 and 10 days: median 3 days, 90th percentile 10 days.
    _decide(office, refs[0], casey, "approve", SENT + timedelta(days=1))
    _decide(office, refs[1], casey, "approve", SENT + timedelta(days=2))
    _decide(office, refs[2], robin, "reject", SENT + timedelta(days=3))
    _decide(office, refs[3], casey, "approve", SENT + timedelta(days=4))
    _decide(office, refs[4], robin, "approve", SENT + timedelta(days=10))
    office.update_case(refs[5], deadline_at=datetime(2026, 11, 5, tzinfo=UTC))  # open and overdue
    waste = office.staff("Wes Waste", "caseworker", department=office.other_department)
    other = office.new_case(service_id=OTHER_SERVICE, now=SENT)
    other_case = office.case(other)
    with office.session() as s:
        s.add(
            CaseEvent(case_id=other_case.id, at=SENT, actor_id=waste.id, actor_kind="staff", action="x", to_state="y")
        )
        s.commit()
    return {"manager": manager, "casey": casey, "robin": robin, "refs": refs}


def _table(soup: Any, selector: str) -> list[list[str]]:
    return [[c.get_text(" ", strip=True) for c in row.select("th, td")] for row in soup.select(f"{selector} tbody tr")]


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_reports_page_counts_the_cases_made(office: Office) -> None:
    team = _team(office)
    client = office.sign_in(team["manager"])
    response = client.get("/reports", query_string=PERIOD)
    assert response.status_code == 200
    soup = page(response)
    assert "2 November 2026 to 29 November 2026" in soup.select_one(".cf-report-period").get_text()
    # Open cases by step: the one open case, overdue.
    assert soup.select_one(".cf-open-total").get_text(strip=True) == "1 open case, 1 overdue."
    assert _table(soup, "#open-cases-table") == [["Apply for a Blue Badge", "Received", "1", "1"]]
    # Time to decision: five cases, median 3 days, 90th percentile 10 days.
    rows = {
        r.select_one("dt").get_text(strip=True): r.select_one("dd").get_text(strip=True)
        for r in soup.select(".cf-time-to-decision .govuk-summary-list__row")
    }
    assert rows == {
        "Cases decided": "5",
        "Median (half took no longer)": "3.0 days",
        "90th percentile (9 in 10 took no longer)": "10.0 days",
    }
    # Decisions by person (most first) and by week (Monday to Sunday, weeks with none too).
    assert _table(soup, "#decisions-by-person-table") == [["Casey Worker", "3"], ["Robin Worker", "2"]]
    assert _table(soup, "#decisions-by-week-table") == [
        ["2 November 2026", "4"],
        ["9 November 2026", "1"],
        ["16 November 2026", "0"],
        ["23 November 2026", "0"],
    ]
    # Each chart is an image with a name and a description giving its figures, drawn on the server.
    for part in ("open-cases", "time-to-decision", "decisions-by-person", "decisions-by-week"):
        svg = soup.select_one(f"svg#{part}-chart")
        assert svg is not None and svg["role"] == "img", part
        assert svg["aria-labelledby"] == f"{part}-chart-title {part}-chart-desc"
        assert svg.select_one("title").get_text(strip=True)
    desc = soup.select_one("#decisions-by-person-chart desc").get_text()
    assert "Casey Worker: 3" in desc and "Robin Worker: 2" in desc
    bars = soup.select("#decisions-by-person-chart rect")
    assert [float(b["width"]) for b in bars][0] > [float(b["width"]) for b in bars][1]
    assert "Wes Waste" not in soup.get_text()  # another department's staff and cases are not counted
    assert not soup.select("#main-content script")  # drawn on the server: nothing for JavaScript to do


def test_each_report_downloads_as_csv(office: Office) -> None:
    team = _team(office)
    client = office.sign_in(team["manager"])
    soup = page(client.get("/reports", query_string=PERIOD))
    links = {a.get_text(strip=True): a["href"] for a in soup.select("a.cf-csv")}
    assert len(links) == 4
    by_person = _csv(client.get(links["Download decisions by member of staff (CSV)"].removeprefix("/casework")))
    assert by_person == [
        ["From", "To", "Member of staff", "Decisions"],
        ["2026-11-02", "2026-11-29", "Casey Worker", "3"],
        ["2026-11-02", "2026-11-29", "Robin Worker", "2"],
    ]
    time_ = _csv(client.get(links["Download time to decision (CSV)"].removeprefix("/casework")))
    assert time_[1] == ["2026-11-02", "2026-11-29", "5", "3.0", "10.0"]
    weeks = _csv(client.get(links["Download decisions by week (CSV)"].removeprefix("/casework")))
    assert weeks[1:] == [["2026-11-02", "4"], ["2026-11-09", "1"], ["2026-11-16", "0"], ["2026-11-23", "0"]]
    steps = _csv(client.get(links["Download open cases by step (CSV)"].removeprefix("/casework")))
    assert steps == [["Service", "Step", "Open cases", "Overdue"], ["Apply for a Blue Badge", "Received", "1", "1"]]
    assert client.get("/reports/everything.csv").status_code == 404


def test_a_name_a_spreadsheet_would_run_is_neutralised_in_the_csv(office: Office) -> None:
    manager = office.staff("Mo Manager", "manager")
    hostile = office.staff('=HYPERLINK("http://evil.example","x")', "caseworker")
    reference = office.new_case(now=SENT)
    _decide(office, reference, hostile, "approve", SENT + timedelta(days=1))
    client = office.sign_in(manager)
    rows = _csv(client.get("/reports/decisions-by-person.csv", query_string=PERIOD))
    assert rows[1][2] == '\'=HYPERLINK("http://evil.example","x")'
    audit = _csv(client.get("/audit.csv", query_string={"decisions": "yes"}))
    assert audit[1][1].startswith("'=HYPERLINK")
    page_ = page(client.get("/reports", query_string=PERIOD))
    assert page_.select_one("#decisions-by-person-table th[scope=row]").get_text() == hostile.name  # escaped text


def test_an_empty_period_shows_zeros_not_an_error(office: Office) -> None:
    manager = office.staff("Mo Manager", "manager")
    client = office.sign_in(manager)
    empty = {"since-day": "1", "since-month": "1", "since-year": "2001", "until-day": "14", "until-month": "1",
             "until-year": "2001"}  # fmt: skip
    response = client.get("/reports", query_string=empty)
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one(".cf-open-total").get_text(strip=True) == "0 open cases, 0 overdue."
    assert "No decisions in this period." in soup.get_text()
    assert "No cases decided" in soup.select_one(".cf-time-to-decision").get_text()
    assert _table(soup, "#decisions-by-week-table") == [["1 January 2001", "0"], ["8 January 2001", "0"]]
    assert _csv(client.get("/reports/time-to-decision.csv", query_string=empty))[1] == [
        "2001-01-01", "2001-01-14", "0", "", ""
    ]  # fmt: skip
    # With no period given: the last 12 weeks, to today.
    default = page(client.get("/reports"))
    assert len(_table(default, "#decisions-by-week-table")) in (12, 13)


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"since-day": "banana", "since-month": "11", "since-year": "2026"}, "since", "Enter a real date"),
        ({"since-day": "31", "since-month": "2", "since-year": "2026"}, "since", "Enter a real date"),
        ({"since-day": "1", "since-month": "1", "since-year": "99999"}, "since", "Enter a real date"),
        ({**PERIOD, "until-year": "2025"}, "until", "The end of the period must be on or after its start"),
        ({**PERIOD, "since-year": "2020"}, "until", "The period must be 2 years or shorter"),
        ({"service": "missed-bin-collection"}, "service", "Select a service from the list"),  # another department's
        ({"service": "<script>" * 50}, "service", "Select a service from the list"),
    ],
)
def test_bad_filters_are_refused_with_a_message(office: Office, args: dict[str, str], field: str, message: str) -> None:
    client = office.sign_in(office.staff("Mo Manager", "manager"))
    response = client.get("/reports", query_string=args)
    assert response.status_code == 400
    soup = page(response)
    summary = [a.get_text(strip=True) for a in soup.select(".govuk-error-summary a")]
    assert any(s.startswith(message) for s in summary), summary
    assert soup.select_one(f"#{field}-error") is not None
    assert "<script>" not in response.get_data(as_text=True).replace("&lt;script&gt;", "")
    assert client.get("/reports/open-cases.csv", query_string=args).status_code == 400


def test_the_service_filter_counts_one_service(office: Office) -> None:
    team = _team(office)
    client = office.sign_in(team["manager"])
    soup = page(client.get("/reports", query_string={**PERIOD, "service": "blue-badge"}))
    assert _table(soup, "#open-cases-table") == [["Received", "1", "1"]]  # no service column
    assert soup.select_one("#service option[selected]")["value"] == "blue-badge"


def test_a_caseworker_may_not_see_the_reports(office: Office) -> None:
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    assert client.get("/reports").status_code == 403
    assert client.get("/audit").status_code == 403
    nav = page(client.get("/")).select_one("#cf-service-navigation").get_text()
    assert "Reports" not in nav
    manager = office.sign_in(office.staff("Mo Manager", "manager"))
    assert "Reports" in page(manager.get("/")).select_one("#cf-service-navigation").get_text()


# -- the audit -------------------------------------------------------------------------------------


def test_the_audit_lists_every_decision_by_one_person_in_a_period(office: Office) -> None:
    team = _team(office)
    client = office.sign_in(team["manager"])
    robin = team["robin"]
    query = {"staff": str(robin.id), "decisions": "yes", **PERIOD}
    response = client.get("/audit", query_string=query)
    assert response.status_code == 200
    soup = page(response)
    rows = soup.select("table.cf-audit tbody tr")
    assert [r.select_one(".cf-who").get_text(strip=True) for r in rows] == ["Robin Worker", "Robin Worker"]
    assert [r.select_one(".cf-what").get_text(strip=True) for r in rows] == ["Approve", "Reject"]
    assert {r.select_one("a").get_text(strip=True) for r in rows} == {team["refs"][2], team["refs"][4]}
    # The period: only the first week.
    first_week = {**query, "until-day": "8"}
    assert len(page(client.get("/audit", query_string=first_week)).select("table.cf-audit tbody tr")) == 1
    # Everything on the department's cases, the applicants' too, and never another department's.
    everything = page(client.get("/audit")).get_text()
    assert "Sent the application" in everything and "Wes Waste" not in everything
    # The CSV: the same rows, and the export is in the access log.
    rows_csv = _csv(client.get("/audit.csv", query_string=query))
    assert rows_csv[0] == ["When (UTC)", "Member of staff", "Action", "Case", "Service", "From step", "To step"]
    assert [r[1:4] for r in rows_csv[1:]] == [["Robin Worker", "Approve", team["refs"][4]],
                                              ["Robin Worker", "Reject", team["refs"][2]]]  # fmt: skip
    with office.session() as s:
        logged = s.exec(select(AccessLog).where(AccessLog.staff_id == team["manager"].id)).all()
        assert [e.detail["export"] for e in logged if e.detail and "export" in e.detail] == ["audit"]


def test_the_audit_pages_newest_first(office: Office) -> None:
    team = _team(office)
    with office.session() as s:
        filters = reads.AuditFilters(department_ids=[office.department])
        first = reads.audit(s, filters, size=4)
        assert len(first.rows) == 4 and first.before is not None
        second = reads.audit(s, filters, before=first.before, size=4)
        ids = [r.event_id for r in first.rows + second.rows]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
        total = s.exec(select(CaseEvent).where(col(CaseEvent.actor_kind) != "")).all()
        assert len(list(reads.audit_all(s, filters, limit=1000))) == len(
            [e for e in total if e.case_id in {office.case(r).id for r in team["refs"]}]
        )
    client = office.sign_in(team["manager"])
    assert client.get("/audit", query_string={"before": "x" * 50}).status_code == 200  # a bad cursor: the first page


@pytest.mark.parametrize(
    "args",
    [
        {"staff": "nobody"},
        {"since-day": "40", "since-month": "13", "since-year": "2026"},
        {"service": "no-such-service"},
    ],
)
def test_bad_audit_filters_are_refused(office: Office, args: dict[str, str]) -> None:
    client = office.sign_in(office.staff("Mo Manager", "manager"))
    response = client.get("/audit", query_string=args)
    assert response.status_code == 400
    assert page(response).select(".govuk-error-summary a")
    assert client.get("/audit.csv", query_string=args).status_code == 400


def test_an_admin_sees_reports_too(office: Office, casework: FlaskClient) -> None:
    client = office.sign_in(office.staff("Ada Admin", "admin"))
    assert client.get("/reports").status_code == 200


def test_a_long_period_keeps_the_weeks_chart_readable() -> None:
    """A hundred weeks: some labels under the columns and no figures above them, never text over text."""
    from runtime.web.casework import charts

    rows = [(f"{i} Jan", float(i)) for i in range(100)]
    chart = charts.columns(rows)
    labelled = [b for b in chart.bars if b.label]
    assert 1 < len(labelled) <= charts.MAX_COLUMN_LABELS
    gaps = [b.label_x - a.label_x for a, b in zip(labelled, labelled[1:], strict=False)]
    assert min(gaps) >= 45  # room for "30 Nov" at 11px
    assert not [b for b in chart.bars if b.value_text]
    four = charts.columns([("2 Nov", 4.0), ("9 Nov", 1.0), ("16 Nov", 0.0), ("23 Nov", 0.0)])
    assert [b.value_text for b in four.bars] == ["4", "1", "0", "0"]
    assert [b.label for b in four.bars] == ["2 Nov", "9 Nov", "16 Nov", "23 Nov"]
    assert four.bars[0].height == charts.COLUMN_HEIGHT and four.bars[2].height == 0
