"""A service changes department only by "Move to another department" (issue 13, finding 3).

The security test: a Waste and Recycling admin changed ``"department"`` in the definition editor
and a Waste reviewer published it; the service moved to Council Tax, and an unknown name made a
new department. Every path is tried here against the stored rows: the definition editor, a
draft made before the fix, publishing directly and for review, the move itself with the roles
it needs, and hostile names.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts, published
from runtime.models import Department, Service, ServiceDraft, ServiceVersion, StaffUser, utcnow
from runtime.settings import Settings
from tests.builder.conftest import StaffMembers
from tests.builder.test_publish import git, isolated_git, make_repo, settings  # noqa: F401 - fixtures
from tests.conftest import page

SERVICE = "missed-bin-collection"
WASTE = "Waste and Recycling"
COUNCIL_TAX = "Council Tax"


def engine(app: Flask) -> Any:
    return app.extensions["civicforms.engine"]


def rows(app: Flask) -> dict[str, Any]:
    """What the database says: departments, the service's department and versions, its draft."""
    with dbmod.session(engine(app)) as s:
        service = s.get(Service, SERVICE)
        draft = s.get(ServiceDraft, SERVICE)
        names = {d.id: d.name for d in s.exec(select(Department))}
        assert service is not None
        return {
            "departments": sorted(names.values()),
            "service": names[service.department_id],
            "versions": sorted(s.exec(select(ServiceVersion.version).where(ServiceVersion.service_id == SERVICE))),
            "draft": None if draft is None else names[draft.department_id],
            "draft_names": None if draft is None else draft.definition.get("department"),
        }


def live_doc(app: Flask) -> dict[str, Any]:
    with dbmod.session(engine(app)) as s:
        service = s.get(Service, SERVICE)
        assert service is not None
        row = s.exec(
            select(ServiceVersion).where(
                ServiceVersion.service_id == SERVICE, ServiceVersion.version == service.current_version
            )
        ).one()
        return copy.deepcopy(row.definition)


def csrf(client: FlaskClient, url: str) -> str:
    field = page(client.get(url)).select_one("input[name=csrf_token]")
    assert field is not None, url
    return str(field["value"])


def revision(client: FlaskClient, url: str) -> str:
    """The revision the page's form carries; the draft's (0: none) when the page shows no form."""
    field = page(client.get(url)).select_one("input[name=revision]")
    if field is not None:
        return str(field["value"])
    app = client.application
    with dbmod.session(engine(app)) as s:
        draft = s.get(ServiceDraft, SERVICE)
        return str(draft.revision if draft is not None else 0)


def post_definition(client: FlaskClient, doc: dict[str, Any] | str) -> Any:
    url = f"/services/{SERVICE}/definition"
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return client.post(
        url, data={"csrf_token": csrf(client, url), "revision": revision(client, url), "definition": text}
    )


def post_move(client: FlaskClient, department_id: int | str, *, token: bool = True) -> Any:
    url = f"/services/{SERVICE}/move"
    data = {"department": str(department_id), "revision": revision(client, url)}
    if token:
        data["csrf_token"] = csrf(client, url)
    return client.post(url, data=data)


def post_publish(client: FlaskClient) -> Any:
    url = f"/services/{SERVICE}/publish"
    return client.post(url, data={"csrf_token": csrf(client, url), "revision": revision(client, url)})


def ready_to_publish(app: Flask, user: StaffUser) -> None:
    """The rest of the publish checklist done: privacy and contact details, and a preview."""
    with dbmod.session(engine(app)) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and user.id is not None
        doc = {
            **draft.definition,
            "privacy": {"url": "https://westbridge.example.gov.uk/privacy"},
            "contact": {"email": "bins@westbridge.example.gov.uk"},
        }
        draft = drafts.save_draft(session=s, draft=draft, doc=doc, expected_revision=draft.revision, user_id=user.id)
        drafts.mark_draft(session=s, draft=draft, preview_visited=True)
        s.commit()


def old_draft(app: Flask, user: StaffUser, department: int, doc: dict[str, Any]) -> None:
    """A draft written straight to its table, as one saved before this fix could be."""
    now = utcnow()
    with dbmod.session(engine(app)) as s:
        s.add(
            ServiceDraft(
                service_id=SERVICE,
                department_id=department,
                definition=doc,
                revision=1,
                base_version=doc["version"],
                task_status={},
                preview_visited_at=now,
                created_by=user.id,
                updated_by=user.id,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()


def reworded(app: Flask, **changes: Any) -> dict[str, Any]:
    doc = live_doc(app)
    doc["title"] = "Report a missed bin collection today"
    # Complete for the publish checklist, so that only the department can stop a publish.
    doc["privacy"] = {"url": "https://westbridge.example.gov.uk/privacy"}
    doc["contact"] = {"email": "bins@westbridge.example.gov.uk"}
    doc.update(changes)
    return doc


# -- the definition editor ------------------------------------------------------------------------


def test_a_waste_admin_cannot_move_the_service_in_the_definition_editor(
    builder_app: Flask, staff: StaffMembers
) -> None:
    waste = staff.department(WASTE)
    admin = staff.sign_in(staff.create(roles=[(waste, core.ADMIN)], name="Ade Admin"))
    before = rows(builder_app)
    assert before["service"] == WASTE and before["draft"] is None

    for name in (COUNCIL_TAX, "Nowhere Department", "council-tax"):
        response = post_definition(admin, reworded(builder_app, department=name))
        assert response.status_code == 400, name
        summary = page(response).select_one(".govuk-error-summary")
        assert summary is not None
        assert f'$.department: must stay "{WASTE}"' in summary.get_text(), summary.get_text()
        assert "Move to another department" in summary.get_text()
        assert rows(builder_app) == before  # nothing saved: no draft, no department made
    assert "Nowhere Department" not in rows(builder_app)["departments"]

    # The same department under another spelling, or no department at all, is fine.
    assert post_definition(admin, reworded(builder_app, department="WASTE and  recycling")).status_code == 303
    after = rows(builder_app)
    assert (after["service"], after["draft"], after["departments"]) == (WASTE, WASTE, before["departments"])


@pytest.mark.parametrize(
    "name",
    ["", "   ", "<script>alert(1)</script>", "x" * 5000, "Council\u00a0Tax", "\u202eCouncil Tax"],
    ids=["empty", "blank", "html", "huge", "nbsp", "bidi"],
)
def test_hostile_department_names_are_refused_and_escaped(builder_app: Flask, staff: StaffMembers, name: str) -> None:
    waste = staff.department(WASTE)
    admin = staff.sign_in(staff.create(roles=[(waste, core.ADMIN)]))
    before = rows(builder_app)
    response = post_definition(admin, reworded(builder_app, department=name))
    assert response.status_code == 400
    summary = page(response).select_one(".govuk-error-summary")
    assert summary is not None and "$.department" in summary.get_text()
    assert "<script>alert" not in response.get_data(as_text=True)
    assert rows(builder_app) == before


# -- publishing -----------------------------------------------------------------------------------


def test_a_waste_reviewer_cannot_publish_a_draft_naming_council_tax(builder_app: Flask, staff: StaffMembers) -> None:
    """The finding's second step, with a draft saved before the fix (the editor refuses it now)."""
    waste = staff.department(WASTE)
    admin = staff.create(roles=[(waste, core.ADMIN)])
    reviewer = staff.sign_in(staff.create(roles=[(waste, core.REVIEWER)], name="Rae Reviewer"))
    for name in (COUNCIL_TAX, "Brand New Department"):
        with dbmod.session(engine(builder_app)) as s:
            drafts.delete_draft(session=s, service_id=SERVICE)
            s.commit()
        old_draft(builder_app, admin, waste, reworded(builder_app, department=name))
        before = rows(builder_app)

        shown = page(reviewer.get(f"/services/{SERVICE}/publish"))
        todo = [item.get_text(" ", strip=True) for item in shown.select(".cf-check--todo")]
        assert any(f'must stay "{WASTE}"' in item for item in todo), todo
        assert shown.select_one("button.cf-publish") is None

        response = post_publish(reviewer)
        assert response.status_code == 400
        assert rows(builder_app) == before  # still in Waste, no new version, no new department
        assert "Brand New Department" not in rows(builder_app)["departments"]

        # And the use case itself, whatever view calls it.
        with dbmod.session(engine(builder_app)) as s, pytest.raises(published.PublishError, match="must stay"):
            published.publish(session=s, doc=reworded(builder_app, department=name, version=99), department_id=waste)


@pytest.mark.parametrize("settings", ["review"], indirect=True)
def test_review_mode_commits_nothing_for_a_draft_naming_another_department(
    builder_app: Flask,
    staff: StaffMembers,
    settings: Settings,  # noqa: F811 - the fixture imported above
) -> None:
    waste = staff.department(WASTE)
    reviewer_user = staff.create(roles=[(waste, core.REVIEWER)])
    old_draft(builder_app, reviewer_user, waste, reworded(builder_app, department=COUNCIL_TAX))
    response = post_publish(staff.sign_in(reviewer_user))
    assert response.status_code == 400
    repo = settings.definitions_dir.parent
    assert git(repo, "branch", "--list", "service/*") == ""  # nothing for IT to merge and load


def test_a_draft_in_another_department_than_its_service_is_not_published_unless_moved(
    builder_app: Flask, staff: StaffMembers
) -> None:
    """A draft whose own department was changed (not by a move) cannot pull the service in."""
    council_tax = staff.department(COUNCIL_TAX)
    reviewer = staff.create(roles=[(council_tax, core.REVIEWER)])
    old_draft(builder_app, reviewer, council_tax, reworded(builder_app, department=COUNCIL_TAX))
    before = rows(builder_app)
    response = post_publish(staff.sign_in(reviewer))
    assert response.status_code == 400
    assert "was not moved there" in page(response).get_text()
    assert rows(builder_app) == before and before["service"] == WASTE


# -- moving ---------------------------------------------------------------------------------------


def test_someone_with_a_role_in_both_departments_moves_the_service(builder_app: Flask, staff: StaffMembers) -> None:
    waste, council_tax = staff.department(WASTE), staff.department(COUNCIL_TAX)
    mover = staff.create(roles=[(waste, core.ADMIN), (council_tax, core.DESIGNER)], name="Mo Mover")
    client = staff.sign_in(mover)
    task_list = page(client.get(f"/services/{SERVICE}/"))
    link = task_list.select_one("a.cf-move-link")
    assert link is not None and link.text.strip() == "Move to another department"
    form = page(client.get(f"/services/{SERVICE}/move"))
    assert [i["value"] for i in form.select("input[name=department]")] == [str(council_tax)]

    response = post_move(client, council_tax)
    assert response.status_code == 303
    moved = rows(builder_app)
    assert (moved["service"], moved["draft"], moved["draft_names"]) == (WASTE, COUNCIL_TAX, COUNCIL_TAX)
    with dbmod.session(engine(builder_app)) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        record = drafts.draft_move(draft)
        assert record is not None and (record.from_id, record.to_id, record.by) == (waste, council_tax, mover.id)

    # The service list shows it under Council Tax now; Waste's reviewers no longer reach the draft.
    groups = {
        str(section.h2.get_text(strip=True)): [a["href"] for a in section.select("a")]
        for section in page(client.get("/")).select("section.cf-department")
        if section.h2 is not None
    }
    link_to_it = f"/builder/services/{SERVICE}/"
    assert link_to_it in groups[COUNCIL_TAX] and link_to_it not in groups[WASTE], groups
    waste_reviewer = staff.sign_in(staff.create(roles=[(waste, core.REVIEWER)]))
    assert waste_reviewer.get(f"/services/{SERVICE}/publish").status_code == 404

    # A Council Tax reviewer publishes it: the service is in Council Tax, and the history says who moved it.
    ready_to_publish(builder_app, mover)
    reviewer = staff.sign_in(staff.create(roles=[(council_tax, core.REVIEWER)], name="Rae Reviewer"))
    summary = [
        li.get_text(strip=True) for li in page(reviewer.get(f"/services/{SERVICE}/publish")).select(".cf-summary li")
    ]
    assert summary[0] == f"Moved from {WASTE} to {COUNCIL_TAX} by Mo Mover", summary
    sent = post_publish(reviewer)
    assert sent.status_code == 303, page(sent).select_one(".govuk-error-summary")
    after = rows(builder_app)
    assert (after["service"], after["draft"], after["departments"]) == (COUNCIL_TAX, None, moved["departments"])
    assert live_doc(builder_app)["department"] == COUNCIL_TAX
    with dbmod.session(engine(builder_app)) as s:
        history = published.service_versions(session=s, service_id=SERVICE)
        assert history[0].change_summary is not None
        assert history[0].change_summary[0] == f"Moved from {WASTE} to {COUNCIL_TAX} by Mo Mover"
        assert history[0].published_by == "Rae Reviewer"


def test_a_role_only_in_the_target_department_cannot_pull_a_service_in(builder_app: Flask, staff: StaffMembers) -> None:
    waste, council_tax = staff.department(WASTE), staff.department(COUNCIL_TAX)
    before = rows(builder_app)

    outsider = staff.create(roles=[(council_tax, core.ADMIN)])
    client = staff.sign_in(outsider)
    assert client.get(f"/services/{SERVICE}/move").status_code == 404  # no role where the service is
    url = f"/services/{SERVICE}/move"
    token = csrf(client, "/")
    assert (
        client.post(url, data={"csrf_token": token, "department": str(council_tax), "revision": "0"}).status_code == 404
    )
    with dbmod.session(engine(builder_app)) as s, pytest.raises(drafts.DepartmentError, match="in both"):
        assert outsider.id is not None
        drafts.move_draft(
            session=s, service_id=SERVICE, department_id=council_tax, user_id=outsider.id, expected_revision=0
        )

    # A Waste reviewer (no role that moves services) gets no link and a 403.
    reviewer = staff.sign_in(staff.create(roles=[(waste, core.REVIEWER), (council_tax, core.ADMIN)]))
    assert page(reviewer.get(f"/services/{SERVICE}/")).select_one("a.cf-move-link") is None
    assert reviewer.get(url).status_code == 403

    # A Waste admin who is only a reviewer in Council Tax: not offered, and refused when sent anyway.
    half = staff.sign_in(staff.create(roles=[(waste, core.ADMIN), (council_tax, core.REVIEWER)]))
    assert page(half.get(f"/services/{SERVICE}/")).select_one("a.cf-move-link") is None
    assert page(half.get(url)).select_one("input[name=department]") is None
    refused = post_move(half, council_tax)
    assert refused.status_code == 400
    assert "admin or designer in both" in page(refused).get_text()
    for bad in ("", "abc", "99999", "1" * 10_000, "<b>1</b>", str(waste)):
        assert post_move(half, bad).status_code == 400, bad[:20]
    assert rows(builder_app) == before


def test_the_move_needs_the_csrf_token_and_the_current_revision(builder_app: Flask, staff: StaffMembers) -> None:
    waste, council_tax = staff.department(WASTE), staff.department(COUNCIL_TAX)
    mover = staff.create(roles=[(waste, core.DESIGNER), (council_tax, core.DESIGNER)])
    client = staff.sign_in(mover)
    before = rows(builder_app)
    assert post_move(client, council_tax, token=False).status_code == 400
    assert rows(builder_app) == before
    url = f"/services/{SERVICE}/move"
    stale = client.post(url, data={"csrf_token": csrf(client, url), "department": str(council_tax), "revision": "7"})
    assert stale.status_code == 409
    assert rows(builder_app) == before


def test_creating_a_service_stays_in_a_department_of_ones_own(builder_app: Flask, staff: StaffMembers) -> None:
    """New services (blank, from a template, or a copy of another department's live service) get the
    department chosen on the form, one where the designer works, never the source's."""
    waste, council_tax = staff.department(WASTE), staff.department(COUNCIL_TAX)
    designer = staff.sign_in(staff.create(roles=[(waste, core.DESIGNER)]))
    url = "/services/new"
    form = {"title": "Report fly-tipping", "reference_prefix": "FLY", "start": "copy", "copy": SERVICE}
    for department in (str(council_tax), "<b>", "9" * 50):
        response = designer.post(url, data={"csrf_token": csrf(designer, url), **form, "department": department})
        assert response.status_code == 400
    with dbmod.session(engine(builder_app)) as s:
        assert s.get(ServiceDraft, "report-fly-tipping") is None
    assert (
        designer.post(url, data={"csrf_token": csrf(designer, url), **form, "department": str(waste)}).status_code
        == 303
    )
    with dbmod.session(engine(builder_app)) as s:
        draft = s.get(ServiceDraft, "report-fly-tipping")
        assert draft is not None and draft.department_id == waste and draft.definition["department"] == WASTE


def test_a_file_written_by_the_builder_names_its_department(tmp_path: Path) -> None:
    """A definition without a department is published with its draft's department written in,
    so that `civicforms load` of the file puts the service where the builder did."""
    from builder.web.views.publish import _name_department

    doc: dict[str, Any] = {"id": "x"}
    _name_department(doc, Department(id=1, slug="waste-and-recycling", name=WASTE))
    assert doc["department"] == WASTE
    general: dict[str, Any] = {"id": "x"}
    _name_department(general, Department(id=2, slug="general", name="General"))
    assert "department" not in general
