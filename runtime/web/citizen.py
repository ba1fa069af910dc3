"""Citizen-facing pages: home, start, question pages, check answers, confirmation.

Views parse the request, call the engine (runtime.*) and render; they hold no rules.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, redirect, request, session, url_for
from werkzeug.wrappers import Response

from .. import answers as answer_forms
from .. import rendering, store
from ..definition import Definition, Page
from ..journey import Journey
from ..models import FormSession
from ..validation import CompiledService, compiled
from .common import db, render_page, settings

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


class CitizenJourney:
    """A citizen's place in one service: their form session, and the journey its answers make.

    The journey itself (path, next and previous page, can-visit, first gap) is the pure
    ``runtime.journey.Journey``; this class only adds the web bits: URLs and the session row.
    """

    def __init__(self, form_session: FormSession):
        self.form_session = form_session
        self.service = _service(form_session.service_id, form_session.service_version)
        self.engine: CompiledService = compiled(self.service)
        self.journey = Journey(self.engine, form_session.answers)

    def page_url(self, page: Page | None, **args: Any) -> str:
        if page is None:
            return url_for("citizen.check_answers", service_id=self.service.id)
        return url_for("citizen.question", service_id=self.service.id, page_id=page.id, **args)

    def back_url(self, page: Page, change: bool = False) -> str:
        previous = self.journey.previous_page(page)
        if previous is None:
            return url_for("citizen.start", service_id=self.service.id)
        return self.page_url(previous, change="1") if change else self.page_url(previous)


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
    service = journey.service
    as_heading = len(page.questions) == 1
    views = [rendering.question_view(service, name, raw, errors, as_heading) for name in page.questions]
    change = request.args.get("change") == "1"
    return render_page(
        "citizen/question.html",
        status,
        service=service,
        page=page,
        questions=views,
        as_heading=as_heading,
        errors=rendering.error_summary(service, errors),
        # Changing an answer from check answers: "Back" returns there, as Continue does.
        # A stop page reached from a change goes back to the page being changed instead.
        back_url=journey.page_url(None) if change and not page.stop else journey.back_url(page, change=change),
        change=change,
    )


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
        raw: dict[str, Any] = {}
        for name in page.questions:
            raw.update(answer_forms.to_raw(service, name, journey.journey.answers.get(name)))
        return _question_page(journey, page, raw, {})

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
    if request.args.get("change") == "1":
        # Back to check answers, unless the change revealed a question: ask it, still in
        # change mode, so that answering it returns to check answers too.
        gap = answered.first_incomplete
        return redirect(journey.page_url(gap, change="1") if gap is not None else journey.page_url(None), 303)
    return redirect(journey.page_url(answered.next_page(page)), 303)


def _summary(journey: CitizenJourney) -> list[dict[str, Any]]:
    service = journey.service
    rows = []
    for page in journey.journey.path:
        for name in page.questions:
            lines = answer_forms.display(service, name, journey.journey.answers.get(name))
            anchor = rendering.anchor(service, name).lstrip("#")
            rows.append(
                {
                    "key": {"text": service.short_label(name)},
                    "value": {"lines": lines or ["Not answered"]},
                    "href": journey.page_url(page, change="1") + f"#{anchor}",
                    "visually_hidden": service.short_label(name).lower(),
                }
            )
    return rows


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
    page_of = journey.service.page_of_question
    summary = [
        {
            "text": message,
            # An error no question owns (a definition fault) still gets a summary entry.
            "href": journey.page_url(page_of[path.split(".")[0]], change="1")
            if path.split(".")[0] in page_of
            else "#main-content",
        }
        for path, message in errors.items()
    ]
    return render_page(
        "citizen/check_answers.html",
        200,
        service=journey.service,
        rows=_summary(journey),
        errors=summary,
        back_url=journey.page_url(journey.journey.last_page),
    )


@bp.get("/services/<service_id>/confirmation")
def confirmation(service_id: str) -> Any:
    journey = _journey(service_id)
    if journey is None:
        _service(service_id)
        return _expired(service_id)
    reference = journey.form_session.submission_reference
    if not reference:
        return redirect(journey.page_url(journey.journey.first_incomplete), 303)
    return render_page("citizen/confirmation.html", service=journey.service, reference=reference)


@bp.get("/services/<service_id>/session-expired")
def session_expired(service_id: str) -> Any:
    service = _service(service_id)
    return render_page("citizen/session_expired.html", service=service, minutes=settings().session_timeout_minutes)
