"""Citizen-facing pages: home, start, question pages, check answers, confirmation.

Views parse the request, call the engine (runtime.*) and render; they hold no rules.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, redirect, request, session, url_for
from werkzeug.wrappers import Response

from .. import answers as answer_forms
from .. import cases, store
from ..definition import Definition, Page
from ..journey import Journey
from ..models import FormSession, utcnow
from ..validation import CompiledService, compiled
from .case_status import status_url
from .common import db, render_page, settings
from .journey_pages import JourneyPages

bp = Blueprint("citizen", __name__)

# What a service id can look like (the definition format's rule): anything else is not a
# service, and is never sent to the database (PostgreSQL refuses NUL characters, for one).
_SERVICE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _service(service_id: str, version: int | None = None) -> Definition:
    if len(service_id) > 60 or not _SERVICE_ID.fullmatch(service_id):
        abort(404)
    found = store.definition(session=db(), service_id=service_id, version=version)
    if found is None or (version is None and not found.live):
        abort(404)
    return found


def _tokens() -> dict[str, str]:
    tokens = session.get("forms")
    return tokens if isinstance(tokens, dict) else {}


def _form_session(service_id: str) -> FormSession | None:
    token = _tokens().get(service_id)
    return store.get_form_session(session=db(), token=token if isinstance(token, str) else None)


def _expired(service_id: str) -> Response:
    return redirect(url_for("citizen.session_expired", service_id=service_id), 303)


class CitizenJourney(JourneyPages):
    """A citizen's place in one service: their form session, and the journey its answers make.

    The journey itself (path, next and previous page, can-visit, first gap) is the pure
    ``runtime.journey.Journey``; JourneyPages turns it into URLs and page contexts; this class
    only adds the form session row.
    """

    start_endpoint = "citizen.start"
    question_endpoint = "citizen.question"
    check_answers_endpoint = "citizen.check_answers"

    def __init__(self, form_session: FormSession):
        self.form_session = form_session
        self.service = _service(form_session.service_id, form_session.service_version)
        self.engine: CompiledService = compiled(self.service)
        self.journey = Journey(self.engine, form_session.answers)


def _journey(service_id: str) -> CitizenJourney | None:
    form_session = _form_session(service_id)
    return CitizenJourney(form_session) if form_session is not None else None


@bp.get("/")
def home() -> Any:
    return render_page("citizen/home.html", services=store.live_services(session=db()))


@bp.get("/services/<service_id>")
def start(service_id: str) -> Any:
    service = _service(service_id)
    return render_page("citizen/start.html", service=service)


@bp.post("/services/<service_id>/start")
def begin(service_id: str) -> Response:
    """Start (or resume) a journey; the token goes in the signed session cookie."""
    journey = _journey(service_id)
    if journey is None or journey.form_session.submission_reference:
        service = _service(service_id)
        token = store.start_form_session(session=db(), service=service, minutes=settings().session_timeout_minutes)
        db().commit()
        session["forms"] = {**_tokens(), service_id: token}
        session.permanent = True
        journey = _journey(service_id)
        assert journey is not None
    return redirect(journey.page_url(journey.journey.first_incomplete), 303)


def _question_page(
    journey: CitizenJourney, page: Page, raw: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Any:
    context = journey.question_context(page, raw, errors, change=request.args.get("change") == "1")
    return render_page("citizen/question.html", status, **context)


@bp.route("/services/<service_id>/<page_id>", methods=["GET", "POST"])
def question(service_id: str, page_id: str) -> Any:
    journey = _journey(service_id)
    if journey is None:
        if page_id not in _service(service_id).page_by_id:
            abort(404)  # no such service or page: not a matter of an expired session
        return _expired(service_id)
    if journey.form_session.submission_reference:
        return redirect(url_for("citizen.confirmation", service_id=service_id), 303)
    service = journey.service
    page = service.page_by_id.get(page_id)
    if page is None:
        abort(404)
    if not journey.journey.can_visit(page):
        # Not asked on this citizen's journey, or not reached yet: go where they should be.
        return redirect(journey.page_url(journey.journey.first_incomplete), 303)

    if request.method == "GET":
        if store.keep_alive(
            session=db(), form_session=journey.form_session, minutes=settings().session_timeout_minutes
        ):
            db().commit()
        return _question_page(journey, page, journey.raw_answers(page), {})

    if page.stop:
        abort(405)
    given, raw = answer_forms.parse_page(service, page.questions, request.form)
    # Answers on pages now hidden are kept until the submission, so that changing an answer
    # back (or a misclick that reaches a stop page) loses nothing (see Journey.answer).
    answered = journey.journey.answer(page, given)
    errors = answered.page_errors(page)
    if errors:
        return _question_page(journey, page, raw, errors)
    journey.journey = answered
    store.save_answers(
        session=db(),
        form_session=journey.form_session,
        answers=answered.answers,
        minutes=settings().session_timeout_minutes,
    )
    db().commit()
    return redirect(journey.after_answer_url(page, answered, change=request.args.get("change") == "1"), 303)


@bp.route("/services/<service_id>/check-answers", methods=["GET", "POST"])
def check_answers(service_id: str) -> Any:
    journey = _journey(service_id)
    if journey is None:
        _service(service_id)
        return _expired(service_id)
    if journey.form_session.submission_reference:
        return redirect(url_for("citizen.confirmation", service_id=service_id), 303)
    first_gap = journey.journey.first_incomplete
    if first_gap is not None:
        return redirect(journey.page_url(first_gap), 303)
    errors: dict[str, str] = {}
    if request.method == "POST":
        answers = journey.journey.visible_answers
        errors = journey.journey.errors
        if not errors:
            try:
                submission = store.create_submission(
                    session=db(),
                    service=journey.service,
                    answers=answers,
                    form_session_id=journey.form_session.id,
                )
                # The case starts in the same transaction: no submission without its case.
                cases.open_case(
                    db(),
                    submission=submission,
                    definition=journey.service,
                    now=utcnow(),
                    secret_key=settings().secret_key,
                    urls=cases.CaseUrls(settings().base_url or request.host_url.rstrip("/")),
                    holidays=settings().holidays,
                )
                journey.form_session.submission_reference = submission.reference
                store.save_answers(
                    session=db(),
                    form_session=journey.form_session,
                    answers={},
                    minutes=settings().session_timeout_minutes,
                )
                db().commit()
            except store.AlreadySubmitted:
                db().rollback()  # another tab or a double click got there first
            return redirect(url_for("citizen.confirmation", service_id=service_id), 303)
    return render_page("citizen/check_answers.html", 200, **journey.check_answers_context(errors))


@bp.get("/services/<service_id>/confirmation")
def confirmation(service_id: str) -> Any:
    journey = _journey(service_id)
    if journey is None:
        _service(service_id)
        return _expired(service_id)
    reference = journey.form_session.submission_reference
    if not reference:
        return redirect(journey.page_url(journey.journey.first_incomplete), 303)
    case = cases.case_for_reference(db(), reference)
    return render_page(
        "citizen/confirmation.html",
        service=journey.service,
        reference=reference,
        status_url=status_url(case) if case is not None else None,
    )


@bp.get("/services/<service_id>/session-expired")
def session_expired(service_id: str) -> Any:
    service = _service(service_id)
    return render_page("citizen/session_expired.html", service=service, minutes=settings().session_timeout_minutes)
