"""Builder views: the admins' users page (invite, change roles, deactivate).

An admin sees the staff of the departments they administer, and nobody else: a member of
other departments only is a 404, like a service of another department. The rules that keep a
department manageable (nobody removes their own admin role or deactivates themselves, the
last active admin stays one) live in runtime/staff.py, so the command line can share them.

Set-up links are shown once, in the response to the POST that made them: never in a redirect,
a flash message or the session cookie (which is signed, not encrypted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, request, url_for

from builder.web.editing import FormErrors
from builder.web.navigation import PREFIX
from runtime import staff as core
from runtime.data import departments as department_data
from runtime.limits import MAX_FIELD
from runtime.models import Department, StaffUser
from runtime.services import accounts
from runtime.web.common import db, render_page, settings
from runtime.web.staff import current_user, requires, user_department_ids, workplaces

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50


def _form(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD]


def _me() -> StaffUser:
    user = current_user()
    assert user is not None and user.id is not None
    return user


def _administered() -> list[Department]:
    """The departments the signed-in member is an admin of, by name."""
    return department_data.departments(session=db(), ids=user_department_ids(core.MANAGE_USERS))


def department_of_user(user_id: int, **_: Any) -> int | None:
    """For ``requires``: the department a request about this staff member concerns.

    One the signed-in member administers, if any; else one where they have another role (a
    403); else None (a 404: people outside your departments are invisible).
    """
    theirs = sorted(core.roles_by_department(db(), user_id))
    for wanted in (set(user_department_ids(core.MANAGE_USERS)), set(user_department_ids())):
        for department_id in theirs:
            if department_id in wanted:
                return department_id
    return None


def _summary(user_id: int) -> core.UserSummary:
    found = core.list_users(session=db(), user_ids=[user_id])
    if not found:
        abort(404)
    return found[0]


def _status(summary: core.UserSummary) -> tuple[str, str]:
    """(words, tag classes) for a staff member's state."""
    if not summary.active:
        return "Deactivated", "govuk-tag--grey"
    if summary.locked_until is not None:
        return f"Locked until {summary.locked_until:%H:%M} UTC on {summary.locked_until:%-d %B}", "govuk-tag--red"
    if not summary.has_password and not summary.sso:
        if summary.setup_link_pending:
            return "Set-up link not used yet", "govuk-tag--blue"
        return "Set-up link expired", "govuk-tag--yellow"
    return "Active", "govuk-tag--green"


def _two_factor(summary: core.UserSummary) -> str:
    if summary.has_totp:
        return "Set up"
    if summary.sso and not summary.has_password:
        return "Through single sign-on"
    return "Not set up"


def _roles_text(summary: core.UserSummary, departments: list[Department]) -> list[str]:
    """'Highways: Designer, Admin' for each of these departments the member has a role in."""
    lines = []
    for department in departments:
        roles = summary.department_roles.get(department.id or 0, ())
        if roles:
            labels = ", ".join(label for role, label in core.ROLE_LABELS.items() if role in roles)
            lines.append(f"{department.name}: {labels}")
    return lines


def _setup_url(token: str, user: StaffUser) -> str:
    """The set-up link: on the configured site address when there is one (not the request's Host
    header), in the face where the person works (the back office for a caseworker: choosing the
    password there leads to its sign-in, and on to their cases)."""
    assert user.id is not None
    places = workplaces(frozenset().union(*core.roles_by_department(db(), user.id).values()))
    face = places[0] if places else PREFIX
    base = settings().base_url
    if base:
        return settings().url(f"{face}/set-up/{token}")
    if face == PREFIX:
        return url_for("staff.set_up", token=token, _external=True)
    return request.host_url.rstrip("/") + f"{face}/set-up/{token}"


def _link_page(user: StaffUser, token: str, *, title: str) -> Any:
    response, status = render_page(
        "builder/admin/setup_link.html",
        title=title,
        person=user,
        link=_setup_url(token, user),
        days=core.SETUP_LINK_DAYS,
    )
    response.headers["Cache-Control"] = "no-store"
    return response, status


# -- the list -------------------------------------------------------------------------------------


@bp.get("/users")
@requires(core.MANAGE_USERS)
def list_users() -> Any:
    departments = _administered()
    ids = [d.id for d in departments if d.id is not None]
    total = core.count_users(session=db(), department_ids=ids)
    pages = max(1, -(-total // PER_PAGE))
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), pages)
    summaries = core.list_users(session=db(), department_ids=ids, offset=(number - 1) * PER_PAGE, limit=PER_PAGE)
    rows = [
        {
            "summary": s,
            "status": _status(s),
            "two_factor": _two_factor(s),
            "roles": _roles_text(s, departments),
        }
        for s in summaries
    ]
    pagination = None
    if pages > 1:
        pagination = {
            "items": [
                {"number": n, "href": url_for("admin.list_users", page=n), "current": n == number}
                for n in range(1, pages + 1)
            ],
            "previous": {"href": url_for("admin.list_users", page=number - 1)} if number > 1 else None,
            "next": {"href": url_for("admin.list_users", page=number + 1)} if number < pages else None,
        }
    return render_page(
        "builder/admin/list.html",
        title="Users",
        departments=departments,
        rows=rows,
        total=total,
        page_number=number,
        pages=pages,
        pagination=pagination,
        notices=get_flashed_messages(),
    )


# -- inviting -------------------------------------------------------------------------------------


@dataclass
class Invitation:
    email: str = ""
    name: str = ""
    department: str = ""
    role: str = ""


@bp.route("/users/invite", methods=["GET", "POST"])
@requires(core.MANAGE_USERS)
def invite_user() -> Any:
    """Make an account without a password, and show its one-time set-up link once."""
    session = db()
    departments = _administered()
    entered = Invitation(department=str(departments[0].id) if len(departments) == 1 else "")
    errors: dict[str, str] = {}
    existing: dict[str, Any] | None = None
    if request.method == "POST":
        entered = Invitation(**{name: _form(name).strip() for name in Invitation.__dataclass_fields__})
        department = next((d for d in departments if str(d.id) == entered.department), None)
        errors = _check_invitation(entered, department)
        found = core.find_user(session=session, email=entered.email) if "email" not in errors else None
        if found is not None and department is not None and "role" not in errors:
            assert found.id is not None and department.id is not None
            theirs = core.roles_by_department(session, found.id).get(department.id, frozenset())
            if request.form.get("add_existing") == "yes" and entered.role not in theirs:
                try:
                    accounts.add_role(
                        session=session,
                        actor=_me().id,
                        user_id=found.id,
                        department_id=department.id,
                        role=entered.role,
                    )
                except core.StaffError as error:
                    errors = {"email": error.message}
                else:
                    flash(f"{found.email} is now {core.ROLE_LABELS[entered.role].lower()} in {department.name}")
                    return redirect(url_for("admin.show_user", user_id=found.id), 303)
            errors.pop("name", None)  # their name is already known
            existing = {"user": found, "department": department, "roles": theirs, "role": entered.role}
            if theirs:
                errors["email"] = f"{found.email} already has an account with a role in {department.name}"
            else:
                errors["email"] = f"{found.email} already has an account"
        elif found is not None:
            errors["email"] = f"{found.email} already has an account"
        if not errors:
            assert department is not None and department.id is not None
            try:
                created = accounts.invite(
                    session=session,
                    actor=_me().id,
                    email=entered.email,
                    name=entered.name,
                    department_id=department.id,
                    role=entered.role,
                )
            except core.StaffError as error:
                errors = {error.field: error.message}
            else:
                assert created.setup_token is not None
                return _link_page(created.user, created.setup_token, title="Account created")
    return render_page(
        "builder/admin/invite.html",
        400 if errors else 200,
        title="Invite a member of staff",
        entered=entered,
        errors=FormErrors(errors),
        departments=departments,
        existing=existing,
        role_labels=core.ROLE_LABELS,
    )


def _check_invitation(entered: Invitation, department: Department | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, check in (("email", core.check_email), ("name", core.check_name)):
        try:
            check(getattr(entered, name))
        except core.StaffError as error:
            errors[name] = error.message
    if department is None:
        errors["department"] = "Select the department they will work in"
    if entered.role not in core.ROLES:
        errors["role"] = "Select their role"
    return errors


# -- one member of staff -------------------------------------------------------------------------


def _user_page(user_id: int, status: int = 200, errors: dict[str, str] | None = None, **extra: Any) -> Any:
    summary = _summary(user_id)
    departments = _administered()
    me = _me()
    theirs = set(summary.department_roles)
    shown = [d for d in departments if d.id in theirs]
    others = len(theirs - {d.id for d in departments})
    context: dict[str, Any] = {
        "title": summary.name,
        "summary": summary,
        "state": _status(summary),
        "two_factor": _two_factor(summary),
        "departments": shown,
        "addable": [d for d in departments if d.id not in theirs],
        "others": others,
        "is_me": summary.id == me.id,
        "whole_account": core.administers_all_departments_of(session=db(), admin_id=me.id or 0, user_id=user_id),
        "role_labels": core.ROLE_LABELS,
        "errors": FormErrors(errors),
        "notices": get_flashed_messages(),
        "checked": {d.id: set(summary.department_roles.get(d.id or 0, ())) for d in shown},
    }
    context.update(extra)
    return render_page("builder/admin/user.html", status, **context)


@bp.get("/users/<int:user_id>")
@requires(core.MANAGE_USERS, department=department_of_user)
def show_user(user_id: int) -> Any:
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/roles")
@requires(core.MANAGE_USERS, department=department_of_user)
def change_roles(user_id: int) -> Any:
    """New roles in each department the admin administers and the person works in (no roles: they leave it)."""
    session = db()
    summary = _summary(user_id)
    shown = [d for d in _administered() if d.id in summary.department_roles]
    wanted: dict[int, set[str]] = {}
    for department in shown:
        assert department.id is not None
        posted = set(request.form.getlist(f"roles-{department.id}")[:10])
        if not posted <= set(core.ROLES):
            return _user_page(user_id, 400, {f"roles-{department.id}": "Select roles from the list"})
        wanted[department.id] = posted
    changed = [d for d in shown if wanted[d.id or 0] != set(summary.department_roles.get(d.id or 0, ()))]
    if not changed:
        flash(f"No roles changed for {summary.name}")
        return redirect(url_for("admin.show_user", user_id=user_id), 303)
    try:
        accounts.change_roles(
            session=session, actor=_me().id, user_id=user_id, roles={d.id or 0: wanted[d.id or 0] for d in changed}
        )
    except accounts.RolesRefused as error:
        field = f"roles-{error.department_id}" if error.field == "roles" else error.field
        return _user_page(user_id, 400, {field: error.message}, checked=wanted)
    if not core.list_users(session=session, user_ids=[user_id], department_ids=user_department_ids(core.MANAGE_USERS)):
        flash(f"{summary.name} no longer has a role in your departments")
        return redirect(url_for("admin.list_users"), 303)
    flash(f"Roles changed for {summary.name}")
    return redirect(url_for("admin.show_user", user_id=user_id), 303)


def _whole_account(user_id: int) -> None:
    """Actions on the account itself: only for an admin of every department the person works in."""
    if not core.administers_all_departments_of(session=db(), admin_id=_me().id or 0, user_id=user_id):
        abort(403)


def _confirmed(
    user_id: int,
    *,
    action: str,
    title: str,
    text: str,
    button: str,
    warning: bool,
    act: Any,
    done: str,
) -> Any:
    """A GET asks (a confirmation page, no JavaScript needed); the POST does it, then back to the user's page."""
    summary = _summary(user_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            result = act(summary)
        except core.StaffError as error:
            errors = {"confirm": error.message}
        else:
            if result is not None:
                return result
            flash(done.format(name=summary.name))
            return redirect(url_for("admin.show_user", user_id=user_id), 303)
    return render_page(
        "builder/admin/confirm.html",
        400 if errors else 200,
        title=title.format(name=summary.name),
        text=text.format(name=summary.name, email=summary.email),
        button=button,
        warning=warning,
        summary=summary,
        action=url_for(action, user_id=user_id),
        errors=FormErrors(errors),
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@requires(core.MANAGE_USERS, department=department_of_user)
def deactivate_user(user_id: int) -> Any:
    _whole_account(user_id)
    return _confirmed(
        user_id,
        action="admin.deactivate_user",
        title="Deactivate {name}’s account?",
        text="They will be signed out and will not be able to sign in until an admin reactivates the account. "
        "Their drafts and the history of what they did are kept.",
        button="Deactivate account",
        warning=True,
        act=lambda s: accounts.deactivate(session=db(), actor=_me().id, user_id=s.id),
        done="{name}’s account is deactivated",
    )


@bp.route("/users/<int:user_id>/reactivate", methods=["GET", "POST"])
@requires(core.MANAGE_USERS, department=department_of_user)
def reactivate_user(user_id: int) -> Any:
    _whole_account(user_id)
    return _confirmed(
        user_id,
        action="admin.reactivate_user",
        title="Reactivate {name}’s account?",
        text="They will be able to sign in again, with the roles they have now.",
        button="Reactivate account",
        warning=False,
        act=lambda s: accounts.reactivate(session=db(), actor=_me().id, user_id=s.id),
        done="{name}’s account is active again",
    )


@bp.route("/users/<int:user_id>/reset-two-factor", methods=["GET", "POST"])
@requires(core.MANAGE_USERS, department=department_of_user)
def reset_two_factor(user_id: int) -> Any:
    _whole_account(user_id)
    return _confirmed(
        user_id,
        action="admin.reset_two_factor",
        title="Reset {name}’s two-factor authentication?",
        text="Do this when they have lost the phone with their authenticator app. Check it is really them first. "
        "They will set up an authenticator app again when they next sign in, if your organisation requires one.",
        button="Reset two-factor authentication",
        warning=True,
        act=lambda s: accounts.reset_second_factor(session=db(), actor=_me().id, user_id=s.id),
        done="Two-factor authentication reset for {name}",
    )


@bp.route("/users/<int:user_id>/unlink-sso", methods=["GET", "POST"])
@requires(core.MANAGE_USERS, department=department_of_user)
def unlink_sso(user_id: int) -> Any:
    _whole_account(user_id)
    return _confirmed(
        user_id,
        action="admin.unlink_sso",
        title="Unlink {name}’s single sign-on account?",
        text="Do this when their organisation account was recreated or the app registration changed, so that "
        "signing in says the account is linked to another identity. They will be signed out; the next time "
        "they sign in with their organisation’s account, the account with the email {email} is linked again.",
        button="Unlink single sign-on",
        warning=True,
        act=lambda s: accounts.unlink_single_sign_on(session=db(), actor=_me().id, user_id=s.id),
        done="Single sign-on unlinked for {name}",
    )


@bp.route("/users/<int:user_id>/sign-out-everywhere", methods=["GET", "POST"])
@requires(core.MANAGE_USERS, department=department_of_user)
def sign_out_everywhere(user_id: int) -> Any:
    _whole_account(user_id)
    return _confirmed(
        user_id,
        action="admin.sign_out_everywhere",
        title="Sign {name} out everywhere?",
        text="Every browser where they are signed in, in the builder and the back office, is signed out at once. "
        "Do this when a computer or phone they used is lost, or someone else may be using their account.",
        button="Sign out everywhere",
        warning=True,
        act=_end_sessions,
        done="{name} is signed out everywhere",
    )


def _end_sessions(summary: core.UserSummary) -> None:
    # as with deactivating: not yourself from here (the sign-out page has the button)
    accounts.sign_out_everywhere(session=db(), actor=_me().id, user_id=summary.id)


@bp.route("/users/<int:user_id>/set-up-link", methods=["GET", "POST"])
@requires(core.MANAGE_USERS, department=department_of_user)
def new_setup_link(user_id: int) -> Any:
    _whole_account(user_id)

    def issue(summary: core.UserSummary) -> Any:
        user, token = accounts.new_setup_link(session=db(), actor=_me().id, user_id=summary.id)
        return _link_page(user, token, title="New set-up link")

    return _confirmed(
        user_id,
        action="admin.new_setup_link",
        title="Make a new set-up link for {name}?",
        text="The link lets whoever has it choose a new password for {email}: send it only to them. "
        "Any earlier link stops working. Their current password keeps working until they use the new link.",
        button="Make a new set-up link",
        warning=True,
        act=issue,
        done="",
    )


@bp.post("/users/<int:user_id>/unlock")
@requires(core.MANAGE_USERS, department=department_of_user)
def unlock_user(user_id: int) -> Any:
    summary = _summary(user_id)
    accounts.unlock(session=db(), actor=_me().id, user_id=user_id)
    flash(f"{summary.name}’s account is unlocked")
    return redirect(url_for("admin.show_user", user_id=user_id), 303)
