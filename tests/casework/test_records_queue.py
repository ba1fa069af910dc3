"""The review queue of possible matches and one pair side by side: who sees which pairs, the
evidence with values only where the viewer may see them, deciding, someone deciding first,
and undoing a decision (checked in the stored rows)."""

from __future__ import annotations

from itertools import count
from typing import Any

from sqlmodel import select

from runtime.data import records
from runtime.models import CitizenLink, MatchCandidate, RecordMerge
from tests.casework.conftest import OTHER_SERVICE, Office, errors_of
from tests.casework.test_records_page import statements_of
from tests.conftest import page

EVIDENCE = {
    "full_name": {"level": "agree", "weight": 8.5},
    "date_of_birth": {"level": "close", "weight": 2.0},
    "email": {"level": "disagree", "weight": -3.25},
    "ni_number": {"level": "missing", "weight": 0.0},
}


_people = count(1)


def _pair(office: Office, *, weight: float = 12.0, other_service: bool = False) -> tuple[int, int, int, str]:
    """Ada's record and a second one (Blue Badge, or Waste and Recycling) as a pending pair."""
    n = "" if other_service else "abcdefghij"[next(_people) % 10]  # another person for each pair
    ada_ref = office.new_case(name=f"Ada Lovelace{n}", email=f"ada{n}@example.com")
    if other_service:
        other_ref = office.new_case(name="Ada Lovelace", email="ada.l@example.com", service_id=OTHER_SERVICE)
    else:
        other_ref = office.new_case(name=f"Ada King{n}", email=f"ada.king{n}@example.com")
    ada, other = office.case(ada_ref).citizen_id, office.case(other_ref).citizen_id
    assert ada != other
    with office.session() as s:
        found = records.suggest_pair(
            s, citizen_id=ada, other_citizen_id=other, match_weight=weight, match_probability=0.9, evidence=EVIDENCE
        )
        s.commit()
        assert found is not None and found.id is not None
        return found.id, min(ada, other), max(ada, other), other_ref


def _candidate(office: Office, candidate_id: int) -> MatchCandidate:
    with office.session() as s:
        found = s.get(MatchCandidate, candidate_id)
        assert found is not None
        s.expunge(found)
        return found


def _token(client: Any, url: str) -> str:
    return str(page(client.get(url)).select_one("form.cf-decide input[name=csrf_token]")["value"])


def test_the_queue_lists_pairs_by_weight_for_the_departments_reviewed(office: Office) -> None:
    low, *_ = _pair(office, weight=5.0)
    high, *_ = _pair(office, weight=20.0)
    client = office.sign_in(office.staff("Rita Records", "records"))
    soup = page(client.get("/citizens/possible-matches"))
    assert [int(tr["data-candidate"]) for tr in soup.select("table.cf-pairs tbody tr")] == [high, low]
    row = soup.select_one("table.cf-pairs tbody tr").get_text(" ", strip=True)
    assert "20.0" in row and "Name" in row and "Email" in row
    # A records officer of another department sees none of them, by list or by URL.
    other = office.sign_in(office.staff("Rex Records", "records", department=office.other_department))
    assert page(other.get("/citizens/possible-matches")).select("table.cf-pairs") == []
    assert other.get(f"/citizens/possible-matches/{high}").status_code == 404
    # Caseworkers do not review.
    caseworker = office.sign_in(office.staff("Casey Worker", "caseworker"))
    assert caseworker.get("/citizens/possible-matches").status_code == 403
    assert caseworker.get(f"/citizens/possible-matches/{high}").status_code == 403


def test_the_queue_pages_and_its_queries_do_not_grow(office: Office) -> None:
    office.app.config["CASEWORK_PAGE_SIZE"] = 2
    made = [_pair(office, weight=float(w))[0] for w in (3, 9, 9, 1, 7)]
    client = office.sign_in(office.staff("Rita Records", "records"))
    seen: list[int] = []
    url: str | None = "/citizens/possible-matches"
    sizes = []
    while url:
        sizes.append(len(statements_of(office, client, url)))
        soup = page(client.get(url))
        seen += [int(tr["data-candidate"]) for tr in soup.select("table.cf-pairs tbody tr")]
        link = soup.select_one(".govuk-pagination__next a")
        url = link["href"].removeprefix("/casework") if link else None
    assert seen == [made[1], made[2], made[4], made[0], made[3]]
    assert len(set(sizes)) == 1, sizes
    assert client.get("/citizens/possible-matches?after=%00bogus").status_code == 400


def test_the_pair_page_shows_the_evidence_and_hides_another_departments_values(office: Office) -> None:
    candidate_id, left, right, _ = _pair(office, other_service=True)
    client = office.sign_in(office.staff("Rita Records", "records"))
    soup = page(client.get(f"/citizens/possible-matches/{candidate_id}"))
    rows = {tr["data-field"]: tr for tr in soup.select("table.cf-evidence tbody tr[data-field]")}
    assert {k: rows[k]["data-level"] for k in EVIDENCE} == {k: v["level"] for k, v in EVIDENCE.items()}
    assert "+8.5" in rows["full_name"].get_text() and "-3.2" in rows["email"].get_text()
    email = [td.get_text(" ", strip=True) for td in rows["email"].select("td")]
    # Blue Badge's own email shown; the one given only to Waste and Recycling is not.
    assert email[:2] == ["ada@example.com", "Given to another department"]
    assert "ada.l@example.com" not in soup.get_text()
    assert [b.get_text(strip=True) for b in soup.select("form.cf-decide button")] == ["Same person", "Different people"]


def test_same_person_joins_and_undo_splits_again(office: Office) -> None:
    candidate_id, left, right, other_ref = _pair(office)
    user = office.staff("Rita Records", "records")
    client = office.sign_in(user)
    url = f"/citizens/possible-matches/{candidate_id}"
    token = _token(client, url)
    assert client.post(url, data={"decision": "same"}).status_code == 400  # no CSRF token
    assert _candidate(office, candidate_id).status == "pending"
    assert client.post(url, data={"csrf_token": token, "decision": "maybe"}).status_code == 400
    response = client.post(url, data={"csrf_token": token, "decision": "same"})
    assert response.status_code == 303
    found = _candidate(office, candidate_id)
    assert (found.status, found.decided_by) == ("same", user.id)
    assert office.case(other_ref).citizen_id == left
    with office.session() as s:
        assert s.get(RecordMerge, right) is not None
    soup = page(client.get(url))
    [undo] = soup.select("form.cf-undo-decision")
    response = client.post(f"{url}/undo", data={"csrf_token": undo.select_one("input[name=csrf_token]")["value"]})
    assert response.status_code == 303
    assert office.case(other_ref).citizen_id == right
    with office.session() as s:
        assert s.get(RecordMerge, right) is None
        [link] = s.exec(select(CitizenLink).where(CitizenLink.merged_citizen_id == right)).all()
        assert link.undone_by == user.id


def test_different_people_then_undo_puts_the_pair_back_in_the_queue(office: Office) -> None:
    candidate_id, *_ = _pair(office)
    client = office.sign_in(office.staff("Rita Records", "records"))
    url = f"/citizens/possible-matches/{candidate_id}"
    assert client.post(url, data={"csrf_token": _token(client, url), "decision": "different"}).status_code == 303
    assert _candidate(office, candidate_id).status == "different"
    assert page(client.get("/citizens/possible-matches")).select("table.cf-pairs") == []
    token = page(client.get(url)).select_one("form.cf-undo-decision input[name=csrf_token]")["value"]
    assert client.post(f"{url}/undo", data={"csrf_token": token}).status_code == 303
    assert _candidate(office, candidate_id).status == "pending"
    rows = page(client.get("/citizens/possible-matches")).select("table.cf-pairs tbody tr")
    assert [int(tr["data-candidate"]) for tr in rows] == [candidate_id]


def test_someone_deciding_first_changes_nothing_and_says_so(office: Office) -> None:
    candidate_id, left, right, other_ref = _pair(office)
    url = f"/citizens/possible-matches/{candidate_id}"
    first = office.sign_in(office.staff("Rita Records", "records"))
    second = office.sign_in(office.staff("Rob Records", "records"))
    first_token, second_token = _token(first, url), _token(second, url)
    assert first.post(url, data={"csrf_token": first_token, "decision": "different"}).status_code == 303
    response = second.post(url, data={"csrf_token": second_token, "decision": "same"})
    assert response.status_code == 409
    assert any("Someone decided this first" in e for e in errors_of(page(response)))
    assert "Different people" in page(response).select_one(".cf-pair-status").get_text()
    assert _candidate(office, candidate_id).status == "different"
    assert office.case(other_ref).citizen_id == right  # not joined
    with office.session() as s:
        assert s.exec(select(RecordMerge)).all() == []


def test_pair_urls_refuse_hostile_ids(office: Office) -> None:
    client = office.sign_in(office.staff("Rita Records", "records"))
    assert client.get(f"/citizens/possible-matches/{2**40}").status_code == 404
    assert client.get("/citizens/possible-matches/999999").status_code == 404
    assert client.get("/citizens/possible-matches/-1").status_code == 404


def test_the_evidence_matching_writes_shows_the_name_too(office: Office) -> None:
    """The worker's evidence (runtime.linkage) calls the name "name": it is the Name row."""
    a = office.case(office.new_case(name="Ann Other", email="ann@example.com")).citizen_id
    b = office.case(office.new_case(name="Anne Other", email="ann.other@work.example")).citizen_id
    evidence = {"name": {"level": "agree", "weight": 12.99}, "email": {"level": "disagree", "weight": -3.32}}
    with office.session() as s:
        found = records.suggest_pair(
            s, citizen_id=a, other_citizen_id=b, match_weight=9.7, match_probability=0.99, evidence=evidence
        )
        s.commit()
        assert found is not None
        candidate_id = found.id
    client = office.sign_in(office.staff("Rita Records", "records"))
    [row] = page(client.get("/citizens/possible-matches")).select("table.cf-pairs tbody tr")
    cells = [td.get_text(strip=True) for td in row.select("td")]
    assert "Name" in cells and "Email" in cells
    soup = page(client.get(f"/citizens/possible-matches/{candidate_id}"))
    name = soup.select_one("table.cf-evidence tr[data-field=full_name]")
    assert name is not None and name["data-level"] == "agree" and "+13.0" in name.get_text()
