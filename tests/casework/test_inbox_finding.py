"""Issue 17, part B, "Finding work": search over every case (reference, name, email, phone,
postcode, searchable answers; open or closed), received date and age, sorting, the total
count, "Needs my action", the tags and their filters, saved filters, select-all with the bulk
controls at the top, and the CSV export of the current filter."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlmodel import select

from runtime.models import AccessLog, CaseSearchTerm, SavedFilter, utcnow
from runtime.services import retention
from tests.casework.conftest import Office, banner, csrf, errors_of, inbox_references
from tests.conftest import page

COUNCIL_TAX = "council-tax-single-person-discount"


def _refs(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return inbox_references(page(response))


def test_search_finds_by_email_phone_postcode_and_closed_cases(office: Office) -> None:
    ada = office.new_case(name="Ada Lovelace", email="ada@example.com")
    bob = office.new_case(
        name="Bob Brown",
        email="bob.brown@example.org",
        answers={"phone": "07700 900123", "address": {"line1": "1 High St", "town": "X", "postcode": "SW1A 1AA"}},
    )
    office.update_case(bob, closed_at=utcnow(), state="approved", deadline_at=None)
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    assert _refs(client, "/?q=ada%40example") == [ada]
    assert _refs(client, "/?q=BOB.BROWN%40EXAMPLE.ORG") == [bob]  # closed, still found by a search
    assert _refs(client, "/?q=07700+900123") == [bob]
    assert _refs(client, "/?q=%2B447700900") == [bob]
    assert _refs(client, "/?q=sw1a1aa") == [bob]
    assert _refs(client, "/?q=SW1A+1") == [bob]
    assert _refs(client, "/?q=" + bob.lower()) == [bob]  # a closed case by its reference
    assert _refs(client, "/") == [ada]  # the default view: open cases only
    assert set(_refs(client, "/?state=any")) == {ada, bob}  # "Any step" includes closed ones
    assert _refs(client, "/?state=closed") == [bob]
    soup = page(client.get("/?q=SW1A+1AA"))
    assert "(closed)" in soup.select_one("table.cf-inbox tbody tr").get_text()
    # Hostile and odd searches find nothing and break nothing.
    for q in ("%25", "'+OR+1%3D1--", "%40", "a" * 300, "%00", "07"):
        assert client.get(f"/?q={q}").status_code == 200


def test_a_searchable_answer_finds_the_case_and_erasure_removes_the_terms(office: Office) -> None:
    tax = office.department_of(COUNCIL_TAX)
    answers = {"account_number": "50012345"}
    reference = office.new_case(name="Tess Tax", email="tess@example.com", service_id=COUNCIL_TAX, answers=answers)
    client = office.sign_in(office.staff("Tara Tax", "caseworker", department=tax))
    assert _refs(client, "/?q=50012345") == [reference]
    assert _refs(client, "/?q=500123") == [reference]  # a prefix of it
    assert _refs(client, "/?q=99912345") == []
    case_id = office.case(reference).id
    with office.session() as s:
        kinds = sorted(t.kind for t in s.exec(select(CaseSearchTerm).where(CaseSearchTerm.case_id == case_id)))
    assert kinds == ["answer:account_number", "email"]
    # Another department's caseworker finds nothing by it.
    outsider = office.sign_in(office.staff("Otto", "caseworker"))
    assert _refs(outsider, "/?q=50012345") == []
    # Erasing the person's data deletes what the case was found by.
    with office.session() as s:
        retention.erase_record(session=s, key=reference, reason="Request R-1", actor_id=None)
    with office.session() as s:
        assert not list(s.exec(select(CaseSearchTerm).where(CaseSearchTerm.case_id == case_id)))
    assert _refs(client, "/?q=50012345") == []


def test_received_age_count_sorting_and_tags(office: Office) -> None:
    now = utcnow()
    old = office.new_case(name="Olga Old", now=now - timedelta(days=12))
    new = office.new_case(name="Nell New")
    office.update_case(old, deadline_at=now + timedelta(days=3), replied_at=now)
    office.update_case(
        new, deadline_at=now + timedelta(days=8), escalated=True, decision_due_at=now - timedelta(days=1)
    )
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get("/"))
    assert soup.select_one("#inbox-count").get_text(strip=True) == "2 cases"
    headers = [th.get_text(strip=True) for th in soup.select("table.cf-inbox thead th")]
    assert "Received" in headers and "Age (days)" in headers
    rows = {tr["data-reference"]: tr for tr in soup.select("table.cf-inbox tbody tr")}
    assert rows[old].select("td")[6].get_text(strip=True) == "12"
    assert [t.get_text(strip=True) for t in rows[old].select(".cf-case-tag")] == ["Applicant replied"]
    assert [t.get_text(strip=True) for t in rows[new].select(".cf-case-tag")] == ["Escalated", "Overdue"]
    assert "govuk-tag--red" in rows[new].select(".cf-case-tag")[1]["class"]
    assert _refs(client, "/") == [old, new]
    assert _refs(client, "/?sort=-deadline") == [new, old]
    assert _refs(client, "/?sort=-received") == [new, old]
    assert _refs(client, "/?sort=received") == [old, new]
    assert _refs(client, "/?sort=reference") == sorted([old, new])
    assert _refs(client, "/?sort=-reference") == sorted([old, new], reverse=True)
    assert _refs(client, "/?sort=nonsense") == [old, new]
    assert _refs(client, "/?tag=replied") == [old]
    assert _refs(client, "/?tag=escalated") == [new]
    assert _refs(client, "/?tag=overdue") == [new]  # past its decide-by date
    assert page(client.get("/?tag=replied")).select_one("#inbox-count").get_text(strip=True) == "1 case"


def test_sorting_pages_by_keyset_and_refuses_a_cursor_of_another_sort(office: Office) -> None:
    made = [office.new_case(name=f"Person {n}") for n in range(5)]
    office.app.config["CASEWORK_PAGE_SIZE"] = 2
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    seen: list[str] = []
    url = "/?sort=-received"
    while url:
        soup = page(client.get(url))
        seen += inbox_references(soup)
        link = soup.select_one(".govuk-pagination__next a")
        url = link["href"].removeprefix("/casework") if link else ""
    assert seen == list(reversed(made))
    soup = page(client.get("/?sort=reference"))
    cursor = soup.select_one(".govuk-pagination__next a")["href"].split("after=")[1].split("&")[0]
    assert client.get(f"/?sort=deadline&after={cursor}").status_code == 400


def test_needs_my_action(office: Office) -> None:
    me = office.staff("Casey Worker", "caseworker")
    other = office.staff("Olly Other", "caseworker")
    mine = office.new_case(name="Mine Assigned")
    theirs = office.new_case(name="Theirs Assigned")
    waiting = office.new_case(name="Unassigned Waiting")  # in the initial state: a caseworker can act
    replied_theirs = office.new_case(name="Replied Theirs")
    office.update_case(mine, assigned_to=me.id)
    office.update_case(theirs, assigned_to=other.id)
    office.update_case(replied_theirs, assigned_to=other.id, replied_at=utcnow())
    client = office.sign_in(me)
    soup = page(client.get("/?needs=1"))
    assert soup.select_one("h1").get_text(strip=True) == "Needs my action"
    assert set(inbox_references(soup)) == {mine, waiting}
    # A designer-only member of staff (no role that can act) sees only what is assigned to them.
    office.update_case(waiting, state="nowhere")
    assert set(_refs(client, "/?needs=1")) == {mine}


def test_saved_filters_save_list_use_and_delete(office: Office) -> None:
    me = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(me)
    token = csrf(client, "/?tag=overdue")
    response = client.post(
        "/saved-filters", data={"csrf_token": token, "name": "  My overdue  ", "tag": "overdue", "q": "smith"}
    )
    assert response.status_code == 303
    soup = page(client.get(response.headers["Location"].removeprefix("/casework")))
    assert "Filter saved as ‘My overdue’" in banner(soup)
    link = soup.select_one(".cf-saved-filters a")
    assert link.get_text(strip=True) == "My overdue"
    assert link["href"] == "/casework/?q=smith&tag=overdue"
    # Hostile and malformed input.
    for name, problem in (("", "Enter a name"), ("x" * 101, "100 characters"), ("a\u0000b", "single line")):
        r = client.post("/saved-filters", data={"csrf_token": token, "name": name, "tag": "overdue"})
        assert r.status_code == 400 and problem in " ".join(errors_of(page(r)))
    r = client.post("/saved-filters", data={"csrf_token": token, "name": "Nothing"})
    assert r.status_code == 400 and "Choose some filters" in " ".join(errors_of(page(r)))
    assert client.post("/saved-filters", data={"name": "x", "tag": "overdue"}).status_code == 400  # no CSRF
    r = client.post("/saved-filters", data={"csrf_token": token, "name": "<script>", "q": "x", "evil": "1"})
    assert r.status_code == 303
    with office.session() as s:
        stored = {f.name: f.query for f in s.exec(select(SavedFilter).where(SavedFilter.staff_id == me.id))}
    assert stored == {"My overdue": "q=smith&tag=overdue", "<script>": "q=x"}
    assert "<script>" not in client.get("/").get_data(as_text=True).replace("&lt;script&gt;", "")
    for n in range(18):
        client.post("/saved-filters", data={"csrf_token": token, "name": f"F{n}", "q": "x"})
    r = client.post("/saved-filters", data={"csrf_token": token, "name": "One too many", "q": "x"})
    assert r.status_code == 400 and "up to 20 filters" in " ".join(errors_of(page(r)))
    # Delete: one's own only.
    with office.session() as s:
        mine = s.exec(select(SavedFilter).where(SavedFilter.name == "My overdue")).one()
    other = office.sign_in(office.staff("Olly Other", "caseworker"))
    other_token = csrf(other, "/")
    r = other.post(f"/saved-filters/{mine.id}/delete", data={"csrf_token": other_token})
    assert r.status_code == 303
    assert "does not exist" in banner(page(other.get(r.headers["Location"].removeprefix("/casework"))))
    with office.session() as s:
        assert s.get(SavedFilter, mine.id) is not None  # someone else's: untouched
    r = client.post(f"/saved-filters/{mine.id}/delete", data={"csrf_token": token})
    assert r.status_code == 303
    assert "My overdue" not in [a.get_text(strip=True) for a in page(client.get("/")).select(".cf-saved-filters a")]


def test_select_all_with_the_controls_at_the_top_works_without_javascript(office: Office) -> None:
    refs = [office.new_case(name=f"Person {n}") for n in range(3)]
    manager = office.staff("Mona Manager", "manager")
    client = office.sign_in(manager)
    soup = page(client.get("/"))
    form = soup.select_one("form.cf-bulk")
    controls = form.select_one(".cf-bulk-controls")
    table = form.select_one("table.cf-inbox")
    assert controls is not None and table is not None
    assert str(form).index("cf-bulk-controls") < str(form).index("cf-inbox")  # controls above the table
    assert "Select all cases on this page" in controls.get_text()
    data = {
        "csrf_token": csrf(client, "/"),
        "all": "page",
        "page_case": [str(office.case(r).id) for r in refs],
        "assignee": "me",
    }
    response = client.post("/assign", data=data)
    assert response.status_code == 303
    assert "3 cases assigned to you" in banner(page(client.get(response.headers["Location"].removeprefix("/casework"))))
    assert {office.case(r).assigned_to for r in refs} == {manager.id}


def test_csv_export_of_the_current_filter_is_neutralised_and_logged(office: Office) -> None:
    office.new_case(name='=HYPERLINK("http://evil")')
    plain = office.new_case(name="Plain Person")
    office.new_case(name="Bill Bins", service_id="missed-bin-collection")  # another department's
    me = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(me)
    response = client.get("/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Reference", "Applicant", "Service"]
    names = sorted(r[1] for r in rows[1:])
    assert names == ['\'=HYPERLINK("http://evil")', "Plain Person"]  # formula neutralised; no Bill Bins
    filtered = list(csv.reader(io.StringIO(client.get("/export.csv?q=plain").get_data(as_text=True))))
    assert [r[0] for r in filtered[1:]] == [plain]
    with office.session() as s:
        logged = list(s.exec(select(AccessLog).where(AccessLog.staff_id == me.id, AccessLog.action == "export")))
    assert len(logged) == 2 and logged[1].detail == {"export": "inbox", "filters": ["q"]}
    assert page(client.get("/")).select_one("a[href^='/casework/export.csv']") is not None


def test_any_step_lists_open_cases_by_deadline_then_the_rest_and_pages_through_all(office: Office) -> None:
    now = utcnow()
    made = [office.new_case(name=f"Person {n}") for n in range(6)]
    office.update_case(made[0], deadline_at=now + timedelta(days=5))
    office.update_case(made[1], deadline_at=now + timedelta(days=1))
    office.update_case(made[2], closed_at=now, state="approved", deadline_at=now - timedelta(days=3))
    office.update_case(made[3], deadline_at=None)
    office.update_case(made[4], closed_at=now, state="rejected", deadline_at=None)
    office.update_case(made[5], deadline_at=now + timedelta(days=3))
    office.app.config["CASEWORK_PAGE_SIZE"] = 2
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    for sort, expected in (
        ("", [made[1], made[5], made[0], made[2], made[3], made[4]]),  # open by deadline, then the rest by id
        ("reference", sorted(made)),
        ("-reference", sorted(made, reverse=True)),
    ):
        seen: list[str] = []
        url = f"/?state=any&sort={sort}"
        while url:
            soup = page(client.get(url))
            seen += inbox_references(soup)
            link = soup.select_one(".govuk-pagination__next a")
            url = link["href"].removeprefix("/casework") if link else ""
        assert seen == expected, sort
    assert page(client.get("/?state=any")).select_one("#inbox-count").get_text(strip=True) == "6 cases"
