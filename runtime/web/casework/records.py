"""Citizen records in the back office: search, the record page, the review queue of possible matches.

Thin views: check the permission, read the form, call a read (runtime.record_reads) or a use
case (runtime.services.records), redirect (303) or show the page again with the reason. What
a page shows is limited to what the viewer's departments may see (their own, and others'
under a sharing agreement in force: runtime.data.sharing); a record with nothing to show is a
404, and is never listed or counted. Every search and every look at a record is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from sqlmodel import select

from ... import record_reads, versions
from ...data import records as data_records
from ...data import sharing
from ...models import Department, StaffUser
from ...services import records as use_cases
from ...staff import DATA_PROTECTION, REVIEW_RECORDS, SHARING_AGREEMENTS, VIEW_RECORDS, WORK_CASES
from ..common import db, render_page
from ..staff import current_user, requires, user_department_ids

bp = Blueprint("records", __name__)

MAX_ID = 2**31
LEVEL_WORDS = {"agree": "Agree", "close": "Close", "disagree": "Disagree", "missing": "Missing"}
LEVEL_TAGS = {
    "agree": "govuk-tag--green",
    "close": "govuk-tag--yellow",
    "disagree": "govuk-tag--red",
    "missing": "govuk-tag--grey",
}
METHOD_WORDS = {
    "new": "New record",
    "exact": "Automatic: same name, date of birth and another detail",
    "probabilistic": "Automatic: matching score",
    "staff": "Decided by staff",
}
STATUS_WORDS = {"pending": "Waiting for review", "same": "Same person", "different": "Different people"}
ERASURE_ENDPOINTS = ("erasure.subject_access", "erasure.erase")


def _me() -> StaffUser:
    user = current_user()
    assert user is not None and user.id is not None  # requires(...) signed them in
    return user


def _visible() -> sharing.Visible:
    """What the signed-in member may see of other departments. The data protection officer
    answers subject access and erasure for the whole organisation, so sees every department
    (each view is in the access log, which is theirs to read)."""
    if user_department_ids(DATA_PROTECTION):
        return sharing.Visible(frozenset(db().exec(select(Department.id)).all()))  # type: ignore[arg-type]
    return sharing.visible_to(db(), user_department_ids(VIEW_RECORDS))


def _errors(errors: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        {"text": message, "href": "#date_of_birth-day" if name == "date_of_birth" else f"#{name}"}
        for name, message in errors.items()
    ]


def _page_size() -> int:
    return int(current_app.config.get("CASEWORK_PAGE_SIZE", 50))


# -- the casework home for staff without a case role ---------------------------------------------


@bp.before_app_request
def _records_home() -> Any:
    """The casework home (the inbox) for staff with no case role: a records officer's is the
    citizen search, a data protection officer's or an admin's (who records sharing agreements)
    the Data protection page, instead of a 403."""
    if request.endpoint != "cases.inbox" or current_user() is None or user_department_ids(WORK_CASES):
        return None
    privacy = "privacy.home" in current_app.view_functions
    if user_department_ids(DATA_PROTECTION) and privacy:
        return redirect(url_for("privacy.home"), 303)
    if user_department_ids(REVIEW_RECORDS) or user_department_ids(VIEW_RECORDS):
        return redirect(url_for("records.search"), 303)
    if user_department_ids(SHARING_AGREEMENTS) and privacy:
        return redirect(url_for("privacy.home"), 303)
    return None


# -- search --------------------------------------------------------------------------------------


@bp.get("/citizens")
@requires(VIEW_RECORDS)
def search() -> Any:
    """Find citizen records by name, date of birth, postcode, email, phone, NHS or NI number or reference."""
    query, errors = record_reads.read_search(request.args)
    after_text = request.args.get("after", "")[: record_reads.MAX_CURSOR + 1]
    after = record_reads.read_cursor(after_text) if after_text else None
    if after_text and after is None:
        errors = {**errors, "search": "That page of results no longer exists: search again"}
    searched = bool(query.given) and not errors
    if bool(query.given) and not query.values and not errors:
        errors = {"name": "Enter at least one thing to search by"}
    result = record_reads.SearchPage([], None)
    if searched and query.values:
        departments = user_department_ids(VIEW_RECORDS)
        result = record_reads.search(db(), query=query, visible=_visible(), after=after, limit=_page_size())
        use_cases.log_search(
            session=db(), staff_id=cast(int, _me().id), fields=query.fields, department_ids=departments
        )
    args = {k: v for k, v in query.given.items() if v}
    return render_page(
        "casework/records/search.html",
        400 if errors else 200,
        title="Search citizen records",
        query=query,
        given=query.given,
        rows=result.rows,
        searched=searched,
        next_url=url_for("records.search", **cast(dict[str, Any], args), after=result.next_cursor)
        if result.next_cursor
        else None,
        first_url=url_for("records.search", **cast(dict[str, Any], args)) if after is not None else None,
        errors=_errors(errors),
        field_errors=errors,
    )


# -- the record page -----------------------------------------------------------------------------


def _state_label(service_id: str, version: int | None, state: str | None) -> str:
    if state is None:
        return "No case"
    definition = versions.definition(session=db(), service_id=service_id, version=version)
    found = definition.workflow.states.get(state) if definition is not None else None
    return found.label if found is not None else state


def _record_page(citizen_id: int, status: int = 200, errors: Mapping[str, str] | None = None) -> Any:
    user = _me()
    reviewer = bool(user_department_ids(REVIEW_RECORDS))
    dpo = bool(user_department_ids(DATA_PROTECTION))
    try:
        view = record_reads.record(db(), citizen_id=citizen_id, visible=_visible(), with_access_log=reviewer or dpo)
    except record_reads.NotVisible:
        abort(404)
    use_cases.log_view(
        session=db(),
        staff_id=cast(int, user.id),
        citizen_id=citizen_id,
        department_ids=user_department_ids(VIEW_RECORDS),
    )
    own = set(user_department_ids(WORK_CASES))
    submissions = [
        {
            "row": s,
            "state": _state_label(s.service_id, s.case_version, s.case_state),
            "closed": s.case_closed_at is not None,
            "link": s.case_reference is not None and s.department_id in own,
        }
        for s in view.submissions
    ]
    reviews = set(user_department_ids(REVIEW_RECORDS))
    undoable = {
        cast(int, item.link.id)
        for item in view.links
        if reviewer and (item.link.merged_citizen_id is not None or item.department_id in reviews)
    }
    erasure = dpo and all(e in current_app.view_functions for e in ERASURE_ENDPOINTS)
    return render_page(
        "casework/records/record.html",
        status,
        title=f"Citizen record {citizen_id}",
        view=view,
        citizen_id=citizen_id,
        details=[
            {
                "detail": d,
                "label": record_reads.FIELD_LABELS.get(d.kind, d.kind),
                "value": record_reads.shown_value(d.kind, d.value),
            }
            for d in view.details
        ],
        submissions=submissions,
        reviewer=reviewer,
        undoable=undoable,
        erasure=erasure,
        method_words=METHOD_WORDS,
        status_words=STATUS_WORDS,
        errors=_errors(errors or {}),
    )


@bp.get("/citizens/<int:citizen_id>")
@requires(VIEW_RECORDS)
def show(citizen_id: int) -> Any:
    """A citizen record: details and where they came from, submissions and cases, links,
    history, and who looked at it."""
    if citizen_id >= MAX_ID:
        abort(404)
    now = data_records.current_record(db(), citizen_id)
    if now != citizen_id:
        # Only to a record the viewer may see: otherwise the redirect would tell an outsider
        # which records were joined (the same 404 as a number that never existed).
        if not record_reads.may_see(db(), citizen_id=now, visible=_visible()):
            abort(404)
        return redirect(url_for("records.show", citizen_id=now), 302)
    return _record_page(citizen_id)


@bp.post("/citizens/<int:citizen_id>/links/<int:link_id>/undo")
@requires(REVIEW_RECORDS)
def undo(citizen_id: int, link_id: int) -> Any:
    """Undo a link of this record: split a join, or move a submission to a record of its own."""
    if citizen_id >= MAX_ID or link_id >= MAX_ID:
        abort(404)
    try:
        moved = use_cases.undo_link(
            session=db(),
            staff_id=cast(int, _me().id),
            link_id=link_id,
            citizen_id=citizen_id,
            department_ids=user_department_ids(REVIEW_RECORDS),
        )
    except use_cases.NotFound:
        abort(404)
    except use_cases.RecordError as exc:
        return _record_page(citizen_id, 409, {"links": exc.message})
    flash(f"The link is undone: what it filed is on record {moved} now")
    return redirect(url_for("records.show", citizen_id=citizen_id), 303)


# -- the review queue ----------------------------------------------------------------------------


@bp.get("/citizens/possible-matches")
@requires(REVIEW_RECORDS)
def queue() -> Any:
    """Pairs of records that may be one person, waiting for staff, highest match weight first."""
    after_text = request.args.get("after", "")[: record_reads.MAX_CURSOR + 1]
    after = record_reads.read_queue_cursor(after_text) if after_text else None
    if after_text and after is None:
        return render_page(
            "casework/records/queue.html",
            400,
            title="Possible matches",
            rows=[],
            next_url=None,
            first_url=None,
            errors=[
                {"text": "That page of possible matches no longer exists: start from the first page", "href": "#pairs"}
            ],
        )
    page = record_reads.queue(db(), department_ids=user_department_ids(REVIEW_RECORDS), after=after, limit=_page_size())
    rows = [
        {
            "candidate": c,
            "agree": [
                record_reads.FIELD_LABELS[k]
                for k in record_reads.PAIR_FIELDS
                if record_reads.evidence_for(c.evidence, k)[0] == "agree"
            ],
            "disagree": [
                record_reads.FIELD_LABELS[k]
                for k in record_reads.PAIR_FIELDS
                if record_reads.evidence_for(c.evidence, k)[0] == "disagree"
            ],
        }
        for c in page.rows
    ]
    return render_page(
        "casework/records/queue.html",
        title="Possible matches",
        rows=rows,
        next_url=url_for("records.queue", after=page.next_cursor) if page.next_cursor else None,
        first_url=url_for("records.queue") if after is not None else None,
        errors=[],
    )


def _candidate(candidate_id: int) -> Any:
    if candidate_id >= MAX_ID:
        abort(404)
    found = record_reads.reviewable(db(), candidate_id=candidate_id, department_ids=user_department_ids(REVIEW_RECORDS))
    if found is None:
        abort(404)
    return found


def _pair_page(candidate_id: int, status: int = 200, errors: Mapping[str, str] | None = None) -> Any:
    db().expire_all()  # after a refused decision: show the pair as it is now
    candidate = _candidate(candidate_id)
    view = record_reads.pair(db(), candidate=candidate, visible=_visible())
    use_cases.log_pair_view(
        session=db(),
        staff_id=cast(int, _me().id),
        candidate_id=candidate_id,
        citizen_ids=[candidate.citizen_id, candidate.other_citizen_id],
        department_ids=user_department_ids(REVIEW_RECORDS),
    )
    return render_page(
        "casework/records/pair.html",
        status,
        title=f"Are records {candidate.citizen_id} and {candidate.other_citizen_id} the same person?",
        view=view,
        candidate=candidate,
        level_words=LEVEL_WORDS,
        level_tags=LEVEL_TAGS,
        status_words=STATUS_WORDS,
        errors=_errors(errors or {}),
    )


@bp.get("/citizens/possible-matches/<int:candidate_id>")
@requires(REVIEW_RECORDS)
def pair(candidate_id: int) -> Any:
    """Two records side by side with the evidence, and the decision."""
    return _pair_page(candidate_id)


@bp.post("/citizens/possible-matches/<int:candidate_id>")
@requires(REVIEW_RECORDS)
def decide(candidate_id: int) -> Any:
    """Same person (join the records) or different people (never suggested again)."""
    candidate = _candidate(candidate_id)
    choice = request.form.get("decision", "")[:20]
    if choice not in ("same", "different"):
        return _pair_page(candidate_id, 400, {"decision": "Choose whether these records are the same person"})
    try:
        kept = use_cases.decide(
            session=db(),
            staff_id=cast(int, _me().id),
            candidate_id=candidate_id,
            same=choice == "same",
            department_ids=user_department_ids(REVIEW_RECORDS),
        )
    except use_cases.NotFound:
        abort(404)
    except use_cases.RecordError as exc:
        return _pair_page(candidate_id, 409, {"decision": exc.message})
    if choice == "same":
        flash(
            f"Record {candidate.other_citizen_id} is joined into record {kept}. "
            "You can split them again from this page."
        )
    else:
        flash(f"Records {candidate.citizen_id} and {candidate.other_citizen_id} are marked as different people")
    return redirect(url_for("records.pair", candidate_id=candidate_id), 303)


@bp.post("/citizens/possible-matches/<int:candidate_id>/undo")
@requires(REVIEW_RECORDS)
def undo_decision(candidate_id: int) -> Any:
    """Undo a decision: "different people" waits for staff again; "same person" is split."""
    candidate = _candidate(candidate_id)
    me = cast(int, _me().id)
    departments = user_department_ids(REVIEW_RECORDS)
    try:
        if candidate.status == "different":
            use_cases.reopen(session=db(), staff_id=me, candidate_id=candidate_id, department_ids=departments)
            flash("The decision is undone: the pair waits for review again")
        elif candidate.status == "same":
            join = record_reads.pair(db(), candidate=candidate, visible=_visible()).join
            if join is None or join.id is None:
                return _pair_page(candidate_id, 409, {"decision": "This join was undone already"})
            use_cases.undo_link(
                session=db(), staff_id=me, link_id=join.id, citizen_id=join.citizen_id, department_ids=departments
            )
            flash(f"The records are split again: record {candidate.other_citizen_id} is on its own")
        else:
            return _pair_page(candidate_id, 409, {"decision": "This pair has no decision to undo"})
    except use_cases.NotFound:
        abort(404)
    except use_cases.RecordError as exc:
        return _pair_page(candidate_id, 409, {"decision": exc.message})
    return redirect(url_for("records.pair", candidate_id=candidate_id), 303)
