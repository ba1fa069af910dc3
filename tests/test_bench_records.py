"""The citizen records benchmark (bench/records_scale.py) runs end to end on 1,000 records in PostgreSQL.

No timing is asserted (figures depend on the machine): only that it fills the records with
their details, that the submit's lookup files a known person's submission under their record
and a newcomer's under a new one, that every search finds the records it looks for, that the
record pages answered 200 to a caseworker and a records officer, that the rematch ran over every
submission, and that its database is dropped. docs/performance.md has the figures of the full run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from runtime import db as dbmod
from tests.conftest import PG_URL
from tests.test_bench import run_bench

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only; set TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _scanner(clamd_address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its template submissions go through the citizen pages (bench.casework.template_answers):
    Blue Badge's files are scanned by clamd."""
    monkeypatch.setenv("CIVICFORMS_CLAMD_ADDRESS", clamd_address)


SEARCHES = {
    'surname prefix ("smi")',
    "whole name (first and surname)",
    "date of birth",
    "postcode",
    "email",
    "phone",
    "NHS number",
    "reference",
    "surname and date of birth",
}


def test_the_records_benchmark_runs_on_postgresql_and_cleans_up(tmp_path: Path) -> None:
    server = make_url(PG_URL).set(database="")
    run, printed = run_bench(
        "records_scale.py",
        "--quick",
        "--postgres",
        server.render_as_string(hide_password=False),
        json_out=tmp_path / "records.json",
    )
    counts = run["counts"]
    assert counts["citizen"] >= 1000 and counts["submission"] >= 1250
    # Over three details a submission, one link and one audit event each.
    assert counts["citizen_identifier"] >= 3 * counts["submission"]
    assert counts["citizen_link"] == counts["record_event"] == counts["submission"]

    lookup = run["lookup"]
    assert set(lookup) == {"match_submission: known person", "match_submission: new person"}
    outcomes = run["lookup_extra"]["outcomes"]
    assert sum(n for k, n in outcomes["known person"].items() if k.startswith("exact")) > 0
    assert all(k.startswith("new") for k in outcomes["new person"])

    search = run["search"]
    assert set(search) == SEARCHES
    for name, figures in search.items():
        assert figures["found_nothing"] == 0, name
    assert search['surname prefix ("smi")']["rows_median"] > 1
    assert search["reference"]["rows_median"] == 1

    pages = run["pages"]
    assert set(pages) == {
        "record page: caseworker",
        "record page: records officer",
        "search page (smi): caseworker",
        "search page (smi): records officer",
    }
    for name, figures in {**lookup, **search, **pages}.items():
        assert figures["runs"] >= 5 and 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], name
    assert pages["record page: caseworker"]["bytes_median"] > 5000  # a whole page, not an error page

    rematch = run["rematch"]
    assert rematch["profiles"] == counts["submission"] and rematch["peak_rss_mb"] > 0
    assert rematch["joined"] + rematch["suggested"] + rematch["skipped"] <= rematch["pairs"]
    assert run["problems"] == [] and run["target_misses"] == []  # targets apply from 1,000,000 records
    assert "match_submission: known person" in printed and "peak RSS" in printed

    assert run["database"].startswith("civicforms_bench_records_") and run["kept"] is False
    admin = dbmod.make_engine(make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False))
    with admin.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM pg_database WHERE datname LIKE :d"), {"d": run["database"] + "%"}
        )
        assert left.scalar_one() == 0
    admin.dispose()
