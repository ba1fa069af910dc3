"""The builder's shared edit flow: load a service for a permission, apply an operation, show errors.

Every editing view does the same three things, so they live here once:

- ``service_for(service_id, permission)`` loads the draft (or, for a live service nobody has
  started changing, its current version), with the department check: no role in the
  service's department is a 404, a role without the permission a 403.
- ``apply(editing, op, **kwargs)`` runs a pure operation (builder/operations.py) on the
  document and saves it against the form's ``revision`` field, so a colleague's save made
  since the form was shown is reported, never overwritten.
- ``FormErrors`` turns ``{field: message}`` into the GOV.UK error summary and the message next
  to each field; ``builder/services/form.html`` has the macros templates use with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import abort, request
from markupsafe import Markup
from sqlmodel import Session

from builder import drafting
from builder.conditions import EditError
from runtime import versions
from runtime.checker import check
from runtime.data import drafts
from runtime.definition import Definition
from runtime.models import Service, ServiceDraft
from runtime.web.common import db
from runtime.web.staff import current_user, require

_SERVICE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_SERVICE_ID = 60

# Task status values kept in ServiceDraft.task_status ({task: status}); a task never touched
# has no entry ("not started").
NOT_STARTED, IN_PROGRESS, COMPLETED = "not started", "in progress", "completed"

CONFLICT_MESSAGE = (
    "A colleague changed this service while you were editing it. Your changes have not been saved. "
    "Check the page, which now shows their changes, then make your changes again."
)


@dataclass
class Editing:
    """A service being edited: its draft (None for a live service nobody has changed yet) and document."""

    service_id: str
    department_id: int
    draft: ServiceDraft | None
    # The document being edited: the draft's, or the live version's when there is no draft.
    doc: dict[str, Any]
    base_version: int | None  # the live version, when the service has one

    @property
    def revision(self) -> int:
        """The revision a form posts back (0: no draft yet, the first save makes one)."""
        return self.draft.revision if self.draft is not None else 0

    @property
    def task_status(self) -> dict[str, Any]:
        return dict(self.draft.task_status) if self.draft is not None else {}

    def status_of(self, task: str) -> str:
        """NOT_STARTED, IN_PROGRESS or COMPLETED for one task of the task list."""
        value = self.task_status.get(task)
        if value in (IN_PROGRESS, COMPLETED):
            return str(value)
        # A published service has done every task once; its draft only records what changed since.
        return COMPLETED if self.base_version is not None else NOT_STARTED

    @cached_property
    def problems(self) -> list[Any]:
        """The checker's problems with the document (empty: it could be published)."""
        return check(self.doc)

    @cached_property
    def definition(self) -> Definition | None:
        """The runtime's typed definition, or None while the draft does not pass the checker."""
        if self.problems:
            return None
        try:
            return Definition(self.doc)
        except Exception:  # a document the checker passed but the runtime cannot build: treat as unchecked
            return None

    def revision_field(self) -> Markup:
        """The hidden ``revision`` input every editing form carries."""
        return revision_field(self)


def revision_field(editing: Editing) -> Markup:
    """The hidden ``revision`` input every editing form carries (apply() reads it)."""
    return Markup('<input type="hidden" name="revision" value="{}">').format(editing.revision)


def valid_service_id(service_id: str) -> bool:
    return len(service_id) <= MAX_SERVICE_ID and bool(_SERVICE_ID.match(service_id))


def department_of(service_id: str, **_: Any) -> int | None:
    """The department a service (or its draft) belongs to, for ``requires(..., department=department_of)``."""
    if not valid_service_id(service_id):
        return None
    session = db()
    draft = drafts.get_draft(session=session, service_id=service_id)
    if draft is not None:
        return draft.department_id
    service = session.get(Service, service_id)
    return service.department_id if service is not None else None


def service_for(service_id: str, permission: str) -> Editing:
    """The service for this request, or abort: 404 (no such service, or no role in its department), 403."""
    if not valid_service_id(service_id):
        abort(404)
    session = db()
    draft = drafts.get_draft(session=session, service_id=service_id)
    service = session.get(Service, service_id)
    if draft is not None:
        require(permission, draft.department_id)
        return Editing(
            service_id=service_id,
            department_id=draft.department_id,
            draft=draft,
            doc=draft.definition,
            base_version=service.current_version if service is not None else None,
        )
    if service is None:
        abort(404)
    require(permission, service.department_id)
    assert service.department_id is not None  # require() gave 404 otherwise
    live = versions.definition(session=session, service_id=service_id)
    if live is None:
        abort(404)
    return Editing(
        service_id=service_id,
        department_id=service.department_id,
        draft=None,
        doc=live.doc,
        base_version=service.current_version,
    )


@dataclass
class EditOutcome:
    """What became of an edit: saved (``ok``), refused (``errors``), or beaten by a colleague (``conflict``)."""

    editing: Editing  # as it is now: after the save, or the colleague's version on a conflict
    errors: dict[str, str] = field(default_factory=dict)
    conflict: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.conflict


def posted_revision() -> int | None:
    """The form's ``revision`` field (None: missing or not a number)."""
    try:
        value = int(request.form.get("revision", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def apply(
    editing: Editing,
    op: Callable[..., dict[str, Any]],
    *,
    task: str | None = None,
    task_state: str | None = None,
    **kwargs: Any,
) -> EditOutcome:
    """Run ``op(doc, **kwargs)`` and save the result against the form's revision, and commit.

    ``task`` (a task list key) records ``task_state`` (default IN_PROGRESS) in the same save.
    A live service with no draft gets its draft here, on its first edit.
    """
    try:
        new_doc = op(editing.doc, **kwargs)
    except EditError as error:
        return EditOutcome(editing, errors={error.field: error.message})
    return save(editing, new_doc, task=task, task_state=task_state)


def save(
    editing: Editing, new_doc: dict[str, Any], *, task: str | None = None, task_state: str | None = None
) -> EditOutcome:
    """Save a new document for the service against the form's revision (apply() without an operation)."""
    session = db()
    user = current_user()
    assert user is not None and user.id is not None  # every editing view requires sign-in
    expected = posted_revision()
    statuses = editing.task_status
    if task is not None:
        statuses[task] = task_state or IN_PROGRESS
    if expected is None or expected != editing.revision:
        return _conflict(session, editing)
    try:
        drafting.save_draft(
            session=session,
            actor=user.id,
            draft=editing.draft,
            doc=new_doc,
            department_id=editing.department_id,
            base_version=editing.base_version,
            expected_revision=expected,
            task_status=statuses if editing.draft is None or task is not None else None,
        )
    except drafts.DepartmentError as refused:  # the definition names another department: never saved
        return EditOutcome(
            _reloaded(session, editing.service_id, editing), errors={"department": refused.problem.message}
        )
    except drafts.DraftError:  # EditConflict, or a colleague made the first draft a moment ago
        return _conflict(session, editing)
    return EditOutcome(_reloaded(session, editing.service_id, editing))


def _conflict(session: Session, editing: Editing) -> EditOutcome:
    return EditOutcome(_reloaded(session, editing.service_id, editing), conflict=True)


def _reloaded(session: Session, service_id: str, before: Editing) -> Editing:
    draft = drafts.get_draft(session=session, service_id=service_id)
    if draft is None:  # published or discarded meanwhile: what is live now
        return before
    session.refresh(draft)
    return Editing(
        service_id=service_id,
        department_id=draft.department_id,
        draft=draft,
        doc=draft.definition,
        base_version=before.base_version,
    )


class FormErrors:
    """``{field: message}`` as GOV.UK components want them: the summary and each field's message.

    Field ``identity.email`` links to the element id ``identity-email`` (runtime.widgets.html_id).
    """

    def __init__(self, errors: dict[str, str] | None = None, *, conflict: bool = False):
        self.errors = dict(errors or {})
        self.conflict = CONFLICT_MESSAGE if conflict else None

    def __bool__(self) -> bool:
        return bool(self.errors) or self.conflict is not None

    @staticmethod
    def field_id(name: str) -> str:
        return name.replace(".", "-").replace("_", "-")

    def message(self, name: str) -> dict[str, str] | None:
        """The ``errorMessage`` parameter for a field (None: no error)."""
        text = self.errors.get(name)
        return {"text": text} if text else None

    @property
    def summary(self) -> dict[str, Any] | None:
        """The ``govukErrorSummary`` parameters (None: nothing to show)."""
        if not self.errors:
            return None
        return {
            "titleText": "There is a problem",
            "errorList": [{"text": text, "href": f"#{self.field_id(name)}"} for name, text in self.errors.items()],
        }


def outcome_errors(outcome: EditOutcome) -> FormErrors:
    return FormErrors(outcome.errors, conflict=outcome.conflict)
