"""Builder views: the service list, creating a service, its task list and the service-wide forms.

The forms (details, start page, declaration, confirmation, privacy and contact, reference
prefix, identity) share one template and one view function, driven by the ``FORMS`` table:
each names its task, its fields, how to read them from the definition and which operation
(builder/operations.py) saves them through ``builder.web.editing.apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, get_flashed_messages, redirect, request, url_for

from builder import drafting
from builder import operations as ops
from builder.conditions import EditError
from builder.web import editing
from builder.web.editing import COMPLETED, IN_PROGRESS, NOT_STARTED, Editing, FormErrors
from builder.web.views.publish import live_address, missing_details, unfinished_tasks
from runtime import staff as core
from runtime import versions
from runtime.data import departments as department_data
from runtime.data import drafts, published
from runtime.definition import DefinitionError, read_file
from runtime.limits import MAX_FIELD
from runtime.models import Department, Service
from runtime.retention import Retention
from runtime.retention import words as retention_words
from runtime.services import publishing
from runtime.web.common import db, render_page, settings
from runtime.web.staff import can, current_user, department_roles, login_required, requires, user_department_ids
from runtime.widgets import WIDGETS

bp = Blueprint("services", __name__)


def _form(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD]


# -- the service list ---------------------------------------------------------------------------

STATUS_TAGS = {
    published.ServiceStatus.DRAFT: ("Draft", "govuk-tag--grey"),
    published.ServiceStatus.LIVE: ("Live", "govuk-tag--green"),
    published.ServiceStatus.CHANGED: ("Live with unpublished changes", "govuk-tag--yellow"),
    published.ServiceStatus.ARCHIVED: ("Archived", "govuk-tag--red"),
}


@bp.get("/")
@login_required
def list_services() -> Any:
    session = db()
    departments = department_data.departments(session=session, ids=user_department_ids(core.VIEW_SERVICES))
    summaries = published.department_services(session=session, department_ids=[d.id for d in departments if d.id])
    groups = []
    for department in departments:
        rows = [
            [
                {"html": _link(url_for("services.task_list", service_id=s.service_id), s.title)},
                {"html": _tag(*STATUS_TAGS[s.status])},
                {"text": f"{_when(s.last_change_at)} by {s.last_change_by or 'IT (from the definition file)'}"},
            ]
            for s in summaries
            if s.department_id == department.id
        ]
        roles = department_roles(department.id)
        groups.append(
            {
                "name": department.name,
                "rows": rows,
                "roles": ", ".join(label for role, label in core.ROLE_LABELS.items() if role in roles),
            }
        )
    return render_page(
        "builder/services/list.html",
        title="Your departments",
        groups=groups,
        can_create=bool(user_department_ids(core.EDIT_DRAFTS)),
        notices=get_flashed_messages(),
    )


def _link(href: str, text: str) -> Any:
    from markupsafe import Markup

    return Markup('<a class="govuk-link" href="{}">{}</a>').format(href, text)


def _tag(text: str, classes: str) -> Any:
    from markupsafe import Markup

    return Markup('<strong class="govuk-tag {}">{}</strong>').format(classes, text)


def _when(moment: Any) -> str:
    return f"{moment:%-d %B %Y} at {moment:%H:%M}"


# -- creating a service -------------------------------------------------------------------------


def _templates() -> dict[str, dict[str, Any]]:
    """The shipped definitions in the definitions folder, by id, that can start a new service."""
    folder: Path = settings().definitions_dir
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            doc = read_file(path)
        except DefinitionError:
            continue  # a broken file is IT's to fix; it is simply not offered
        if isinstance(doc.get("id"), str) and isinstance(doc.get("title"), str):
            found[doc["id"]] = doc
    return found


def _copyable() -> dict[str, Service]:
    """Live services in the staff member's departments, which they may copy."""
    ids = set(user_department_ids(core.VIEW_SERVICES))
    return {s.id: s for s in published.live_services(session=db()) if s.department_id in ids}


@dataclass
class NewService:
    title: str = ""
    id: str = ""
    reference_prefix: str = ""
    department: str = ""
    start: str = "blank"
    template: str = ""
    copy: str = ""


@bp.route("/services/new", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS)
def new_service() -> Any:
    session = db()
    departments = department_data.departments(session=session, ids=user_department_ids(core.EDIT_DRAFTS))
    templates = _templates()
    copyable = _copyable()
    entered = NewService(department=str(departments[0].id) if len(departments) == 1 else "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        entered = NewService(**{name: _form(name).strip() for name in NewService.__dataclass_fields__})
        try:
            department = _chosen(departments, entered.department)
            doc = _new_doc(entered, department, templates, copyable)
            user = current_user()
            assert user is not None and user.id is not None and department.id is not None
            drafting.create_service(session=session, actor=user.id, doc=doc, department_id=department.id)
        except EditError as error:
            errors = {error.field: error.message}
        except drafts.DraftError:
            errors = {"id": "A service with this ID already exists: enter a different ID"}
        else:
            flash(f"Service ‘{doc['title']}’ created")
            return redirect(url_for("services.task_list", service_id=doc["id"]), 303)
    return render_page(
        "builder/services/new.html",
        400 if errors else 200,
        title="Create a service",
        entered=entered,
        errors=FormErrors(errors),
        departments=departments,
        templates=sorted(templates.values(), key=lambda d: str(d["title"]).casefold()),
        copyable=sorted(copyable.values(), key=lambda s: s.title.casefold()),
    )


def _chosen(departments: list[Department], value: str) -> Department:
    for department in departments:
        if str(department.id) == value:
            return department
    raise EditError("department", "Select the department that will run the service")


def _new_doc(
    entered: NewService, department: Department, templates: dict[str, dict[str, Any]], copyable: dict[str, Service]
) -> dict[str, Any]:
    """The new service's definition, from blank, a shipped template or a live service."""
    if not entered.title:
        raise EditError("title", "Enter the name of the service")
    service_id = entered.id or department_data.department_slug(entered.title)
    if service_id and not service_id[0].isalpha():
        service_id = f"service-{service_id}"
    if entered.id == "" and not editing.valid_service_id(service_id):
        raise EditError("id", "Enter a service ID, like apply-for-a-parking-permit")
    if db().get(Service, service_id) is not None or drafts.get_draft(session=db(), service_id=service_id):
        raise EditError("id", f"A service with the ID ‘{service_id}’ already exists: enter a different ID")
    if entered.start == "blank":
        return ops.new_blank_service(
            id=service_id, title=entered.title, reference_prefix=entered.reference_prefix, department=department.name
        )
    if entered.start == "template":
        source = templates.get(entered.template)
        if source is None:
            raise EditError("template", "Select a service to start from")
    elif entered.start == "copy":
        service = copyable.get(entered.copy)
        live = versions.definition(session=db(), service_id=service.id) if service is not None else None
        if live is None:
            raise EditError("copy", "Select a live service to copy")
        source = live.doc
    else:
        raise EditError("start", "Select how to start the service")
    doc = ops.copy_service(source, id=service_id, title=entered.title)
    doc = ops.set_details(
        doc, title=entered.title, description=str(doc.get("description") or entered.title), department=department.name
    )
    return ops.set_reference_prefix(doc, reference_prefix=entered.reference_prefix)


# -- the task list ------------------------------------------------------------------------------

# (task key, title, hint) in the order GOV.UK Forms lists them.
TASKS: list[tuple[str, str, str]] = [
    ("details", "Service name and description", ""),
    ("pages", "Pages and questions", "Add and edit the pages and the questions on them"),
    ("start_page", "Start page", ""),
    ("declaration", "Check your answers declaration", ""),
    ("confirmation", "Confirmation and what happens next", ""),
    ("privacy_and_contact", "Privacy and contact details", ""),
    ("reference", "Reference prefix", ""),
    ("identity", "Which answers identify the citizen", ""),
    ("retention", "How long personal data is kept", ""),
    ("workflow", "Approval steps", "How staff decide each application"),
    ("preview", "Preview and try the service", ""),
    ("publish", "Publish", ""),
]
STATUS_CLASSES = {NOT_STARTED: "govuk-tag--blue", IN_PROGRESS: "govuk-tag--light-blue", COMPLETED: ""}


def _path(endpoint: str, fallback: str, service_id: str) -> str:
    """A link to another area's page: url_for when its view exists, else the path the design names."""
    if endpoint in current_app.view_functions:
        return url_for(endpoint, service_id=service_id)
    return f"{request.script_root}/services/{service_id}/{fallback}"


def _try_it(service_id: str) -> str:
    """The "Preview and try the service" task: the whole-service preview, which leads on to try it."""
    return url_for("pages.preview_service", service_id=service_id)


@bp.get("/services/<service_id>/")
@requires(core.VIEW_SERVICES, department=editing.department_of)
def task_list(service_id: str) -> Any:
    service = editing.service_for(service_id, core.VIEW_SERVICES)
    may_edit = can(core.EDIT_DRAFTS, service.department_id)
    may_publish = can(core.PUBLISH_OWN, service.department_id) or can(core.PUBLISH_OTHERS, service.department_id)
    may_move = bool(_move_targets(service.department_id))
    unfinished = unfinished_tasks(service.doc)  # "Completed" only where the publish checklist agrees
    items = []
    statuses = {key: _task_status(service, key, unfinished) for key, _, _ in TASKS}
    for key, title, hint in TASKS:
        status = statuses[key]
        href: str | None = None
        if key == "pages":
            href = _path("pages.list_pages", "pages", service_id)
        elif key == "preview":
            href = _try_it(service_id) if may_edit else None
        elif key == "workflow":
            href = url_for("workflow.overview", service_id=service_id) if may_edit else None
        elif key == "publish":
            href = _path("publish.publish_page", "publish", service_id) if may_publish else None
        elif may_edit:
            href = url_for(f"services.edit_{key}", service_id=service_id)
        item: dict[str, Any] = {
            "title": {"text": title},
            "href": href,
            "status": {"tag": {"text": status.capitalize(), "classes": STATUS_CLASSES[status]}}
            if status != COMPLETED
            else {"text": "Completed"},
        }
        if key in unfinished and status != NOT_STARTED:  # say what publishing still needs
            hint = " ".join(missing_details(service.doc)) if key == "privacy_and_contact" else ""
            hint = hint or "This needs changing before you can publish. The publish page says what to fix."
        if hint:
            item["hint"] = {"text": hint}
        items.append(item)
    done = sum(1 for status in statuses.values() if status == COMPLETED)
    # A newer version went live (from git, or a colleague) since the draft started: say so here,
    # where the designer starts, not only on the publish page. (The database's live version only:
    # the git base branch is read, with a fetch, on the publish page.)
    live = versions.definition(session=db(), service_id=service_id) if service.draft is not None else None
    newer = (
        live.version
        if live is not None
        and service.draft is not None
        and drafts.behind(session=db(), draft=service.draft, upstream=live.doc)
        else None
    )
    return render_page(
        "builder/services/task_list.html",
        newer_version=newer,
        publish_href=_path("publish.publish_page", "publish", service_id) if may_publish else None,
        title=str(service.doc.get("title") or service_id),
        service=service,
        items=items,
        done=done,
        total=len(TASKS),
        may_edit=may_edit,
        may_move=may_move,
        notices=get_flashed_messages(),
        problems=service.problems if service.draft is not None else [],
        live_address=live_address(service_id),
        is_live=service.base_version is not None,
    )


# -- moving a service to another department -----------------------------------------------------


def _move_targets(current: int) -> list[Department]:
    """The departments the signed-in staff member may move a service of ``current`` to (none: no link)."""
    if not can(core.MOVE_SERVICES, current):
        return []
    ids = [d for d in user_department_ids(core.MOVE_SERVICES) if d != current]
    return department_data.departments(session=db(), ids=ids) if ids else []


@bp.route("/services/<service_id>/move", methods=["GET", "POST"])
@requires(core.MOVE_SERVICES, department=editing.department_of)
def move_service(service_id: str) -> Any:
    """Move a service to another department (its draft now, the live service when it is published).

    The staff member needs an admin or designer role in both departments; the check is
    ``drafts.move_draft``'s, so no other path can move a service without it.
    """
    service = editing.service_for(service_id, core.MOVE_SERVICES)
    targets = _move_targets(service.department_id)
    session = db()
    current = session.get(Department, service.department_id)
    errors = FormErrors()
    chosen = ""
    if request.method == "POST":
        chosen = _form("department").strip()
        wanted = int(chosen) if chosen.isascii() and chosen.isdigit() and len(chosen) <= 9 else None
        user = current_user()
        assert user is not None and user.id is not None
        try:
            publishing.move_service(
                session=session,
                actor=user.id,
                service_id=service_id,
                department_id=wanted,
                expected_revision=editing.posted_revision(),
            )
        except drafts.DepartmentError as refused:
            errors = FormErrors({"department": refused.problem.message})
        except drafts.DraftError:  # a colleague changed the draft since the form was shown
            errors = FormErrors(conflict=True)
            service = editing.service_for(service_id, core.MOVE_SERVICES)
        else:
            target = next((d.name for d in targets if str(d.id) == chosen), "the other department")
            flash(f"Service moved to {target}. It moves on the live site when the change is published.")
            return redirect(url_for("services.task_list", service_id=service_id), 303)
    return render_page(
        "builder/services/move.html",
        400 if errors.errors else 409 if errors.conflict else 200,
        title="Move to another department",
        service=service,
        current=current,
        targets=targets,
        chosen=chosen,
        errors=errors,
    )


def _task_status(service: Editing, key: str, unfinished: set[str] | frozenset[str] = frozenset()) -> str:
    if key in unfinished and service.status_of(key) == COMPLETED:
        return IN_PROGRESS  # marked done, but publishing would refuse it: not "Completed" (issue 17)
    if key == "preview":
        if service.draft is not None and service.draft.preview_visited_at is not None:
            return COMPLETED
        return NOT_STARTED if service.draft is not None or service.base_version is None else COMPLETED
    if key == "publish":
        return COMPLETED if service.draft is None and service.base_version is not None else NOT_STARTED
    return service.status_of(key)


# -- the service-wide forms ---------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """One field of a task's form: a text input, a textarea (paragraphs split on blank lines) or a select."""

    name: str
    label: str
    kind: str = "input"  # input, textarea, select
    hint: str = ""
    classes: str = ""
    items: tuple[tuple[str, str], ...] = ()  # select: (value, text)

    @property
    def id(self) -> str:
        return FormErrors.field_id(self.name)


@dataclass(frozen=True)
class TaskForm:
    """A service-wide task's form: what it shows and which operation saves it."""

    task: str
    title: str
    fields: Callable[[dict[str, Any]], list[FormField]]
    read: Callable[[dict[str, Any]], dict[str, str]]  # the definition's current values, as the form shows them
    save: Callable[[dict[str, str]], tuple[Callable[..., dict[str, Any]], dict[str, Any]]]  # (operation, kwargs)
    lede: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _lines(value: Any) -> str:
    return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


def _paragraphs(value: Any) -> str:
    return "\n\n".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


PARAGRAPHS_HINT = "Leave a blank line between paragraphs."


def _identity_fields(doc: dict[str, Any]) -> list[FormField]:
    choices: list[tuple[str, str]] = [("", "Not asked")]
    for name, question in doc.get("questions", {}).items():
        choices.append((name, str(question.get("short_label") or question.get("label") or name)))
        widget = WIDGETS.get(str(question.get("widget", "")))
        for part in widget.parts if widget else ():
            choices.append((f"{name}.{part}", f"{question.get('short_label') or name}: {part.replace('_', ' ')}"))
    return [
        FormField(
            name=f"identity.{kind}",
            label=kind.replace("_", " ").capitalize().replace("Nhs", "NHS").replace("Ni ", "NI "),
            kind="select",
            items=tuple(choices),
        )
        for kind in ops.IDENTITY_KINDS
    ]


FORMS: dict[str, TaskForm] = {
    "details": TaskForm(
        task="details",
        title="Service name and description",
        fields=lambda doc: [
            FormField("title", "Name of the service", hint="Start with a verb, like ‘Apply for a parking permit’"),
            FormField("description", "Description", kind="textarea", hint="One sentence saying what it is for."),
            FormField(
                "live",
                "Open to citizens",
                kind="select",
                hint="Closing a service (archiving it) takes it off the home page once you publish; "
                "answers already sent are kept.",
                items=(("yes", "Open: citizens can use it once it is published"), ("no", "Closed (archived)")),
            ),
        ],
        read=lambda doc: {
            "title": str(doc.get("title", "")),
            "description": str(doc.get("description", "")),
            "live": "yes" if doc.get("live", True) else "no",
        },
        save=lambda f: (
            ops.set_details,
            {"title": f["title"], "description": f["description"], "live": f.get("live", "yes") != "no"},
        ),
    ),
    "start_page": TaskForm(
        task="start_page",
        title="Start page",
        fields=lambda doc: [
            FormField("body", "What the service is for", kind="textarea", hint=PARAGRAPHS_HINT),
            FormField(
                "you_will_need",
                "What the citizen will need (optional)",
                kind="textarea",
                hint="One thing on each line.",
            ),
            FormField(
                "button",
                "Start button text (optional)",
                hint="Leave empty for ‘Start now’.",
                classes="govuk-input--width-20",
            ),
        ],
        read=lambda doc: {
            "body": _paragraphs(doc.get("start", {}).get("body")),
            "you_will_need": _lines(doc.get("start", {}).get("you_will_need")),
            "button": str(doc.get("start", {}).get("button", "")),
        },
        save=lambda f: (
            ops.set_start_page,
            {
                "body": f["body"],
                # One item a line; the operation splits paragraphs on blank lines.
                "you_will_need": [line for line in f["you_will_need"].splitlines() if line.strip()],
                "button": f["button"],
            },
        ),
    ),
    "declaration": TaskForm(
        task="declaration",
        title="Check your answers declaration",
        lede="What the citizen agrees to before sending the form, on the check your answers page.",
        fields=lambda doc: [
            FormField("declaration", "Declaration (optional)", kind="textarea", hint=PARAGRAPHS_HINT),
            FormField(
                "title", "Page title (optional)", hint="Leave empty for ‘Check your answers before sending your form’."
            ),
            FormField(
                "button",
                "Send button text (optional)",
                hint="Leave empty for ‘Accept and send’.",
                classes="govuk-input--width-20",
            ),
        ],
        read=lambda doc: {
            "declaration": _paragraphs(doc.get("check_answers", {}).get("declaration")),
            "title": str(doc.get("check_answers", {}).get("title", "")),
            "button": str(doc.get("check_answers", {}).get("button", "")),
        },
        save=lambda f: (
            ops.set_declaration,
            {"declaration": f["declaration"], "title": f["title"], "button": f["button"]},
        ),
    ),
    "confirmation": TaskForm(
        task="confirmation",
        title="Confirmation and what happens next",
        fields=lambda doc: [
            FormField("title", "Confirmation page title", hint="For example, ‘Application sent’."),
            FormField("next_steps", "What happens next", kind="textarea", hint=PARAGRAPHS_HINT),
        ],
        read=lambda doc: {
            "title": str(doc.get("confirmation", {}).get("title", "")),
            "next_steps": _paragraphs(doc.get("confirmation", {}).get("next_steps")),
        },
        save=lambda f: (ops.set_confirmation, {"title": f["title"], "next_steps": f["next_steps"]}),
    ),
    "privacy_and_contact": TaskForm(
        task="privacy_and_contact",
        title="Privacy and contact details",
        lede="Citizens see these on the start page and the confirmation page. Publishing needs them.",
        fields=lambda doc: [
            FormField("privacy_url", "Link to the privacy notice", hint="Starts with https://"),
            FormField(
                "privacy_summary",
                "Summary of how you use the information (optional)",
                kind="textarea",
                hint=PARAGRAPHS_HINT,
            ),
            FormField("email", "Contact email address (optional)", classes="govuk-input--width-30"),
            FormField("phone", "Contact phone number (optional)", classes="govuk-input--width-20"),
            FormField("hours", "Opening hours (optional)", hint="For example, ‘Monday to Friday, 9am to 5pm’."),
            FormField(
                "address", "Postal address (optional)", kind="textarea", hint="One line of the address on each line."
            ),
        ],
        read=lambda doc: {
            "privacy_url": str(doc.get("privacy", {}).get("url", "")),
            "privacy_summary": _paragraphs(doc.get("privacy", {}).get("summary")),
            "email": str(doc.get("contact", {}).get("email", "")),
            "phone": str(doc.get("contact", {}).get("phone", "")),
            "hours": str(doc.get("contact", {}).get("hours", "")),
            "address": _lines(doc.get("contact", {}).get("address")),
        },
        save=lambda f: (ops.set_privacy_and_contact, dict(f)),
    ),
    "reference": TaskForm(
        task="reference",
        title="Reference prefix",
        lede="Each form sent gets a reference that starts with these letters, like PRK-7H3D-9K2M.",
        fields=lambda doc: [
            FormField("reference_prefix", "Reference prefix", hint="2 to 5 letters", classes="govuk-input--width-5")
        ],
        read=lambda doc: {"reference_prefix": str(doc.get("reference_prefix", ""))},
        save=lambda f: (ops.set_reference_prefix, {"reference_prefix": f["reference_prefix"]}),
    ),
    "identity": TaskForm(
        task="identity",
        title="Which answers identify the citizen",
        lede="These answers link the citizen's forms together, across services.",
        fields=_identity_fields,
        read=lambda doc: {
            f"identity.{kind}": str(doc.get("identity", {}).get(kind, "")) for kind in ops.IDENTITY_KINDS
        },
        save=lambda f: (
            ops.set_identity,
            {"identity": {kind: f.get(f"identity.{kind}") or None for kind in ops.IDENTITY_KINDS}},
        ),
    ),
    "retention": TaskForm(
        task="retention",
        title="How long personal data is kept",
        lede="After this time the applicant's answers, details, the name on the case, staff comments and "
        "messages are erased automatically, every night. The statistics (dates, states) are kept. "
        "Cases that are still open, or under a legal hold, are never erased.",
        fields=lambda doc: [
            FormField(
                "amount",
                "Keep applicants' personal data for",
                hint="A whole number, for example 6. Check your organisation's retention schedule.",
                classes="govuk-input--width-4",
            ),
            FormField("unit", "Years or months", kind="select", items=(("years", "Years"), ("months", "Months"))),
            FormField(
                "after",
                "Counted from",
                kind="select",
                items=(
                    ("case-closed", "After the case is closed"),
                    ("submitted", "After the form was sent"),
                    ("", "Do not erase automatically: keep it until someone asks for it to be erased"),
                ),
            ),
        ],
        read=lambda doc: _retention_values(doc.get("retention")),
        save=lambda f: (ops.set_retention, {"amount": f["amount"], "unit": f["unit"], "after": f["after"]}),
        extra={"summary": retention_words},
    ),
}


def _retention_values(value: Any) -> dict[str, str]:
    period = Retention.of(value)
    if period is None:
        return {"amount": "", "unit": "years", "after": ""}
    if period.months % 12 == 0:
        return {"amount": str(period.months // 12), "unit": "years", "after": period.after}
    return {"amount": str(period.months), "unit": "months", "after": period.after}


def _edit_view(task: str) -> Callable[[str], Any]:
    spec = FORMS[task]

    def view(service_id: str) -> Any:
        service = editing.service_for(service_id, core.EDIT_DRAFTS)
        fields = spec.fields(service.doc)
        values = spec.read(service.doc)
        completed = "yes" if service.status_of(task) == COMPLETED and service.draft is not None else ""
        errors = FormErrors()
        entered: dict[str, str] = {}
        if request.method == "POST":
            entered = {f.name: _form(f.name) for f in fields}
            completed = _form("completed")
            operation, kwargs = spec.save(entered)
            outcome = editing.apply(
                service, operation, task=task, task_state=COMPLETED if completed == "yes" else IN_PROGRESS, **kwargs
            )
            if outcome.ok:
                flash(f"{spec.title} saved")
                return redirect(url_for("services.task_list", service_id=service_id), 303)
            errors = editing.outcome_errors(outcome)
            known = {f.name for f in fields} | {"completed"}
            # An error about the form as a whole (identity: "at least one") goes next to its first field.
            errors.errors = {(k if k in known else fields[0].name): v for k, v in errors.errors.items()}
            service = outcome.editing
            if outcome.conflict:
                fields = spec.fields(service.doc)
                values = spec.read(service.doc)  # the colleague's version, to check before saving again
            else:
                values = entered  # everything the designer typed stays in the form
        return render_page(
            "builder/services/edit.html",
            400 if errors.errors else 409 if errors.conflict else 200,
            title=spec.title,
            spec=spec,
            service=service,
            fields=fields,
            values=values,
            entered=entered if errors.conflict else {},
            completed=completed,
            errors=errors,
        )

    view.__name__ = f"edit_{task}"
    view.__doc__ = f"The {spec.title.lower()} form."
    return view


URLS = {
    "details": "details",
    "start_page": "start-page",
    "declaration": "declaration",
    "confirmation": "confirmation",
    "privacy_and_contact": "privacy-and-contact",
    "reference": "reference",
    "identity": "identity",
    "retention": "retention",
}
for _task, _url in URLS.items():
    bp.add_url_rule(
        f"/services/<service_id>/{_url}",
        endpoint=f"edit_{_task}",
        view_func=requires(core.EDIT_DRAFTS, department=editing.department_of)(_edit_view(_task)),
        methods=["GET", "POST"],
    )
