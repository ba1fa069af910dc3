"""Builder views: publishing, version history, rollback and the definition file."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from sqlmodel import func, select

from builder import publishing, workflow_words
from builder.conditions import describe_schema
from runtime import cases
from runtime import staff as core
from runtime import versions as published_versions
from runtime.changes import summarise
from runtime.checker import check
from runtime.data import departments, drafts, published
from runtime.definition import MAX_DEPTH, MAX_FILE_BYTES, Definition, dumps
from runtime.merging import MISSING, Conflict, Merged, Side, merge, part_words, same_content
from runtime.models import Department, Service, ServiceDraft, ServiceVersion, StaffUser
from runtime.problems import Problem
from runtime.services import publishing as publishing_use_cases
from runtime.visibility import NotProven, Prover, page_conditions
from runtime.web.common import db, render_page, settings
from runtime.web.staff import can, current_user, require, requires

from ..editing import CONFLICT_MESSAGE, department_of, save, service_for

bp = Blueprint("publish", __name__)


def _live_doc(service_id: str) -> dict[str, Any] | None:
    live = published_versions.definition(session=db(), service_id=service_id)
    return live.doc if live is not None else None


def _user() -> StaffUser:
    user = current_user()
    assert user is not None and user.id is not None  # the decorators let only signed-in staff through
    return user


# -- the checklist ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One line of the publish checklist: what must hold, whether it does, and the problems if not."""

    text: str
    done: bool
    problems: tuple[str, ...] = ()


def unreachable_pages(doc: dict[str, Any]) -> list[str]:
    """Titles of pages no citizen can ever reach: a condition that cannot hold, or after a stop page always asked."""
    titles: list[str] = []
    stopped = False
    conditions = page_conditions(doc)  # shared parts, reasoned about by one prover, within its budget
    prover = Prover()
    for page in doc.get("pages", []):
        if not isinstance(page, dict):
            continue
        page_id = str(page.get("id"))
        if page_id not in conditions:
            continue
        condition = conditions[page_id]
        prover.spend()
        try:
            never = condition is not None and prover.contradicts(condition, condition)
        except (NotProven, RecursionError):
            never = False  # not proven unreachable: say nothing rather than something untrue
        if stopped or never:
            titles.append(str(page.get("title") or page_id))
        elif page.get("stop") and condition is None:
            stopped = True
    return titles


_PAGE_PATH = re.compile(r"\$\.pages\[(\d+)\]")
_QUESTION_PATH = re.compile(r"\$\.(?:questions|schema\.properties)\.([A-Za-z_][A-Za-z0-9_]*)")


def plain_problem(doc: dict[str, Any], problem: Problem) -> str:
    """A checker problem for a designer: the page or question it is about by name, then the message."""
    pages = [p for p in doc.get("pages", []) if isinstance(p, dict)]
    found_questions = doc.get("questions")
    questions: dict[str, Any] = found_questions if isinstance(found_questions, dict) else {}
    page = _PAGE_PATH.match(problem.path)
    if page and int(page[1]) < len(pages):
        found = pages[int(page[1])]
        return f"Page '{found.get('title') or found.get('id')}': {problem.message}"
    if problem.path.startswith("$.workflow"):  # the approval steps by their names, never ids (issue 17)
        return f"Approval steps: {workflow_words.problem_words(doc, problem)}"
    question = _QUESTION_PATH.match(problem.path)
    if question and isinstance(questions.get(question[1]), dict):
        return f"Question '{questions[question[1]].get('label') or question[1]}': {problem.message}"
    return f"{problem.path}: {problem.message}"


def missing_details(doc: dict[str, Any]) -> list[str]:
    """What the checklist's "Privacy and contact details are filled in" still needs (empty: done)."""
    privacy, contact = doc.get("privacy"), doc.get("contact")
    missing = []
    if not (isinstance(privacy, dict) and (privacy.get("url") or privacy.get("summary"))):
        missing.append("Add a privacy notice (a link or a summary) in 'Privacy and contact details'.")
    if not (isinstance(contact, dict) and any(contact.get(k) for k in ("email", "phone", "address"))):
        missing.append("Add an email address, phone number or postal address in 'Privacy and contact details'.")
    return missing


# Which task of the task list a checker problem belongs to, by the part of the file it is in.
_TASK_OF_PATH = (
    ("$.pages", "pages"),
    ("$.questions", "pages"),
    ("$.schema", "pages"),
    ("$.workflow", "workflow"),
    ("$.privacy", "privacy_and_contact"),
    ("$.contact", "privacy_and_contact"),
    ("$.start", "start_page"),
    ("$.declaration", "declaration"),
    ("$.confirmation", "confirmation"),
    ("$.reference_prefix", "reference"),
    ("$.identity", "identity"),
    ("$.retention", "retention"),
    ("$.title", "details"),
    ("$.description", "details"),
)


def unfinished_tasks(doc: dict[str, Any]) -> set[str]:
    """The tasks the publish checklist would still refuse: a task list says "Completed" for none of them.

    The same rules as ``checklist``: the checker's problems (each in the task whose part of the file
    it is in) and the privacy and contact details.
    """
    found = set()
    for problem in check(doc):
        task = next((t for prefix, t in _TASK_OF_PATH if problem.path.startswith(prefix)), None)
        if task is not None:
            found.add(task)
    if missing_details(doc):
        found.add("privacy_and_contact")
    return found


def live_address(service_id: str) -> str:
    """Where citizens find the service: the site's configured address, else the one this request came to."""
    if settings().base_url:
        return settings().url(f"services/{service_id}")
    return request.host_url.rstrip("/") + f"/services/{service_id}"


def checklist(doc: dict[str, Any], draft: ServiceDraft) -> list[Check]:
    problems = check(doc)
    unreachable = unreachable_pages(doc) if not problems else []
    missing = missing_details(doc)
    return [
        Check("The service has no errors", not problems, tuple(plain_problem(doc, p) for p in problems)),
        Check(
            "Every page can be reached",
            not problems and not unreachable,
            ("This is checked once the errors above are fixed.",)
            if problems
            else tuple(f"No answers lead to the page '{title}'." for title in unreachable),
        ),
        Check(
            "You have previewed the service",
            draft.preview_visited_at is not None,
            () if draft.preview_visited_at else ("Preview the service before you publish it.",),
        ),
        Check("Privacy and contact details are filled in", not missing, tuple(missing)),
    ]


def _may_publish(draft: ServiceDraft, user: StaffUser) -> bool:
    """Designers publish drafts they worked on; reviewers publish anyone's."""
    if can(core.PUBLISH_OTHERS, draft.department_id):
        return True
    return can(core.PUBLISH_OWN, draft.department_id) and user.id in (draft.created_by, draft.updated_by)


def _next_version(service_id: str, draft: ServiceDraft | None = None) -> int:
    """One more than the newest version: published, or waiting for review on the draft's branch."""
    latest = db().exec(select(func.max(ServiceVersion.version)).where(ServiceVersion.service_id == service_id)).one()
    waiting = publishing.REVIEW_BRANCH.fullmatch(draft.review_branch or "") if draft is not None else None
    return max(int(latest or 0), int(waiting["version"]) if waiting else 0) + 1


def review_words(draft: ServiceDraft | None) -> str | None:
    """What the task list and publish page say about a version sent to IT (None: nothing waits)."""
    if draft is None or not draft.review_branch:
        return None
    try:
        # Judged against the base branch as fetched from IT's repository, not the server's checkout.
        status = publishing.review_status(settings().definitions_dir, draft.review_branch, git=_git_config())
    except publishing.PublishingError:
        return "Waiting for review"
    if status == "merged":
        match = publishing.REVIEW_BRANCH.fullmatch(draft.review_branch)
        service = db().get(Service, draft.service_id)
        if match and service is not None and service.current_version >= int(match["version"]):
            return "Accepted by IT and live"
        return "Accepted by IT, waiting to be loaded"
    if status == "missing":
        return "Review branch deleted"
    return "Waiting for review"


def _summary(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    return summarise(old, new, describe_condition=describe_schema)


def _recorder(
    doc: dict[str, Any],
    summary: list[str],
    user: StaffUser,
    *,
    review: bool,
    co_authors: list[tuple[str, str]] | None = None,
) -> Any:
    """Writing the definitions folder's file (and its git commit), for the publishing use case.

    The publisher is the commit's author; ``co_authors`` (the other designers whose changes the
    version carries) each get a ``Co-authored-by:`` trailer."""
    config = settings()

    def record() -> publishing.PublishOutcome:
        return publishing.publish_file(
            folder=config.definitions_dir,
            doc=doc,
            mode="review" if review else config.publish_mode,  # type: ignore[arg-type]
            author_name=user.name,
            author_email=user.email,
            message=summary,
            git=_git_config(),
            co_authors=co_authors or [],
        )

    return record


def _git_config() -> publishing.GitConfig | None:
    """The builder's git settings, when the definitions folder is in git or a remote is set."""
    config = settings()
    if not config.git_remote and publishing.repository_of(config.definitions_dir) is None:
        return None
    return publishing.GitConfig.from_settings(config)


def _for_review() -> bool:
    """Review mode: the version goes to a git branch for IT, and the database waits for ``civicforms load``."""
    config = settings()
    return config.publish_mode == "review" and (
        bool(config.git_remote) or publishing.repository_of(config.definitions_dir) is not None
    )


def _name_department(doc: dict[str, Any], department: Department) -> None:
    """Write the department's name into a definition that names none, so that the file puts the
    service where the database does when IT loads it (a file without one means "General")."""
    if "department" not in doc and department.slug != departments.department_slug(departments.GENERAL_DEPARTMENT):
        doc["department"] = department.name


def _moved_words(moved: drafts.DepartmentMove) -> str:
    """The change summary's record of a move to another department: from where, to where, by whom."""
    session = db()
    old, new = session.get(Department, moved.from_id), session.get(Department, moved.to_id)
    mover = session.get(StaffUser, moved.by) if moved.by is not None else None
    return (
        f"Moved from {old.name if old else 'another department'} to {new.name if new else 'another department'}"
        f" by {mover.name if mover else 'a member of staff'}"
    )


# -- publish ------------------------------------------------------------------------------------


def _stranded(service_id: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Open cases in states this version removes, with the states they could move to."""
    workflow = Definition(doc).workflow
    groups = cases.stranded(db(), service_id=service_id, states=workflow.states)
    chosen = request.form if request.method == "POST" else {}
    return [
        {
            "group": group,
            "name": f"move.{group.state}",
            "choices": [{"value": "", "text": "Choose a state"}]
            + [
                {"value": state.id, "text": state.label, "selected": chosen.get(f"move.{group.state}") == state.id}
                for state in workflow.states.values()
            ],
        }
        for group in groups
    ]


def _moves(stranded: list[dict[str, Any]]) -> dict[str, str]:
    """The publisher's choice of a new state for each removed state's open cases."""
    return {
        item["group"].state: str(request.form.get(item["name"], ""))[:60]
        for item in stranded
        if request.form.get(item["name"])
    }


@dataclass(frozen=True)
class Arrived:
    """A newer version than the draft's base: where it came from, what it changed, and the merge."""

    theirs: dict[str, Any]
    version: int | None  # the live version it is (None: the file on the git base branch, not loaded yet)
    source: str  # "Version 3 was published from git by IT"
    changes: list[str]
    merged: Merged


def _upstream(service_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """In review mode, the service's file on the git base branch (IT's truth), with a note when it
    cannot be read; otherwise (None, None)."""
    if not _for_review():
        return None, None
    try:
        git = _git_config()
        return (publishing.read_base(git, service_id) if git is not None else None), None
    except publishing.PublishingError as exc:
        return (
            None,
            f"The builder could not read the service's file in git, so it compared with the live version: {exc}",
        )


def _source(service_id: str, live_version: int | None, from_git: bool) -> str:
    """Where a newer version came from, in words: "Version 3 was published from git by IT"."""
    if from_git:
        return f"A newer version of the file was merged in git (branch {settings().git_base}) and is not live yet"
    row = (
        db()
        .exec(
            select(ServiceVersion).where(
                ServiceVersion.service_id == service_id, ServiceVersion.version == live_version
            )
        )
        .first()
    )
    if row is None or row.published_by is None:
        if row is not None and row.source_commit:
            return f"Version {live_version} was published from git by IT (commit {row.source_commit[:7]})"
        return f"Version {live_version} was loaded from the definitions folder by IT"
    by = db().get(StaffUser, row.published_by)
    return f"Version {live_version} was published by {by.name if by else 'a member of staff'}"


def _arrived(service_id: str, draft: ServiceDraft, live: dict[str, Any] | None) -> tuple[Arrived | None, str | None]:
    """A newer version the draft has not taken in (live, or merged in git), merged with the draft."""
    upstream, note = _upstream(service_id)
    session = db()
    base = drafts.draft_base(session=session, draft=draft)
    chosen: tuple[dict[str, Any], bool] | None = None
    if drafts.behind(session=session, draft=draft, upstream=upstream) and not same_content(upstream, live):
        assert upstream is not None
        chosen = (upstream, True)
    elif drafts.behind(session=session, draft=draft, upstream=live):
        assert live is not None
        chosen = (live, False)
    if chosen is None:
        return None, note
    theirs, from_git = chosen
    if from_git and drafts.replaced_by_sent(draft, live):
        base = live  # git moved on before the version this draft sent was merged: merge from what it replaced
    service = session.get(Service, service_id)
    live_version = service.current_version if service is not None else None
    choices = {key[len("choice.") :]: value for key, value in request.form.items() if key.startswith("choice.")}
    sides: dict[str, Side] = {k: v for k, v in choices.items() if v in ("ours", "theirs")}  # type: ignore[misc]
    merged = merge(base, draft.definition, theirs, choose=sides)
    return (
        Arrived(
            theirs=theirs,
            version=None if from_git else live_version,
            source=_source(service_id, live_version, from_git),
            changes=_summary(base, theirs) if base is not None else [],
            merged=merged,
        ),
        note,
    )


def shown_value(value: Any) -> str:
    """One side of a conflict as a designer reads it: the text, or "(removed)"."""
    if value is MISSING:
        return "(removed)"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return text if len(text) <= 2000 else text[:2000] + " …"


def _conflict_rows(conflicts: list[Conflict]) -> list[dict[str, Any]]:
    chosen = request.form if request.method == "POST" else {}
    return [
        {
            "conflict": conflict,
            "name": f"choice.{conflict.key}",
            "ours": shown_value(conflict.ours),
            "theirs": shown_value(conflict.theirs),
            "chosen": chosen.get(f"choice.{conflict.key}", ""),
        }
        for conflict in conflicts
    ]


def _contributions(
    service_id: str, doc: dict[str, Any], publisher: StaffUser
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Who changed what since the draft's base ("Changes by Ann Other: ..."), and the co-authors
    (everyone but the publisher) the commit credits."""
    session = db()
    by_user: dict[int | None, list[str]] = {}
    for change in drafts.draft_changes(session=session, service_id=service_id):
        listed = by_user.setdefault(change.user_id, [])
        for part in change.parts:
            words = part_words(part, doc)
            if words not in listed:
                listed.append(words)
    rows, co_authors = [], []
    for user_id, parts_words in by_user.items():
        user = session.get(StaffUser, user_id) if user_id is not None else None
        rows.append(
            {"name": user.name if user else "a member of staff", "parts": parts_words, "you": user_id == publisher.id}
        )
        if user is not None and user.id != publisher.id:
            co_authors.append((user.name, user.email))
    return rows, co_authors


def _publish_context(service_id: str, draft: ServiceDraft | None) -> dict[str, Any]:
    user = _user()
    live = _live_doc(service_id)
    context: dict[str, Any] = {"service_id": service_id, "draft": draft, "live": live, "errors": []}
    if draft is None:
        return context
    doc = copy.deepcopy(draft.definition)
    version = _next_version(service_id, draft)
    doc["version"] = version
    department = db().get(Department, draft.department_id)
    assert department is not None  # a foreign key
    _name_department(doc, department)
    checks = checklist(doc, draft)
    moved = drafts.draft_move(draft)
    try:
        published.check_staff_publish(
            session=db(), doc=doc, department_id=draft.department_id, moved_from=moved.from_id if moved else None
        )
    except published.PublishError as refused:  # listed only when it fails: a service normally stays put
        problems = tuple(plain_problem(doc, p) for p in refused.problems)
        checks.append(Check(f"The service stays in {department.name}, or was moved there", False, problems))
    valid = checks[0].done
    arrived, git_note = _arrived(service_id, draft, live)
    if arrived is not None:
        checks.insert(
            0,
            Check(
                "Your draft includes the newest version",
                False,
                ("Update your draft with the newer version (above) before you publish.",),
            ),
        )
    base = drafts.draft_base(session=db(), draft=draft)
    compared = base if base is not None and arrived is None else live
    summary = _summary(compared, doc) if valid else []
    if moved is not None and summary:
        summary.insert(0, _moved_words(moved))
    sent = (draft.task_status or {}).get(drafts.SENT) if draft.review_branch else None
    contributions, co_authors = _contributions(service_id, doc, user)
    unchanged = compared is not None and valid and (not summary or same_content(compared, doc))
    context.update(
        stranded=_stranded(service_id, doc) if valid else [],
        doc=doc,
        version=version,
        checks=checks,
        ready=all(c.done for c in checks),
        summary=summary,
        unchanged=unchanged,
        sent_version=sent.get("version") if isinstance(sent, dict) and unchanged else None,
        may_publish=_may_publish(draft, user),
        review_status=review_words(draft),
        service_title=str(doc.get("title") or service_id),
        arrived=arrived,
        conflicts=_conflict_rows(arrived.merged.conflicts) if arrived is not None else [],
        git_note=git_note,
        contributions=contributions,
        co_authors=co_authors,
    )
    return context


def _render_publish(status: int, context: dict[str, Any]) -> Any:
    return render_page("builder/publish/publish.html", status, title="Publish your changes", **context)


@bp.get("/services/<service_id>/publish")
@requires(core.PUBLISH_OWN, department=department_of)
def publish_page(service_id: str) -> Any:
    # A page read changes nothing: a draft whose sent version IT loaded is closed by
    # ``civicforms load`` itself (runtime.services.releasing.release), in the same transaction.
    draft = service_for(service_id, core.PUBLISH_OWN).draft
    context = _publish_context(service_id, draft)
    context.update(done=request.args.get("done", ""), live_address=live_address(service_id))
    return _render_publish(200, context)


@bp.post("/services/<service_id>/publish/update")
@requires(core.PUBLISH_OWN, department=department_of)
def update_draft(service_id: str) -> Any:
    """Take the newer version into the draft, with the staff member's choice for each conflict."""
    user = _user()
    draft = service_for(service_id, core.PUBLISH_OWN).draft
    if draft is None:
        return redirect(url_for(".publish_page", service_id=service_id), 303)
    context = _publish_context(service_id, draft)
    arrived: Arrived | None = context["arrived"]
    errors: list[str] = []
    if str(draft.revision) != request.form.get("revision", ""):
        errors.append("A colleague changed this service while you were looking at it. Check the changes below.")
    elif arrived is None:
        return redirect(url_for(".publish_page", service_id=service_id, done="updated"), 303)
    else:
        missing = [row for row in context["conflicts"] if row["chosen"] not in ("ours", "theirs")]
        errors.extend(f"Choose which text to keep for {row['conflict'].words}" for row in missing)
    if not errors:
        assert arrived is not None and user.id is not None
        try:
            publishing_use_cases.update_draft(
                session=db(),
                actor=user.id,
                draft=draft,
                expected_revision=draft.revision,
                doc=arrived.merged.doc,
                base_version=arrived.version if arrived.version is not None else draft.base_version,
                base_definition=arrived.theirs,
            )
        except drafts.DraftError:
            errors.append(CONFLICT_MESSAGE)
        else:
            return redirect(url_for(".publish_page", service_id=service_id, done="updated"), 303)
    context.update(errors=errors, done="")
    return _render_publish(400, context)


@bp.post("/services/<service_id>/publish")
@requires(core.PUBLISH_OWN, department=department_of)
def publish(service_id: str) -> Any:
    user = _user()
    draft = service_for(service_id, core.PUBLISH_OWN).draft
    posted = request.form.get("revision", "")
    if draft is None:  # published (or settled) since the page was shown: say so, publish nothing
        context = _publish_context(service_id, None)
        context.update(errors=[publishing_use_cases.what_happened(db(), service_id)], done="")
        return _render_publish(409, context)
    if not _may_publish(draft, user):
        abort(403)
    context = _publish_context(service_id, draft)
    errors: list[str] = []
    if str(draft.revision) != posted:
        errors.append(publishing_use_cases.what_happened(db(), service_id))
    elif context["arrived"] is not None:
        errors.append(
            "A newer version of this service was published since your draft was started. "
            "Update your draft with it before you publish."
        )
    elif not context["ready"]:
        errors.append("The service cannot be published until everything on the checklist is done.")
    elif context["unchanged"]:
        errors.append("There are no changes to publish: the draft is the same as the live version.")
    if not errors:
        doc, summary = context["doc"], context["summary"]
        moved = drafts.draft_move(draft)
        assert user.id is not None
        try:
            review = _for_review()
            upstream, _ = _upstream(service_id)
            outcome = publishing_use_cases.publish_draft(
                session=db(),
                actor=user.id,
                service_id=service_id,
                expected_revision=draft.revision,
                doc=doc,
                summary=summary,
                state_mapping=_moves(context["stranded"]),
                department_id=draft.department_id,
                moved_from=moved.from_id if moved else None,
                for_review=review,
                upstream=upstream,
                record=_recorder(doc, summary, user, review=review, co_authors=context["co_authors"]),
            )
        except publishing_use_cases.AlreadyPublished as exc:
            context = _publish_context(service_id, drafts.get_draft(session=db(), service_id=service_id))
            context.update(errors=[str(exc)], done="")
            return _render_publish(409, context)
        except publishing_use_cases.DraftBehind as exc:
            errors.append(str(exc))
        except (publishing.PublishingError, published.PublishError) as exc:
            errors.append(f"The service was not published: {exc}")
        else:
            done = "live" if outcome.live else "review"
            return redirect(url_for(".publish_page", service_id=service_id, done=done), 303)
    context.update(errors=errors, done="")
    return _render_publish(409 if str(draft.revision) != posted else 400, context)


# -- history and rollback -----------------------------------------------------------------------


@bp.get("/services/<service_id>/history")
@requires(core.SEE_HISTORY, department=department_of)
def history(service_id: str) -> Any:
    versions = published.service_versions(session=db(), service_id=service_id)
    return render_page(
        "builder/publish/history.html",
        title="Version history",
        service_id=service_id,
        versions=versions,
        may_roll_back=can(core.ROLL_BACK, department_of(service_id)),
        done=request.args.get("done", ""),
        errors=[],
    )


def _rollback_plan(service_id: str) -> tuple[Any, dict[str, Any], list[str], Department] | None:
    """The posted version to roll back to: (that version, the new version's document, its summary,
    the department), or None when the form names no version of this service."""
    wanted = request.form.get("version", "")
    valid = wanted.isdigit() and len(wanted) <= 9  # int() of a 10,000-digit string would raise
    old = published_versions.definition(session=db(), service_id=service_id, version=int(wanted)) if valid else None
    if old is None:
        return None
    live = _live_doc(service_id)
    doc = copy.deepcopy(old.doc)
    doc["version"] = _next_version(service_id, drafts.get_draft(session=db(), service_id=service_id))
    # A rollback brings back content, never a department: the service stays where it is.
    service = db().get(Service, service_id)
    department = db().get(Department, service.department_id) if service and service.department_id else None
    if department is None or department.id is None:
        abort(404)
    require(core.ROLL_BACK, department.id)  # where the service is published (a moved draft may be elsewhere)
    doc.pop("department", None)
    _name_department(doc, department)
    summary = [f"Rolled back to version {old.version}", *_summary(live, doc)]
    return old, doc, summary, department


def _history_refused(service_id: str, errors: list[str]) -> Any:
    return render_page(
        "builder/publish/history.html",
        400,
        title="Version history",
        service_id=service_id,
        versions=published.service_versions(session=db(), service_id=service_id),
        may_roll_back=True,
        done="",
        errors=errors,
    )


@bp.post("/services/<service_id>/history")
@requires(core.ROLL_BACK, department=department_of)
def roll_back(service_id: str) -> Any:
    """Ask first: what rolling back to the chosen version would publish, with Confirm and Cancel."""
    plan = _rollback_plan(service_id)
    if plan is None:
        return _history_refused(service_id, ["Choose a version to roll back to"])
    old, doc, summary, _ = plan
    return render_page(
        "builder/publish/roll_back.html",
        title=f"Roll back to version {old.version}?",
        service_id=service_id,
        old_version=old.version,
        new_version=doc["version"],
        summary=summary[1:],
        review=_for_review(),
        has_draft=drafts.get_draft(session=db(), service_id=service_id) is not None,
        errors=[],
    )


@bp.post("/services/<service_id>/history/roll-back")
@requires(core.ROLL_BACK, department=department_of)
def confirm_roll_back(service_id: str) -> Any:
    """Roll back, confirmed: publish the chosen version's content as a new version."""
    user = _user()
    plan = _rollback_plan(service_id)
    if plan is None:
        return _history_refused(service_id, ["Choose a version to roll back to"])
    _, doc, summary, department = plan
    assert user.id is not None and department.id is not None
    try:
        review = _for_review()
        outcome = publishing_use_cases.roll_back(
            session=db(),
            actor=user.id,
            doc=doc,
            summary=summary,
            department_id=department.id,
            for_review=review,
            record=_recorder(doc, summary, user, review=review),
        )
    except (publishing.PublishingError, published.PublishError) as exc:
        return _history_refused(service_id, [f"The service was not rolled back: {exc}"])
    done = "live" if outcome.live else "review"
    return redirect(url_for(".history", service_id=service_id, done=done), 303)


# -- the definition file ------------------------------------------------------------------------


def _parse_definition(text: str, service_id: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The edited JSON as a checked definition, or the problems as ``json-path: message``."""
    if not text.strip():
        return None, [Problem("$", "enter the definition as JSON")]
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        return None, [Problem("$", f"the definition is too large (the limit is {MAX_FILE_BYTES // 1024} KB)")]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [Problem("$", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
    except RecursionError:
        return None, [Problem("$", f"nested more than {MAX_DEPTH} levels deep")]
    if not isinstance(doc, dict):
        return None, [Problem("$", "a definition must be a JSON object")]
    problems = check(doc)
    if not problems and doc.get("id") != service_id:
        problems = [Problem("$.id", f"must stay {service_id!r}: the id of a service cannot change")]
    return (doc if not problems else None), problems


def _definition_page(service_id: str, text: str | None = None, problems: list[Problem] | None = None) -> Any:
    editing = service_for(service_id, core.VIEW_SERVICES)
    return render_page(
        "builder/publish/definition.html",
        400 if problems else 200,
        title="Definition file",
        service_id=service_id,
        canonical=dumps(editing.doc),
        text=dumps(editing.doc) if text is None else text,
        revision_field=editing.revision_field(),
        editable=can(core.EDIT_DEFINITION_FILE, editing.department_id),
        from_draft=editing.draft is not None,
        problems=problems or [],
        saved=request.args.get("saved") == "1",
    )


@bp.get("/services/<service_id>/definition")
@requires(core.VIEW_SERVICES, department=department_of)
def definition(service_id: str) -> Any:
    return _definition_page(service_id)


@bp.post("/services/<service_id>/definition")
@requires(core.EDIT_DEFINITION_FILE, department=department_of)
def save_definition(service_id: str) -> Any:
    editing = service_for(service_id, core.EDIT_DEFINITION_FILE)
    text = request.form.get("definition", "")
    doc, problems = _parse_definition(text, service_id)
    if doc is None:
        return _definition_page(service_id, text, problems)
    outcome = save(editing, doc)
    if outcome.conflict:
        return _definition_page(service_id, text, [Problem("$", CONFLICT_MESSAGE)])
    if outcome.errors:  # refused by the store: the department (a draft moves only by "Move to another department")
        return _definition_page(service_id, text, [Problem(f"$.{k}", v) for k, v in outcome.errors.items()])
    return redirect(url_for(".definition", service_id=service_id, saved="1"), 303)
