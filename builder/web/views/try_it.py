"""Builder views: "try it", walking a draft's whole journey as a citizen would, with nothing submitted.

The pages are the citizen runtime's own templates (``citizen/*.html``, which
``builder/try_it/*.html`` extend only to add the "you are trying a draft" banner); which page
comes next, which are skipped and what is wrong is ``runtime.journey.Journey``, as for
citizens. The answers live in the staff member's preview session (one per staff member and
service, ``runtime.data.drafts``): no form session, submission or citizen record is ever made.

An add-another question's pages and a file question's are the runtime's own too
(``runtime.web.add_another``, ``runtime.web.upload_pages``), given the preview session as where
the answers are kept (``builder.drafting.PreviewAnswers``): an item is added, changed and removed,
and a file uploaded (streamed in, checked, scanned for viruses and stored) and removed, by the
same use cases as a citizen's. The files are held by the preview session, apart from citizens',
never reach staff, and are deleted when the staff member starts again (or, with the preview
session, when the draft is discarded or published, the staff member is deactivated, or it is
left idle longer than the citizens' session timeout: the purge of forgotten files). Each page of
"try it" keeps the preview session alive; one found idle that long begins afresh.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from builder import drafting
from builder.web.editing import Editing, department_of, service_for
from builder.web.views.publish import plain_problem
from runtime import answers as answer_forms
from runtime import staff as core
from runtime.data import uploads as upload_data
from runtime.definition import Definition, Page
from runtime.journey import Journey
from runtime.references import new_reference
from runtime.validation import compiled
from runtime.web import upload_pages
from runtime.web.add_another import asks_list, item_page, list_page, remove_page
from runtime.web.common import db, render_page, settings
from runtime.web.journey_pages import CappedForm, JourneyPages
from runtime.web.staff import current_user, requires

bp = Blueprint("try_it", __name__)


class Trial(JourneyPages):
    """One staff member trying one service: the draft's definition, their answers and the journey they make."""

    start_endpoint = "try_it.start"
    question_endpoint = "try_it.question"
    check_answers_endpoint = "try_it.check_answers"
    item_endpoint = "try_it.add_another_item"
    remove_endpoint = "try_it.add_another_remove"
    upload_endpoint = "try_it.upload_file"
    remove_file_endpoint = "try_it.remove_file"

    def __init__(self, editing: Editing, service: Definition, user_id: int, kept: drafting.PreviewAnswers):
        self.editing = editing
        self.service = service
        self.service_id = editing.service_id  # the URL's, even were the draft's "id" to differ
        self.user_id = user_id
        self.form_session = kept  # where the runtime's add-another and upload use cases keep answers
        self.journey = Journey(compiled(service), kept.answers)

    def render(self, template: str, status: int = 200, **context: Any) -> Any:
        """A citizen page (``citizen/x.html``) as "try it" shows it (``builder/try_it/x.html``,
        which adds the banner)."""
        return _render(template.replace("citizen/", "builder/try_it/", 1), self, status, **context)

    @property
    def url_args(self) -> dict[str, Any]:
        return {"service_id": self.service_id}

    def save(self, journey: Journey) -> None:
        self.journey = journey
        drafting.save_try_it_answers(
            session=db(), actor=self.user_id, service_id=self.service_id, answers=journey.answers
        )


def _usable(service: Definition, answers: Any) -> dict[str, Any]:
    """The stored answers the draft can still show: those to questions it no longer has, or
    that no longer fit their question's type (a text answer to what is now a checkbox), are dropped."""
    if not isinstance(answers, dict):
        return {}
    kept: dict[str, Any] = {}
    for name, value in answers.items():
        if name not in service.questions:
            continue
        try:
            answer_forms.to_raw(service, name, value)
            answer_forms.display(service, name, value)
        except (TypeError, ValueError, AttributeError, KeyError):
            continue
        kept[name] = value
    return kept


def _load(service_id: str) -> tuple[Editing, Trial | None]:
    """The service for this staff member (404 or 403 as for editing) and their trial of it.

    The trial is None while the draft cannot be checked: there is no journey to walk.
    """
    editing = service_for(service_id, core.EDIT_DRAFTS)
    service = editing.definition
    if service is None or not service.pages:
        return editing, None
    user = current_user()
    assert user is not None and user.id is not None  # requires() signed them in
    kept = drafting.preview_answers(
        session=db(),
        actor=user.id,
        service_id=service_id,
        minutes=settings().session_timeout_minutes,
        files=upload_pages.uploads_of_app(),
    )
    answers = _usable(service, kept.answers)
    for question in service.file_questions:
        # A file question's answer is its files as they are now (a file that waited for its
        # virus scan joins once clean): read from their rows, never from what was stored.
        files = upload_data.answer_of(
            upload_data.unsent_uploads(session=db(), form_session_id=kept.id, question=question)
        )
        answers.pop(question, None)
        if files:
            answers[question] = files
    kept.answers = answers
    return editing, Trial(editing, service, user.id, kept)


def _visited(editing: Editing) -> None:
    """Trying the draft counts as previewing it, for the publish checklist."""
    if editing.draft is not None and editing.draft.preview_visited_at is None:
        user = current_user()
        assert user is not None and user.id is not None  # requires() signed them in
        drafting.mark_previewed(session=db(), actor=user.id, draft=editing.draft)


def _unavailable(editing: Editing) -> Any:
    """Why the draft cannot be tried yet, with the way back (never a 500)."""
    problems = [plain_problem(editing.doc, problem) for problem in editing.problems]
    return render_page(
        "builder/try_it/unavailable.html",
        title=f"You cannot try {editing.doc.get('title') or editing.service_id} yet",
        editing=editing,
        problems=problems,
    )


def _render(template: str, trial: Trial, status: int = 200, **context: Any) -> Any:
    """A citizen page of the trial, with what the banner needs."""
    return render_page(
        template,
        status,
        **{
            "service": trial.service,
            "service_id": trial.service_id,
            "restart_url": url_for("try_it.restart", service_id=trial.service_id),
            "task_list_url": url_for("services.task_list", service_id=trial.service_id),
            **context,
        },
    )


@bp.get("/services/<service_id>/try/")
@requires(core.EDIT_DRAFTS, department=department_of)
def start(service_id: str) -> Any:
    """The draft's start page, as citizens will see it."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    _visited(editing)
    return _render("builder/try_it/start.html", trial)


@bp.post("/services/<service_id>/try/start")
@requires(core.EDIT_DRAFTS, department=department_of)
def begin(service_id: str) -> Any:
    """Start, or carry on from the first page still to answer."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    return redirect(trial.page_url(trial.journey.first_incomplete), 303)


def _question_page(trial: Trial, page: Page, raw: dict[str, Any], errors: dict[str, str]) -> Any:
    context = trial.question_context(page, raw, errors, change=request.args.get("change") == "1")
    return _render("builder/try_it/question.html", trial, **context)


@bp.route("/services/<service_id>/try/pages/<page_id>", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def question(service_id: str, page_id: str) -> Any:
    """A question page: shown with the answers so far, or answered (the citizen runtime's rules)."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    service = trial.service
    page = service.page_by_id.get(page_id)
    if page is None:
        abort(404)
    journey = trial.journey
    if not journey.can_visit(page):
        # Not asked on this journey, or not reached yet: go where a citizen would be sent.
        return redirect(trial.page_url(journey.first_incomplete), 303)

    listed = asks_list(service, page)
    if listed is not None:
        # An add-another question's list: the runtime's page (its items have pages of their own).
        if request.method == "GET":
            _visited(editing)
        return list_page(trial, page, listed, settings().max_answers_bytes)
    asked_file = upload_pages.file_question(page, service.file_questions)
    if asked_file is not None:
        # A file question's page: the runtime's (its files are posted to upload_file).
        if request.method == "GET":
            _visited(editing)
        return upload_pages.file_question_page(trial, page, asked_file)

    if request.method == "GET":
        _visited(editing)
        return _question_page(trial, page, trial.raw_answers(page), {})

    if page.stop:
        abort(405)
    given, raw = answer_forms.parse_page(service, page.questions, CappedForm(request.form))
    answered = journey.answer(page, given)
    errors = answered.page_errors(page)
    if errors:
        return _question_page(trial, page, raw, errors)
    trial.save(answered)
    return redirect(trial.after_answer_url(page, answered, change=request.args.get("change") == "1"), 303)


@bp.route("/services/<service_id>/try/check-answers", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def check_answers(service_id: str) -> Any:
    """Check answers; its button "sends" (POST), which stores nothing and shows the confirmation."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    journey = trial.journey
    gap = journey.first_incomplete
    if gap is not None:
        return redirect(trial.page_url(gap), 303)
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = journey.errors
        if not errors:
            return redirect(url_for("try_it.confirmation", service_id=service_id), 303)
    else:
        _visited(editing)
    return _render("builder/try_it/check_answers.html", trial, **trial.check_answers_context(errors))


@bp.get("/services/<service_id>/try/confirmation")
@requires(core.EDIT_DRAFTS, department=department_of)
def confirmation(service_id: str) -> Any:
    """What a citizen sees once they have sent their answers, with a made-up reference number."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    gap = trial.journey.first_incomplete
    if gap is not None:
        return redirect(trial.page_url(gap), 303)
    _visited(editing)
    reference = new_reference(trial.service.reference_prefix or "REF")
    return _render("builder/try_it/confirmation.html", trial, reference=reference)


@bp.post("/services/<service_id>/try/restart")
@requires(core.EDIT_DRAFTS, department=department_of)
def restart(service_id: str) -> Response:
    """Forget this staff member's answers and go back to the start page."""
    editing = service_for(service_id, core.EDIT_DRAFTS)
    user = current_user()
    assert user is not None and user.id is not None
    drafting.forget_try_it_answers(
        session=db(), actor=user.id, service_id=editing.service_id, files=upload_pages.uploads_of_app()
    )
    return redirect(url_for("try_it.start", service_id=editing.service_id), 303)


def _list_trial(service_id: str, page_id: str) -> tuple[Trial, Page, str] | Any:
    """The trial, page and add-another question of an item's page, or where to go instead."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    page = trial.service.page_by_id.get(page_id)
    name = asks_list(trial.service, page) if page is not None else None
    if page is None or name is None:
        abort(404)
    if not trial.journey.can_visit(page):
        return redirect(trial.page_url(trial.journey.first_incomplete), 303)
    return trial, page, name


@bp.route("/services/<service_id>/try/pages/<page_id>/<number>", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def add_another_item(service_id: str, page_id: str, number: str) -> Any:
    """An add-another question's item ``number`` (``runtime.web.add_another``)."""
    found = _list_trial(service_id, page_id)
    if not isinstance(found, tuple):
        return found
    trial, page, name = found
    return item_page(trial, page, name, number, settings().max_answers_bytes)


@bp.route("/services/<service_id>/try/pages/<page_id>/<number>/remove", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def add_another_remove(service_id: str, page_id: str, number: str) -> Any:
    """Removing an add-another question's item ``number`` (``runtime.web.add_another``)."""
    found = _list_trial(service_id, page_id)
    if not isinstance(found, tuple):
        return found
    trial, page, name = found
    return remove_page(trial, page, name, number)


UPLOAD = "try_it.upload_file"


@bp.url_value_preprocessor
def _prepare_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Before an upload's body is read (and the CSRF check reads it): its limit, and where its
    file streams to (``upload_pages.limit_upload``), for a signed-in staff member who may try
    the service; anyone else's body stays within the usual limit, and the view refuses them."""
    if endpoint != UPLOAD or request.method != "POST" or not values or current_user() is None:
        return
    try:
        editing, trial = _load(str(values.get("service_id", "")))
    except HTTPException:
        return  # not theirs to try: the view says so
    if trial is not None:
        upload_pages.limit_upload(trial, trial.service.page_by_id.get(str(values.get("page_id", ""))))


@bp.teardown_request
def _clean_up_upload(_exc: BaseException | None) -> None:
    upload_pages.clean_up_upload()


def _file_trial(service_id: str, page_id: str) -> tuple[Trial, Page, str] | Any:
    """The trial, page and file question of an upload or removal, or where to go instead."""
    editing, trial = _load(service_id)
    if trial is None:
        return _unavailable(editing)
    page = trial.service.page_by_id.get(page_id)
    question = upload_pages.file_question(page, trial.service.file_questions) if page is not None else None
    if page is None or question is None:
        abort(404)
    if not trial.journey.can_visit(page):
        return redirect(trial.page_url(trial.journey.first_incomplete), 303)
    return trial, page, question


def _again(service_id: str) -> Any:
    editing, trial = _load(service_id)
    return trial if trial is not None else _unavailable(editing)


@bp.post("/services/<service_id>/try/pages/<page_id>/upload")
@requires(core.EDIT_DRAFTS, department=department_of)
def upload_file(service_id: str, page_id: str) -> Any:
    """Upload a file to a file question ("Upload file"), or go on ("Continue"): the citizen's
    use case (``upload_pages.upload_post``), the file checked and scanned as any."""
    found = _file_trial(service_id, page_id)
    if not isinstance(found, tuple):
        return found
    trial, page, question = found
    return upload_pages.upload_post(trial, page, question, again=lambda: _again(service_id))


@bp.post("/services/<service_id>/try/pages/<page_id>/files/<upload_id>/remove")
@requires(core.EDIT_DRAFTS, department=department_of)
def remove_file(service_id: str, page_id: str, upload_id: str) -> Any:
    found = _file_trial(service_id, page_id)
    if not isinstance(found, tuple):
        return found
    trial, page, question = found
    return upload_pages.remove_post(trial, page, question, upload_id, again=lambda: _again(service_id))
