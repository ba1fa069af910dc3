"""The builder's start page: the departments the signed-in staff member works in, and their roles.

The service list (each department's services, drafts and their status) grows here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from runtime import staff as core
from runtime import store
from runtime.web.common import db, render_page
from runtime.web.staff import department_roles, login_required, user_department_ids

bp = Blueprint("services", __name__)


@bp.get("/")
@login_required
def list_services() -> Any:
    departments = store.departments(session=db(), ids=user_department_ids())
    rows = [
        {
            "key": {"text": department.name},
            "value": {"text": ", ".join(label for role, label in core.ROLE_LABELS.items() if role in roles)},
        }
        for department in departments
        for roles in [department_roles(department.id)]
    ]
    return render_page("builder/services/list.html", title="Your departments", rows=rows)
