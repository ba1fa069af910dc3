"""Citizen-facing pages: home, start, question pages, check answers, confirmation.

Views parse the request, call a use case (runtime.services.submitting, which owns every write
and its transaction) or a read, and render; they hold no rules and never commit.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, make_response, redirect, request, session, url_for
from werkzeug.wrappers import Response

from .. import abuse, case_reads, cases, versions
from .. import answers as answer_forms
from ..data import form_sessions, published
from ..definition import Definition, Page
from ..journey import Journey
from ..limits import META_SCHEMA
from ..models import utcnow
from ..services import submitting
from ..validation import CompiledService, compiled
from .add_another import asks_list, item_page, list_page, posted_fields, remove_page
from .address_finder import shown as with_address_lookup
from .address_finder import step as address_lookup_step
from .case_status import status_url
from .citizen_shell import client_key, forms_cap, too_many_requests
from .common import db, one_statement_at_a_time, render_page, settings
from .journey_pages import JourneyPages, hidden_inputs, page_fields
from .upload_pages import file_question, file_question_page

bp = Blueprint("citizen", __name__)

# What a service id can look like (the definition format's rule): anything else is not a
# service, and is never sent to the database (PostgreSQL refuses NUL characters, for one).
_SERVICE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _service(service_id: str, version: int | None = None) -> Definition:
    if len(service_id) > 60 or not _SERVICE_ID.fullmatch(service_id):
        abort(404)
    found = versions.definition(session=db(), service_id=service_id, version=version)
    if found is None or (version is None and not found.live):
        abort(404)
    return found


def _tokens() -> dict[str, str]:
    tokens = session.get("forms")
    return tokens if isinstance(tokens, dict) else {}


def _form_session(service_id: str) -> form_sessions.FormSessionState | None:
    token = _tokens().get(service_id)
    return form_sessions.read_form_session(session=db(), token=token if isinstance(token, str) else None)


def _expired(service_id: str) -> Response:
    """To the timed-out page; the answers of an expired form session are deleted now, as that
    page says, not at the next ``sessions purge``, and the cookie forgets the token."""
    token = _tokens().get(service_id)
    if isinstance(token, str):
        submitting.forget_expired(session=db(), token=token)
    if service_id in _tokens():
        session["forms"] = {k: v for k, v in _tokens().items() if k != service_id}
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
    item_endpoint = "citizen.add_another_item"
    remove_endpoint = "citizen.add_another_remove"

    def __init__(self, form_session: form_sessions.FormSessionState):
        self.form_session = form_session
        self.service = _service(form_session.service_id, form_session.service_version)
        self.engine: CompiledService = compiled(self.service)
        self.journey = Journey(self.engine, form_session.answers)

    def render(self, template: str, status: int = 200, **context: Any) -> Any:
        return render_page(template, status, **context)


def _journey(service_id: str) -> CitizenJourney | None:
    form_session = _form_session(service_id)
    return CitizenJourney(form_session) if form_session is not None else None


def _left_idle(form_session: form_sessions.FormSessionState) -> bool:
    """Unsent answers nobody has used for CIVICFORMS_FORM_IDLE_MINUTES: whoever is at the
    browser now (a shared or public computer) may not be who typed them.

    Read from the row the page has already read (``updated_at``: every saved answer sets it,
    and page views at most a minute apart): no query of its own."""
    if not form_session.answers or form_session.submission_reference:
        return False
    return utcnow() - form_session.updated_at >= timedelta(minutes=settings().form_idle_minutes)


# Where the choice returns to: a question page's id, or check answers.
CHECK_ANSWERS = "check-answers"


def _choose_first(service_id: str, page_id: str, *, unsent: bool = False) -> Response:
    """To "continue or start again" before a page of answers left idle shows any of them, to
    come back to ``page_id`` on "Continue". "Accept and send" from check answers left idle
    sends nothing (``unsent``): Continue returns to check answers, to see what is sent."""
    args: dict[str, Any] = {"page": page_id}
    if request.args.get("change") == "1":
        args["change"] = "1"
    if unsent:
        args["unsent"] = "1"
    return redirect(url_for("citizen.start_choice", service_id=service_id, **args), 303)


# The choice's field when it is posted back to the question page with that page's fields: no
# question's field has this name (names have no "-"; a date's parts end -day, -month, -year).
IDLE_CHOICE = "idle-choice"
NO_CHOICE = "Select whether to continue the application you started or start again"


def _choose_before_saving(
    journey: CitizenJourney, page: Page, error: str | None = None, *, item: str | None = None
) -> Any:
    """A page posted into a form left idle is not saved yet: whoever sent it may not be who
    typed the stored answers, and saving would open them to the sender. The choice is shown
    instead, with the fields of THIS page as they were posted (never a stored answer) in its
    form, which posts back to the page: "Continue" saves them as a normal post of the page
    would, "Start again" deletes them with the stored answers. ``item``: the number of the
    add-another item page posted to (its URL's), rather than the page itself."""
    listed = asks_list(journey.service, page)
    if listed is not None:  # a list's page or an item's: the item's fields (runtime.web.add_another)
        carried = posted_fields(journey.service, listed, request.form)
    else:
        carried = page_fields(journey.service, page, request.form)
    # The post back holds what came in (the page's fields and a token) and the choice: it
    # fits the size limit unless the page's own post was within a few bytes of it.
    size = len(urlencode([*carried, (IDLE_CHOICE, "start-again"), ("csrf_token", "x" * 100)]))
    kept = size <= settings().max_post_bytes
    change: dict[str, Any] = {"change": "1"} if request.args.get("change") == "1" else {}
    return render_page(
        "citizen/start_choice.html",
        service=journey.service,
        choices=START_CHOICES,
        error=error,
        action=journey.page_url(page, **change)
        if item is None
        else url_for("citizen.add_another_item", service_id=journey.service.id, page_id=page.id, number=item, **change),
        choice_name=IDLE_CHOICE,
        carried=hidden_inputs(carried) if kept else None,
        unsaved=not kept,
    )


@bp.get("/")
def home() -> Any:
    return render_page("citizen/home.html", services=published.live_services(session=db()))


# A file like the assets, cacheable: runtime.web.common.security_headers knows its endpoint.
@bp.get("/schema/definition.schema.json")
def definition_schema() -> Response:
    """The definition format's meta-schema, for editors: a file's "$schema" or VS Code's
    ``json.schemas`` can point here (docs/definition-format.md). Cacheable, revalidated by ETag."""
    response = Response(META_SCHEMA.read_bytes(), mimetype="application/schema+json")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/services/<service_id>")
def start(service_id: str) -> Any:
    service = _service(service_id)
    return render_page("citizen/start.html", service=service)


@bp.post("/services/<service_id>/start")
def begin(service_id: str) -> Any:
    """Start a journey; the token goes in the signed session cookie.

    On a shared or public computer the browser may hold someone else's unfinished form: it is
    never resumed silently. With answers in it, the citizen chooses on a page that shows none
    of them (``start_choice``); without, a new form session replaces it.
    """
    journey = _journey(service_id)
    if journey is not None and not journey.form_session.submission_reference:
        if journey.form_session.answers:
            return redirect(url_for("citizen.start_choice", service_id=service_id), 303)
        return _start_new(_service(service_id), replacing=journey.form_session.id)
    if journey is None:
        token = _tokens().get(service_id)
        return _start_new(_service(service_id), expired_token=token if isinstance(token, str) else None)
    return _start_new(_service(service_id))


def _start_new(service: Definition, *, replacing: str | None = None, expired_token: str | None = None) -> Any:
    """A new form session (a new token) for this browser, within the caps; to its first page.
    ``replacing`` (a form session's id: the one this browser held) is deleted with it, and
    ``expired_token``'s if it has expired; neither when a cap refuses the start."""
    client = client_key()
    wait = forms_cap().retry_after(client)
    if wait is not None:
        return too_many_requests(wait, "forms")
    gauge: abuse.UnsentAnswersGauge = current_app.extensions["civicforms.unsent_answers"]
    if gauge.bytes(db()) >= settings().max_unsent_answers_mb * 1024 * 1024:
        current_app.logger.warning("unsent answers are over CIVICFORMS_MAX_UNSENT_ANSWERS_MB: starts refused")
        abort(503)
    token = submitting.start(
        session=db(),
        service=service,
        minutes=settings().session_timeout_minutes,
        replacing=replacing,
        expired_token=expired_token,
    )
    forms_cap().count(client)
    session["forms"] = {**_tokens(), service.id: token}
    session.permanent = True
    journey = _journey(service.id)
    assert journey is not None
    return redirect(journey.page_url(journey.journey.first_incomplete), 303)


START_CHOICES = {
    "continue": "Continue the application you started",
    "start-again": "Start again, deleting the answers",
}


@bp.route("/services/<service_id>/continue-or-start-again", methods=["GET", "POST"])
def start_choice(service_id: str) -> Any:
    """Continue the unfinished form this browser holds, or delete it and start again.

    Nothing of the form is shown here (not even which page it reached): whoever is at the
    computer sees its answers only after choosing to continue.
    """
    journey = _journey(service_id)
    if journey is None or journey.form_session.submission_reference:
        _service(service_id)  # 404 for no such service
        return redirect(url_for("citizen.start", service_id=service_id), 303)
    error = None
    if request.method == "POST":
        choice = request.form.get("choice")
        if choice == "continue":
            # The form is in use again: its pages show its answers (no choice asked again).
            submitting.keep_alive(
                session=db(), form_session=journey.form_session, minutes=settings().session_timeout_minutes
            )
            return redirect(_return_url(journey), 303)
        if choice == "start-again":
            return _start_new(_service(service_id), replacing=journey.form_session.id)
        error = NO_CHOICE
    return render_page(
        "citizen/start_choice.html",
        service=journey.service,
        choices=START_CHOICES,
        error=error,
        unsent=request.args.get("unsent") == "1",
    )


def _return_url(journey: CitizenJourney) -> str:
    """Where "Continue" goes: the page that asked for the choice (a page of this service, or
    check answers, never another address), else the first page still to answer."""
    page_id = request.args.get("page")
    if page_id == CHECK_ANSWERS:
        return journey.page_url(None)
    page = journey.service.page_by_id.get(page_id) if isinstance(page_id, str) else None
    if page is None:
        return journey.page_url(journey.journey.first_incomplete)
    return journey.page_url(page, **({"change": "1"} if request.args.get("change") == "1" else {}))


def _in_use_again(journey: CitizenJourney, continuing: bool) -> None:
    """ "Continue" chosen, and nothing saved (the page's answers have errors, or the page is not
    on the journey): the form is in use all the same, its pages show their answers."""
    if continuing:
        submitting.keep_alive(
            session=db(), form_session=journey.form_session, minutes=settings().session_timeout_minutes
        )


def _question_page(
    journey: CitizenJourney, page: Page, raw: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Any:
    # A uk-address found by postcode shows the step it is at (runtime.web.address_finder).
    raw = with_address_lookup(journey, page, raw, request.form if request.method == "POST" else request.args, errors)
    context = journey.question_context(page, raw, errors, change=request.args.get("change") == "1")
    return render_page("citizen/question.html", status, reuse=journey.reuse_key(context), **context)


@bp.route("/services/<service_id>/<page_id>", methods=["GET", "POST"])
def question(service_id: str, page_id: str) -> Any:
    # Read the form session, then at most one UPDATE of it (an answer saved, the expiry pushed
    # back, an expired one deleted): no statement here needs another in the same transaction.
    # "Start again" from the choice of a form left idle deletes it and starts another: together.
    choice = request.form.get(IDLE_CHOICE) if request.method == "POST" else None
    if choice != "start-again":
        one_statement_at_a_time()
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
    continuing = False
    if request.method == "POST" and IDLE_CHOICE in request.form:
        # The choice made for a form left idle, with the fields of the page it was asked on.
        if choice == "start-again":
            return _start_new(_service(service_id), replacing=journey.form_session.id)
        if choice != "continue":
            return _choose_before_saving(journey, page, error=NO_CHOICE)
        continuing = True  # and the page's fields are saved below, as on any post of it
    elif _left_idle(journey.form_session):
        if request.method == "GET":
            return _choose_first(service_id, page_id)
        return _choose_before_saving(journey, page)
    if not journey.journey.can_visit(page):
        # Not asked on this citizen's journey, or not reached yet: go where they should be.
        _in_use_again(journey, continuing)
        return redirect(journey.page_url(journey.journey.first_incomplete), 303)

    listed = asks_list(service, page)
    if listed is not None:
        # An add-another question's list (runtime.web.add_another): each item has pages of its own.
        _in_use_again(journey, continuing)
        return list_page(journey, page, listed, settings().max_answers_bytes)

    asked_file = file_question(page, service.file_questions)
    if asked_file is not None:
        # A file question's page (runtime.web.uploads posts its files). A post here is Continue
        # with no file chosen: its answer is never read from typed fields.
        return file_question_page(journey, page, asked_file)
    if request.method == "GET":
        submitting.keep_alive(
            session=db(), form_session=journey.form_session, minutes=settings().session_timeout_minutes
        )
        return _question_page(journey, page, journey.raw_answers(page), {})

    if page.stop:
        abort(405)
    looked_up = address_lookup_step(journey, page, request.form)
    if looked_up is not None:
        # "Find address" or "Use this address": the page again at the next step, nothing saved.
        submitting.keep_alive(
            session=db(), form_session=journey.form_session, minutes=settings().session_timeout_minutes
        )
        return _question_page(journey, page, *looked_up)
    given, raw = answer_forms.parse_page(service, page.questions, request.form)
    try:
        answered = submitting.save_page(
            session=db(),
            journey=journey.journey,
            form_session=journey.form_session,
            page=page,
            given=given,
            minutes=settings().session_timeout_minutes,
            max_answers_bytes=settings().max_answers_bytes,
        )
    except submitting.AnswersInvalid as invalid:
        _in_use_again(journey, continuing)
        return _question_page(journey, page, raw, invalid.errors)
    except submitting.AnswersTooLarge:
        abort(413)  # one form's answers, all pages together, are capped (CIVICFORMS_MAX_ANSWERS_BYTES)
    journey.journey = answered
    return redirect(journey.after_answer_url(page, answered, change=request.args.get("change") == "1"), 303)


def _list_journey(
    service_id: str, page_id: str, item: str | None = None
) -> tuple[CitizenJourney, Page, str] | Response:
    """The journey, page and add-another question of an item's page (as ``question`` finds a
    page's), or where to go instead. ``item``: the item page's number, whose post into a form
    left idle is carried through the choice (a removal is asked again after it)."""
    choice = request.form.get(IDLE_CHOICE) if request.method == "POST" and item is not None else None
    if choice != "start-again":
        one_statement_at_a_time()
    journey = _journey(service_id)
    if journey is None:
        if page_id not in _service(service_id).page_by_id:
            abort(404)
        return _expired(service_id)
    if journey.form_session.submission_reference:
        return redirect(url_for("citizen.confirmation", service_id=service_id), 303)
    page = journey.service.page_by_id.get(page_id)
    name = asks_list(journey.service, page) if page is not None else None
    if page is None or name is None:
        abort(404)
    if item is not None and request.method == "POST" and IDLE_CHOICE in request.form:
        # The choice made for a form left idle, with the item's fields as they were posted.
        if choice == "start-again":
            return _start_new(_service(service_id), replacing=journey.form_session.id)
        if choice != "continue":
            return make_response(_choose_before_saving(journey, page, error=NO_CHOICE, item=item))
        _in_use_again(journey, True)  # and the item's fields are saved as on any post of it
    elif _left_idle(journey.form_session):
        if item is not None and request.method == "POST":
            return make_response(_choose_before_saving(journey, page, item=item))  # what was typed is not lost
        return _choose_first(service_id, page_id)
    if not journey.journey.can_visit(page):
        return redirect(journey.page_url(journey.journey.first_incomplete), 303)
    return journey, page, name


@bp.route("/services/<service_id>/<page_id>/<number>", methods=["GET", "POST"])
def add_another_item(service_id: str, page_id: str, number: str) -> Any:
    """An add-another question's item ``number`` (runtime.web.add_another)."""
    found = _list_journey(service_id, page_id, item=number)
    return found if isinstance(found, Response) else item_page(*found, number, settings().max_answers_bytes)


@bp.route("/services/<service_id>/<page_id>/<number>/remove", methods=["GET", "POST"])
def add_another_remove(service_id: str, page_id: str, number: str) -> Any:
    """Removing an add-another question's item ``number`` (runtime.web.add_another)."""
    found = _list_journey(service_id, page_id)
    return found if isinstance(found, Response) else remove_page(*found, number)


@bp.route("/services/<service_id>/check-answers", methods=["GET", "POST"])
def check_answers(service_id: str) -> Any:
    journey = _journey(service_id)
    if journey is None:
        _service(service_id)
        return _expired(service_id)
    if journey.form_session.submission_reference:
        return redirect(url_for("citizen.confirmation", service_id=service_id), 303)
    if _left_idle(journey.form_session):
        return _choose_first(service_id, CHECK_ANSWERS, unsent=request.method == "POST")
    first_gap = journey.journey.first_incomplete
    if first_gap is not None:
        return redirect(journey.page_url(first_gap), 303)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            submitting.submit(
                session=db(),
                service=journey.service,
                form_session=journey.form_session,
                minutes=settings().session_timeout_minutes,
                secret_key=settings().secret_key,
                urls=cases.CaseUrls(settings().base_url or request.host_url.rstrip("/")),
                holidays=settings().holidays,
            )
        except submitting.NotReady as gap:
            return redirect(journey.page_url(gap.page), 303)
        except submitting.FilesWaiting as waiting:
            return redirect(journey.page_url(waiting.page), 303)  # it says which file waits
        except submitting.AnswersInvalid as invalid:
            errors = invalid.errors  # errors no page owns (a definition fault): shown here
        except submitting.AlreadySent:
            pass  # another tab or a double click got there first
        if not errors:
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
    case = case_reads.case_for_reference(db(), reference)
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
