"""Citizen pages after sending: the status of their case, and answering a request for more information.

Both are reached by unguessable links (a signed status token; a random information token whose
hash alone is stored), from the confirmation page and from the citizen's emails. The links carry
no personal data, and the pages show no staff names or comments: only the service's own words, the
caseworker's message of a request, and a decision's reason where the step asks for one (typed in a
box that says the applicant will see it). The answer page always offers a written reply beside
the questions asked (runtime.cases.offers_free_text).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, request, url_for

from .. import answers as answer_forms
from .. import case_reads, cases, rendering
from ..models import Case
from ..services import case_files, casework
from .common import db, render_page, settings
from .journey_pages import CappedForm

bp = Blueprint("case_status", __name__)


def status_url(case: Case) -> str:
    """The citizen's link to their case's status page."""
    return url_for("case_status.status", token=cases.status_token(case, settings().secret_key))


def _urls() -> cases.CaseUrls:
    return cases.CaseUrls(settings().base_url or request.host_url.rstrip("/"))


@bp.get("/status/<token>")
def status(token: str) -> Any:
    case = cases.case_for_status_token(db(), token, settings().secret_key)
    if case is None:
        abort(404)
    view = case_reads.citizen_status(db(), case)
    answer_url = None
    if view.waiting_on is not None:
        # The information token is only in the citizen's email: the status page links to a
        # page that takes the status token instead.
        answer_url = url_for("case_status.information_from_status", token=token)
    return render_page("citizen/status.html", service=view.definition, view=view, answer_url=answer_url)


def _information_page(request_row: Any, case: Case, raw: dict[str, Any], errors: dict[str, str], status: int) -> Any:
    definition = cases.definition_of(db(), case)
    views = [rendering.question_view(definition, name, raw, errors, False) for name in request_row.questions]
    free_text = cases.offers_free_text(request_row)
    asked = {k: v for k, v in errors.items() if not (free_text and k == cases.FREE_TEXT)}
    summary = rendering.error_summary(definition, asked) if asked else []
    if free_text and cases.FREE_TEXT in errors:
        summary.append({"text": errors[cases.FREE_TEXT], "href": "#reply"})
    return render_page(
        "citizen/information.html",
        status,
        service=definition,
        request_row=request_row,
        questions=views,
        free_text=free_text,
        max_reply=cases.MAX_MESSAGE,
        reply=raw.get(cases.FREE_TEXT, "") if free_text else "",
        reply_error=errors.get(cases.FREE_TEXT) if free_text else None,
        errors=summary,
        # Issue 18: a file for each document asked for (runtime/web/information_files.py).
        document_errors={k: v for k, v in errors.items() if k.startswith(cases.DOCUMENT_PREFIX)},
    )


def _answer(request_row: Any, case: Case) -> Any:
    # A request that lapsed (its reply-by date passed) still takes a late answer while the case
    # is open; one answered, or whose case was erased (which closed it), takes nothing more.
    if not cases.request_open(request_row, case):
        return render_page(
            "citizen/information_sent.html",
            service=cases.definition_of(db(), case),
            status_url=status_url(case),
            already=True,
            answered=request_row.answered_at is not None,
        )
    if request_row.documents and request_row.id is not None:
        # A document's file that waited for its virus scan (the scanner was down): try it again.
        files = current_app.extensions["civicforms.uploads"]  # runtime.web.uploads.init_app
        case_files.rescan_documents(session=db(), files=files, request_id=request_row.id)
    if request.method == "GET":
        return _information_page(request_row, case, {}, {}, 200)
    definition = cases.definition_of(db(), case)
    given: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    if request_row.questions:
        given, raw = answer_forms.parse_page(definition, request_row.questions, CappedForm(request.form))
    if cases.offers_free_text(request_row):
        # Always offered: required when no questions were chosen, optional beside them.
        reply = CappedForm(request.form).getlist(cases.FREE_TEXT)
        given[cases.FREE_TEXT] = raw[cases.FREE_TEXT] = reply[0] if reply else ""
    try:
        casework.answer_request(
            session=db(), request=request_row, answers=given, urls=_urls(), holidays=settings().holidays
        )
    except casework.AnswersInvalid as problem:
        return _information_page(request_row, case, raw, problem.errors, 200)
    except casework.Conflict:
        return redirect(status_url(case), 303)
    return redirect(url_for("case_status.information_sent", token=cases.status_token(case, settings().secret_key)), 303)


@bp.route("/information/<token>", methods=["GET", "POST"])
def information(token: str) -> Any:
    """The link in the citizen's email: answer the caseworker's questions."""
    request_row = cases.information_request_for_token(db(), token)
    if request_row is None:
        abort(404)
    case = db().get(Case, request_row.case_id)
    assert case is not None
    return _answer(request_row, case)


@bp.route("/status/<token>/information", methods=["GET", "POST"])
def information_from_status(token: str) -> Any:
    """The same questions, reached from the status page (which knows the case, not the request's token)."""
    case = cases.case_for_status_token(db(), token, settings().secret_key)
    if case is None or case.id is None:
        abort(404)
    request_row = cases.open_information_request(db(), case_id=case.id)
    if request_row is None:
        return redirect(url_for("case_status.status", token=token), 303)
    return _answer(request_row, case)


@bp.get("/status/<token>/information/sent")
def information_sent(token: str) -> Any:
    case = cases.case_for_status_token(db(), token, settings().secret_key)
    if case is None:
        abort(404)
    definition = cases.definition_of(db(), case)
    return render_page("citizen/information_sent.html", service=definition, status_url=status_url(case), already=False)
