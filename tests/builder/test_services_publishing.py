"""The publishing use cases (runtime/services/publishing.py) and the builder's draft use cases
(builder/drafting.py) called directly, without Flask: what they store, the file they record,
and that a refusal or a failure at any step leaves the database as it was."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from builder import drafting
from builder.publishing import PublishingError, publish_file
from runtime import db as dbmod
from runtime import staff as core
from runtime.data import departments, drafts, published
from runtime.definition import read_file
from runtime.models import Service, ServiceDraft, ServiceVersion, StaffUser
from runtime.services import publishing, releasing
from runtime.settings import PROJECT_ROOT
from tests.builder.test_publishing import git, isolated_git, make_repo  # noqa: F401 - isolated_git is a fixture
from tests.conftest import STAFF_PASSWORD

SERVICE = "missed-bin-collection"
DEPARTMENT = "Waste and Recycling"
SHIPPED = PROJECT_ROOT / "form_definitions" / f"{SERVICE}.json"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = dbmod.make_engine(database_url)
    yield made
    made.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with dbmod.session(engine) as s:
        yield s


def _person(engine: Engine, email: str, roles: list[tuple[str, str]]) -> StaffUser:
    """A staff account with these (department name, role) pairs (no Flask: the builder's
    ``staff`` fixture signs in through a web page)."""
    with dbmod.session(engine) as s:
        ids = [departments.department_for_name(session=s, name=name).id for name, _ in roles]
        assert all(i is not None for i in ids)
        user = core.create_user(
            session=s, email=email, name="Sam Designer", department_id=ids[0], role=roles[0][1], password=STAFF_PASSWORD
        ).user
        assert user.id is not None
        for department_id, (_, role) in zip(ids[1:], roles[1:], strict=True):
            core.set_roles(session=s, user_id=user.id, department_id=department_id, roles={role})  # type: ignore[arg-type]
        s.commit()
        return user


@pytest.fixture
def designer(engine: Engine) -> StaffUser:
    return _person(engine, "sam@example.gov.uk", [(DEPARTMENT, "admin")])


def _committed(engine: Engine) -> tuple[list[int], ServiceDraft | None]:
    """The service's published versions and its draft, as a second connection sees them."""
    with dbmod.session(engine) as s:
        versions = sorted(s.exec(select(ServiceVersion.version).where(ServiceVersion.service_id == SERVICE)))
        return versions, s.get(ServiceDraft, SERVICE)


def _draft(
    session: Session, user: StaffUser, title: str = "Report a missed bin"
) -> tuple[ServiceDraft, dict[str, Any]]:
    """A saved draft of version 2 with a new title (made through the builder's use case)."""
    service = session.get(Service, SERVICE)
    assert service is not None and service.department_id is not None and user.id is not None
    doc = read_file(SHIPPED)
    doc["title"] = title
    made = drafting.save_draft(
        session=session,
        actor=user.id,
        draft=None,
        doc=doc,
        department_id=service.department_id,
        base_version=1,
        expected_revision=0,
    )
    published = copy.deepcopy(made.definition)
    published["version"] = 2
    return made, published


def _record(folder: Path, doc: dict[str, Any], mode: str = "file") -> Any:
    return lambda: publish_file(
        folder=folder, doc=doc, mode=mode, author_name="Sam Designer", author_email="sam@example.gov.uk", message=["x"]
    )  # type: ignore[arg-type]


def test_publishing_a_draft_stores_the_version_records_the_file_and_drops_the_draft(
    engine: Engine, session: Session, designer: StaffUser, tmp_path: Path
) -> None:
    draft, doc = _draft(session, designer)
    assert designer.id is not None
    outcome = publishing.publish_draft(
        session=session,
        actor=designer.id,
        service_id=SERVICE,
        expected_revision=draft.revision,
        doc=doc,
        summary=["Changed the title"],
        department_id=draft.department_id,
        for_review=False,
        record=_record(tmp_path, doc),
    )
    assert outcome.live
    versions, left = _committed(engine)
    assert versions == [1, 2] and left is None
    assert read_file(tmp_path / f"{SERVICE}.json")["title"] == "Report a missed bin"
    with dbmod.session(engine) as s:
        row = s.exec(
            select(ServiceVersion).where(ServiceVersion.service_id == SERVICE, ServiceVersion.version == 2)
        ).one()
    assert (row.published_by, row.change_summary) == (designer.id, ["Changed the title"])


def test_a_file_that_cannot_be_recorded_leaves_the_database_as_it_was(
    engine: Engine, session: Session, designer: StaffUser, tmp_path: Path
) -> None:
    draft, doc = _draft(session, designer)
    assert designer.id is not None
    with pytest.raises(PublishingError, match="Unknown publishing mode"):
        publishing.publish_draft(
            session=session,
            actor=designer.id,
            service_id=SERVICE,
            expected_revision=draft.revision,
            doc=doc,
            summary=["Changed the title"],
            department_id=draft.department_id,
            for_review=False,
            record=_record(tmp_path, doc, mode="carrier-pigeon"),
        )
    # The next use case on the same session commits only its own write: nothing was left pending.
    drafting.mark_previewed(session=session, actor=designer.id, draft=draft)
    versions, left = _committed(engine)
    assert versions == [1] and left is not None and left.definition["title"] == "Report a missed bin"
    with dbmod.session(engine) as s:
        service = s.get(Service, SERVICE)
        assert service is not None and service.current_version == 1


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.update(title=""),
        lambda d: d.update(version="2; DROP TABLE service_version"),
        lambda d: d.update(department="Another Department That Does Not Exist"),
        lambda d: d.update(pages="<script>alert(1)</script>" * 1000),
        lambda d: d.clear(),
    ],
)
def test_a_refused_definition_is_never_recorded(
    engine: Engine, session: Session, designer: StaffUser, tmp_path: Path, spoil: Any
) -> None:
    draft, doc = _draft(session, designer)
    spoil(doc)
    assert designer.id is not None
    recorded: list[bool] = []
    with pytest.raises(published.PublishError) as refused:
        publishing.publish_draft(
            session=session,
            actor=designer.id,
            service_id=SERVICE,
            expected_revision=draft.revision,
            doc=doc,
            summary=[],
            department_id=draft.department_id,
            for_review=False,
            record=lambda: recorded.append(True),  # type: ignore[arg-type, func-returns-value]
        )
    assert refused.value.problems and all(p.message for p in refused.value.problems)
    assert recorded == [] and not (tmp_path / f"{SERVICE}.json").exists()
    drafting.mark_previewed(session=session, actor=designer.id, draft=draft)
    versions, left = _committed(engine)
    assert versions == [1] and left is not None


def test_publishing_for_review_commits_a_branch_and_the_draft_remembers_it(
    engine: Engine, session: Session, designer: StaffUser, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "forms")
    draft, doc = _draft(session, designer)
    assert designer.id is not None
    outcome = publishing.publish_draft(
        session=session,
        actor=designer.id,
        service_id=SERVICE,
        expected_revision=draft.revision,
        doc=doc,
        summary=["Changed the title"],
        department_id=draft.department_id,
        for_review=True,
        record=_record(repo, doc, mode="review"),
    )
    assert not outcome.live and outcome.branch == f"service/{SERVICE}-v2"
    versions, left = _committed(engine)
    assert versions == [1]  # live only after IT merges and runs civicforms load
    assert left is not None and left.review_branch == f"service/{SERVICE}-v2"
    assert "Report a missed bin" in git(repo, "show", f"service/{SERVICE}-v2:{SERVICE}.json")


def test_rolling_back_publishes_old_content_as_a_new_version(
    engine: Engine, session: Session, designer: StaffUser, tmp_path: Path
) -> None:
    draft, doc = _draft(session, designer)
    assert designer.id is not None
    publishing.publish_draft(
        session=session,
        actor=designer.id,
        service_id=SERVICE,
        expected_revision=draft.revision,
        doc=doc,
        summary=["Changed the title"],
        department_id=draft.department_id,
        for_review=False,
        record=_record(tmp_path, doc),
    )
    old = read_file(SHIPPED)
    old["version"] = 3
    publishing.roll_back(
        session=session,
        actor=designer.id,
        doc=old,
        summary=["Rolled back to version 1"],
        department_id=draft.department_id,
        for_review=False,
        record=_record(tmp_path, old),
    )
    versions, _ = _committed(engine)
    with dbmod.session(engine) as s:
        service = s.get(Service, SERVICE)
    assert versions == [1, 2, 3] and service is not None and service.title == old["title"]


@pytest.mark.parametrize("department", [None, "1", "1; DROP TABLE department", 10**12, 2**31, -1, 0, True, 3.5])
def test_moving_to_no_department_is_refused_with_a_field(
    engine: Engine, session: Session, designer: StaffUser, department: Any
) -> None:
    assert designer.id is not None
    with pytest.raises(drafts.DepartmentError) as refused:
        publishing.move_service(
            session=session, actor=designer.id, service_id=SERVICE, department_id=department, expected_revision=0
        )
    assert refused.value.problem.path == "department"
    assert _committed(engine) == ([1], None)  # no draft was made for the move


def test_moving_without_the_revision_seen_is_a_conflict_and_changes_nothing(engine: Engine, session: Session) -> None:
    mover = _person(engine, "mo@example.gov.uk", [(DEPARTMENT, "admin"), ("Highways", "admin")])
    assert mover.id is not None
    highways = departments.find_department(session=session, key="Highways")
    assert highways is not None
    with pytest.raises(drafts.EditConflict):
        publishing.move_service(
            session=session, actor=mover.id, service_id=SERVICE, department_id=highways.id, expected_revision=None
        )
    assert _committed(engine) == ([1], None)
    moved = publishing.move_service(
        session=session, actor=mover.id, service_id=SERVICE, department_id=highways.id, expected_revision=0
    )
    _, left = _committed(engine)
    assert left is not None and left.department_id == highways.id == moved.department_id
    assert left.definition["department"] == "Highways"


def test_a_colleagues_save_is_a_conflict_and_the_draft_keeps_theirs(
    engine: Engine, session: Session, designer: StaffUser
) -> None:
    draft, _ = _draft(session, designer, title="Theirs")
    assert designer.id is not None
    mine = copy.deepcopy(draft.definition)
    mine["title"] = "Mine"
    with pytest.raises(drafts.EditConflict):
        drafting.save_draft(
            session=session,
            actor=designer.id,
            draft=draft,
            doc=mine,
            department_id=draft.department_id,
            base_version=1,
            expected_revision=draft.revision - 1,
        )
    _, left = _committed(engine)
    assert left is not None and left.definition["title"] == "Theirs"


def test_a_new_service_id_that_is_taken_is_refused(engine: Engine, session: Session, designer: StaffUser) -> None:
    service = session.get(Service, SERVICE)
    assert service is not None and service.department_id is not None and designer.id is not None
    doc = read_file(SHIPPED)
    with pytest.raises(drafts.DraftError, match="already exists"):  # a live service's id
        drafting.create_service(session=session, actor=designer.id, doc=doc, department_id=service.department_id)
    assert _committed(engine) == ([1], None)
    doc["id"] = "report-a-pothole"
    drafting.create_service(session=session, actor=designer.id, doc=doc, department_id=service.department_id)
    doc["title"] = "Someone else's"
    with pytest.raises(drafts.DraftError):  # a draft's id
        drafting.create_service(session=session, actor=designer.id, doc=doc, department_id=service.department_id)
    with dbmod.session(engine) as s:
        made = s.get(ServiceDraft, "report-a-pothole")
    assert made is not None and made.definition["title"] == "Report a missed bin collection" != doc["title"]


def test_loading_a_folder_with_a_bad_file_commits_nothing_and_reports_each_bad_one(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    """Issue 15: ``load`` is one transaction; one bad file and nothing goes live."""
    shutil.copytree(PROJECT_ROOT / "form_definitions", tmp_path, dirs_exist_ok=True)
    doc = read_file(SHIPPED)
    doc["version"] = 2
    doc["description"] = "Tell us if we did not collect your bin."
    (tmp_path / f"{SERVICE}.json").write_text(json.dumps(doc))
    (tmp_path / "aaa-empty.json").write_text("")
    (tmp_path / "bbb-broken.json").write_text('{"id": "bbb-broken", ')
    (tmp_path / "ccc-other.json").write_text(json.dumps({**doc, "id": "../../etc/passwd"}))
    (tmp_path / "ddd-nowhere.json").write_text(
        json.dumps({**doc, "id": "ddd-nowhere", "department": "Nowhere", "reference_prefix": "DDD"})
    )
    results = releasing.load_folder(session=session, folder=tmp_path)
    outcome = {path.name: result for path, result in results}
    for bad in ("aaa-empty.json", "bbb-broken.json", "ccc-other.json", "ddd-nowhere.json"):
        assert isinstance(outcome[bad], published.PublishError), bad
        assert outcome[bad].problems[0].message  # type: ignore[union-attr]
    assert "must match the file name" in str(outcome["ccc-other.json"])
    assert "there is no department called" in str(outcome["ddd-nowhere.json"])
    assert "the release was refused" in str(outcome[f"{SERVICE}.json"])  # a good file, not loaded
    assert _committed(engine)[0] == [1]
    with dbmod.session(engine) as s:
        assert s.get(Service, "ddd-nowhere") is None
    for bad in ("aaa-empty.json", "bbb-broken.json", "ccc-other.json", "ddd-nowhere.json"):
        (tmp_path / bad).unlink()
    loaded = {p.name: r for p, r in releasing.load_folder(session=session, folder=tmp_path)}
    assert loaded[f"{SERVICE}.json"].outcome == "published"  # type: ignore[union-attr]
    assert _committed(engine)[0] == [1, 2]
    # Loading the same folder again changes nothing.
    again = {p.name: r for p, r in releasing.load_folder(session=session, folder=tmp_path)}
    assert again[f"{SERVICE}.json"].outcome == "unchanged"  # type: ignore[union-attr]
