"""Departments, builder drafts (with the concurrent-edit conflict), version history, the
builder's service list and "try it" sessions, through the repositories in runtime/data/."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from runtime import db as dbmod
from runtime import versions
from runtime.data import departments, drafts, published
from runtime.models import Department, FormSession, PreviewSession, Service, ServiceDraft, ServiceVersion, utcnow
from tests.conftest import StaffFactory
from tests.core.sample import sample_doc


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    engine = dbmod.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Any) -> Iterator[Session]:
    with dbmod.session(engine) as s:
        yield s


def queries(session: Session) -> list[str]:
    """Fills with every SQL statement run from now on (to prove there is no query per row)."""
    statements: list[str] = []
    event.listen(session.get_bind().engine, "before_cursor_execute", lambda _c, _k, sql, *_: statements.append(sql))
    return statements


def department_id(session: Session, name: str) -> int:
    found = departments.department_for_name(session=session, name=name)
    assert found.id is not None
    return found.id


@pytest.fixture(autouse=True)
def housing(session: Session) -> int:
    """The sample service's department, made as IT would before loading it (publishing makes none)."""
    made = department_id(session, "Housing")
    session.commit()
    return made


# -- departments ----------------------------------------------------------------------------


def test_loading_definitions_puts_each_service_in_the_department_it_names(session: Session) -> None:
    rows = session.exec(select(Service.id, Department.slug, Department.name).join(Department)).all()
    by_service = {service_id: (slug, name) for service_id, slug, name in rows}
    assert by_service["blue-badge"] == ("blue-badge-team-adult-social-care", "Blue Badge Team, Adult Social Care")
    assert by_service["council-tax-single-person-discount"] == ("council-tax", "Council Tax")
    assert len(by_service) == len(session.exec(select(Service)).all()), "every shipped service has a department"


def test_department_names_match_by_slug_and_no_name_means_general(session: Session) -> None:
    first = departments.department_for_name(session=session, name="Adult Social Care")
    again = departments.department_for_name(session=session, name="  adult   social CARE ")
    assert first.id == again.id and again.name == "Adult Social Care"
    assert departments.department_for_name(session=session, name=None).slug == "general"
    assert departments.department_for_name(session=session, name="  ").name == departments.GENERAL_DEPARTMENT
    assert departments.department_for_name(session=session, name="<script>").slug == "script"
    assert departments.find_department(session=session, key="adult-social-care") is not None
    assert departments.find_department(session=session, key="") is None
    assert departments.find_department(session=session, key="\x00" * 10_000) is None


def test_publishing_without_a_department_puts_the_service_in_general(session: Session) -> None:
    doc = sample_doc()
    del doc["department"]
    department_id(session, departments.GENERAL_DEPARTMENT)
    published.publish(session=session, doc=doc)
    session.commit()
    service = session.get(Service, "pet-licence")
    assert service is not None and service.department_id is not None
    assert session.get(Department, service.department_id).slug == "general"  # type: ignore[union-attr]


def test_a_new_version_naming_another_department_moves_the_service(session: Session) -> None:
    published.publish(session=session, doc=sample_doc())
    tenancy = department_id(session, "Tenancy Services")
    moved = {**sample_doc(), "version": 2, "department": "Tenancy Services"}
    result = published.publish(session=session, doc=moved)  # a file: IT's reviewed folder may move a service
    session.commit()
    service = session.get(Service, "pet-licence")
    assert service is not None
    assert service.department_id == tenancy
    assert (result.moved_from, result.department) == ("Housing", "Tenancy Services")


@pytest.mark.parametrize("name", ["Tenancy Services", "", "   ", "<b>Tenancy</b>", "x" * 2000, "y" * 100_000])
def test_publishing_a_file_never_makes_a_department(session: Session, name: str) -> None:
    before = session.exec(select(Department.id, Department.slug)).all()
    doc = {**sample_doc(), "department": name}
    with pytest.raises(published.PublishError) as refused:
        published.publish(session=session, doc=doc)
    session.rollback()
    [problem, *_] = refused.value.problems
    assert problem.path == "$.department"
    if name.strip() and len(name) <= 2000:  # the checker refuses an empty or oversized name first
        assert "there is no department called" in problem.message and len(problem.message) < 400
        assert "--create-departments" in problem.message
    assert session.exec(select(Department.id, Department.slug)).all() == before
    assert session.get(Service, "pet-licence") is None

    made = published.publish(
        session=session, doc={**sample_doc(), "department": "Tenancy Services"}, create_departments=True
    )
    assert made.created_department and departments.find_department(session=session, key="tenancy-services") is not None


# -- publishing and history -----------------------------------------------------------------------


def test_publish_records_who_and_the_change_summary_and_history_lists_newest_first(
    session: Session, staff: StaffFactory
) -> None:
    dana = staff(name="Dana Designer")
    published.publish(session=session, doc=sample_doc())  # loaded by IT: nobody
    published.publish(
        session=session,
        doc={**sample_doc(), "version": 2, "title": "Apply for a pet licence now"},
        published_by=dana.id,
        change_summary=["Changed the title to 'Apply for a pet licence now'"],
    )
    session.commit()
    statements = queries(session)
    history = published.service_versions(session=session, service_id="pet-licence")
    assert len(statements) == 1
    assert [(v.version, v.published_by, v.change_summary, v.current) for v in history] == [
        (2, "Dana Designer", ["Changed the title to 'Apply for a pet licence now'"], True),
        (1, None, None, False),
    ]
    assert published.service_versions(session=session, service_id="no-such-service") == []


def test_form_sessions_and_submissions_are_pinned_to_a_published_version(session: Session) -> None:
    now = utcnow()
    session.add(
        FormSession(
            id="x" * 64,
            service_id="blue-badge",
            service_version=99,
            answers={},
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(hours=1),
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


# -- drafts ---------------------------------------------------------------------------------------


def new_draft(session: Session, user_id: int | None, doc: dict[str, Any] | None = None) -> ServiceDraft:
    assert user_id is not None
    draft = drafts.create_draft(
        session=session, doc=doc or sample_doc(), department_id=department_id(session, "Housing"), user_id=user_id
    )
    session.commit()
    return draft


def test_create_get_save_and_delete_a_draft(session: Session, staff: StaffFactory) -> None:
    dana, sam = staff(name="Dana"), staff(name="Sam")
    draft = new_draft(session, dana.id)
    assert (draft.revision, draft.created_by, draft.updated_by, draft.base_version) == (1, dana.id, dana.id, None)
    doc = copy.deepcopy(draft.definition)
    doc["title"] = "Apply for a licence to keep a pet"
    saved = drafts.save_draft(
        session=session,
        draft=draft,
        doc=doc,
        expected_revision=1,
        user_id=sam.id or 0,
        task_status={"details": "completed"},
    )
    session.commit()
    again = drafts.get_draft(session=session, service_id="pet-licence")
    assert again is not None and again is saved
    assert (again.revision, again.updated_by, again.definition["title"]) == (2, sam.id, doc["title"])
    assert again.task_status == {"details": "completed"}
    drafts.mark_draft(session=session, draft=again, preview_visited=True, review_branch="service/pet-licence-v1")
    session.commit()
    assert again.revision == 2 and again.preview_visited_at is not None
    drafts.save_preview_session(session=session, user_id=dana.id or 0, service_id="pet-licence", answers={"a": 1})
    assert drafts.delete_draft(session=session, service_id="pet-licence")
    session.commit()
    assert drafts.get_draft(session=session, service_id="pet-licence") is None
    assert session.exec(select(PreviewSession)).first() is None
    assert not drafts.delete_draft(session=session, service_id="pet-licence")


def test_a_colleagues_save_is_never_overwritten(engine: Any, staff: StaffFactory) -> None:
    """Two people open revision 1; the first to save wins, the second gets EditConflict."""
    dana, sam = staff(name="Dana"), staff(name="Sam")
    with dbmod.session(engine) as setup:
        new_draft(setup, dana.id)
    with dbmod.session(engine) as first, dbmod.session(engine) as second:
        mine = drafts.get_draft(session=first, service_id="pet-licence")
        theirs = drafts.get_draft(session=second, service_id="pet-licence")
        assert mine is not None and theirs is not None
        theirs_doc = {**theirs.definition, "title": "Sam's title"}
        drafts.save_draft(session=second, draft=theirs, doc=theirs_doc, expected_revision=1, user_id=sam.id or 0)
        second.commit()
        with pytest.raises(drafts.EditConflict) as caught:
            drafts.save_draft(
                session=first,
                draft=mine,
                doc={**mine.definition, "title": "Dana's title"},
                expected_revision=1,
                user_id=dana.id or 0,
            )
        first.rollback()
        assert caught.value.current is not None
        assert (caught.value.current.revision, caught.value.current.updated_by) == (2, sam.id)
        assert "changed this service while you were editing it" in str(caught.value)
    with dbmod.session(engine) as check:
        stored = drafts.get_draft(session=check, service_id="pet-licence")
        assert stored is not None and stored.definition["title"] == "Sam's title" and stored.revision == 2


def test_saving_a_draft_that_was_published_and_removed_is_a_conflict(session: Session, staff: StaffFactory) -> None:
    dana = staff()
    draft = new_draft(session, dana.id)
    drafts.delete_draft(session=session, service_id="pet-licence")
    session.commit()
    with pytest.raises(drafts.EditConflict) as caught:
        drafts.save_draft(session=session, draft=draft, doc=sample_doc(), expected_revision=1, user_id=dana.id or 0)
    assert caught.value.current is None


def test_draft_keys_keep_their_order(session: Session, staff: StaffFactory) -> None:
    """PostgreSQL's jsonb would sort keys; the draft keeps the designer's (and IT's) order."""
    dana = staff()
    doc = sample_doc()
    doc["schema"]["properties"] = dict(reversed(list(doc["schema"]["properties"].items())))
    draft = new_draft(session, dana.id, doc)
    session.expire_all()
    with dbmod.session(session.get_bind().engine) as other:  # type: ignore[union-attr]
        fresh = drafts.get_draft(session=other, service_id=draft.service_id)
        assert fresh is not None
        assert list(fresh.definition["schema"]["properties"]) == list(doc["schema"]["properties"])
        assert list(fresh.definition) == list(doc)


def test_a_new_service_cannot_take_a_published_id_or_have_two_drafts(session: Session, staff: StaffFactory) -> None:
    dana = staff()
    with pytest.raises(drafts.DraftError, match="already exists"):
        new_draft(session, dana.id, {**sample_doc(), "id": "blue-badge"})
    session.rollback()
    badges = {**sample_doc(), "id": "blue-badge", "department": "Blue Badge Team, Adult Social Care"}
    with pytest.raises(drafts.DepartmentError, match="belongs to its department"):  # not in another department
        drafts.create_draft(
            session=session,
            doc=badges,
            department_id=department_id(session, "Housing"),
            user_id=dana.id or 0,
            base_version=1,
        )
    session.rollback()
    copy_of_live = drafts.create_draft(
        session=session,
        doc=badges,
        department_id=department_id(session, badges["department"]),
        user_id=dana.id or 0,
        base_version=1,
    )
    assert copy_of_live.base_version == 1
    session.commit()
    with pytest.raises(drafts.DraftError, match="already has a draft"):
        drafts.create_draft(
            session=session,
            doc=badges,
            department_id=department_id(session, badges["department"]),
            user_id=dana.id or 0,
            base_version=1,
        )
    with pytest.raises(drafts.DraftError, match="no service id"):
        drafts.create_draft(session=session, doc={}, department_id=1, user_id=dana.id or 0)


# -- the builder's service list -------------------------------------------------------------------


def test_service_list_statuses_last_change_and_who(session: Session, staff: StaffFactory) -> None:
    dana = staff(name="Dana Designer")
    parking = department_id(session, "Parking Services")
    # A live service with a draft in progress.
    live = versions.definition(session=session, service_id="resident-parking-permit")
    assert live is not None
    drafts.create_draft(
        session=session, doc=copy.deepcopy(live.doc), department_id=parking, user_id=dana.id or 0, base_version=1
    )
    # A brand-new service, never published.
    drafts.create_draft(
        session=session,
        doc={**sample_doc(), "id": "skip-permit", "title": "Apply for a skip permit", "department": "Parking Services"},
        department_id=parking,
        user_id=dana.id or 0,
    )
    # An archived service, published by Dana.
    archived = {**sample_doc(), "id": "old-permit", "title": "Old permit", "department": "Parking Services"}
    published.publish(session=session, doc={**archived, "live": False}, published_by=dana.id)
    session.commit()
    statements = queries(session)
    rows = published.department_services(session=session, department_ids=[parking])
    assert len(statements) == 2, statements
    summary = {r.service_id: (r.status, r.last_change_by, r.current_version, r.draft_revision) for r in rows}
    assert summary == {
        "resident-parking-permit": (published.ServiceStatus.CHANGED, "Dana Designer", live.version, 1),
        "skip-permit": (published.ServiceStatus.DRAFT, "Dana Designer", None, 1),
        "old-permit": (published.ServiceStatus.ARCHIVED, "Dana Designer", 1, None),
    }
    assert [r.title for r in rows] == sorted([live.title, "Apply for a skip permit", "Old permit"])
    assert all(r.department_name == "Parking Services" for r in rows)
    assert "blue-badge" not in summary


def test_service_list_of_live_services_loaded_by_it(session: Session) -> None:
    council_tax = department_id(session, "Council Tax")
    rows = published.department_services(session=session, department_ids=[council_tax])
    assert [(r.service_id, r.status, r.last_change_by) for r in rows] == [
        ("council-tax-single-person-discount", published.ServiceStatus.LIVE, None)
    ]
    assert published.department_services(session=session, department_ids=[]) == []


def test_service_list_queries_do_not_grow_with_the_number_of_services(session: Session, staff: StaffFactory) -> None:
    dana = staff()
    housing = department_id(session, "Housing")
    for i in range(30):
        drafts.create_draft(
            session=session, doc={**sample_doc(), "id": f"draft-{i}"}, department_id=housing, user_id=dana.id or 0
        )
        published.publish(session=session, doc={**sample_doc(), "id": f"live-{i}"}, published_by=dana.id)
    session.commit()
    statements = queries(session)
    rows = published.department_services(session=session, department_ids=[housing])
    made = [row for row in rows if row.service_id.startswith(("draft-", "live-"))]  # not the shipped Housing ones
    assert len(made) == 60 and len(statements) == 2


# -- "try it" -------------------------------------------------------------------------------------


def test_preview_sessions_per_staff_member_and_service(session: Session, staff: StaffFactory) -> None:
    dana, sam = staff(), staff()
    assert drafts.get_preview_session(session=session, user_id=dana.id or 0, service_id="blue-badge") is None
    drafts.save_preview_session(session=session, user_id=dana.id or 0, service_id="blue-badge", answers={"a": 1})
    drafts.save_preview_session(session=session, user_id=dana.id or 0, service_id="blue-badge", answers={"a": 2})
    drafts.save_preview_session(session=session, user_id=sam.id or 0, service_id="blue-badge", answers={"a": 3})
    session.commit()
    mine = drafts.get_preview_session(session=session, user_id=dana.id or 0, service_id="blue-badge")
    assert mine is not None and mine.answers == {"a": 2}
    drafts.clear_preview_session(session=session, user_id=dana.id or 0, service_id="blue-badge")
    session.commit()
    assert drafts.get_preview_session(session=session, user_id=dana.id or 0, service_id="blue-badge") is None
    theirs = drafts.get_preview_session(session=session, user_id=sam.id or 0, service_id="blue-badge")
    assert theirs is not None and theirs.answers == {"a": 3}


def test_publish_keeps_loading_files_the_old_way(session: Session) -> None:
    """Every existing caller (civicforms load) still works without the new arguments."""
    result = published.publish(session=session, doc=sample_doc())
    assert result.outcome == "published"
    again = published.publish(session=session, doc=sample_doc())
    assert again.outcome == "unchanged"
    row = session.exec(select(ServiceVersion).where(ServiceVersion.service_id == "pet-licence")).one()
    assert row.published_by is None and row.change_summary is None


# -- issue 15: what a draft is based on, who changed what, claiming it to publish --------------------


def test_a_draft_from_a_live_version_keeps_that_definition_and_each_save_records_its_parts(
    session: Session, staff: StaffFactory
) -> None:
    from runtime.models import DraftChange

    dana, sam = staff(name="Dana"), staff(name="Sam")
    live = sample_doc()
    published.publish(session=session, doc=live)
    session.commit()
    doc = copy.deepcopy(live)
    doc["questions"]["full_name"]["hint"] = "As on your tenancy"
    draft = drafts.create_draft(
        session=session, doc=doc, department_id=department_id(session, "Housing"), user_id=dana.id or 0, base_version=1
    )
    assert draft.base_definition == live
    changed = {**draft.definition, "title": "A new name"}
    drafts.save_draft(session=session, draft=draft, doc=changed, expected_revision=1, user_id=sam.id or 0)
    drafts.save_draft(session=session, draft=draft, doc=changed, expected_revision=2, user_id=sam.id or 0)  # no change
    session.commit()
    rows = drafts.draft_changes(session=session, service_id="pet-licence")
    assert [(r.revision, r.user_id, r.parts) for r in rows] == [
        (1, dana.id, ["question:full_name"]),
        (2, sam.id, ["title"]),
    ]
    assert not drafts.behind(session=session, draft=draft, upstream={**live, "version": 7})
    assert drafts.behind(session=session, draft=draft, upstream={**live, "title": "IT's name", "version": 2})
    drafts.delete_draft(session=session, service_id="pet-licence")
    session.commit()
    assert session.exec(select(DraftChange)).all() == []


def test_claiming_a_draft_succeeds_once_per_revision(engine: Any, staff: StaffFactory) -> None:
    dana = staff(name="Dana")
    with dbmod.session(engine) as setup:
        new_draft(setup, dana.id)
    with dbmod.session(engine) as first:
        claimed = drafts.claim_draft(session=first, service_id="pet-licence", expected_revision=1)
        assert claimed is not None and claimed.revision == 2
        first.commit()
    with dbmod.session(engine) as second:
        assert drafts.claim_draft(session=second, service_id="pet-licence", expected_revision=1) is None
        assert drafts.claim_draft(session=second, service_id="no-such-service", expected_revision=1) is None
