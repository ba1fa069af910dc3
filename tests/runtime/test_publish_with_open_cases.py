"""A new version that removes a state open cases are in is refused with the cases named, or
applied with the publisher's mapping, each move in the audit log."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import col, select

from runtime import versions
from runtime.data import published
from runtime.db import session as new_session
from runtime.models import Case, CaseEvent
from tests.conftest import DEFINITIONS, Citizen
from tests.runtime.helpers import walk

SERVICE = "missed-bin-collection"
NEW_STEPS = {
    "initial": "checking",
    "states": {
        "checking": {"label": "Checking", "citizen_text": "We are checking your report"},
        "done": {"label": "Done", "final": True, "citizen_text": "We have sorted it out"},
    },
    "transitions": [
        {"from": "checking", "action": "close", "label": "Close", "to": "done", "roles": ["caseworker"]},
    ],
}


def _version_2() -> dict:  # type: ignore[type-arg]
    doc = json.loads(Path(f"form_definitions/{SERVICE}.json").read_text(encoding="utf-8"))
    changed = copy.deepcopy(doc)
    changed["version"] = doc["version"] + 1
    changed["workflow"] = NEW_STEPS
    return changed


def _send(citizen: Citizen) -> str:
    walk(citizen, SERVICE)
    assert citizen.submit(SERVICE).status_code == 303
    return citizen.client.get(f"/services/{SERVICE}/confirmation").get_data(as_text=True)


def test_removing_a_state_with_open_cases_is_refused_naming_them(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    with new_session(app.extensions["civicforms.engine"]) as s:
        case = s.exec(select(Case)).one()
        with pytest.raises(published.PublishError) as refused:
            published.publish(session=s, doc=_version_2())
        s.rollback()
        message = str(refused.value)
        assert '1 open case is in the state "received"' in message and case.reference in message
        assert versions.definition(session=s, service_id=SERVICE).version == 1  # type: ignore[union-attr]
        assert s.exec(select(Case)).one().state == "received"


def test_a_mapping_moves_the_open_cases_and_logs_each_move(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    with new_session(app.extensions["civicforms.engine"]) as s:
        before = s.exec(select(Case)).one()
        seen = before.lock_version
        with pytest.raises(published.PublishError):  # a mapping to a state the version lacks is no mapping
            published.publish(session=s, doc=_version_2(), state_mapping={"received": "nowhere"})
        s.rollback()
        published.publish(session=s, doc=_version_2(), state_mapping={"received": "checking"})
        s.commit()
        case = s.exec(select(Case)).one()
        assert (case.state, case.lock_version, case.closed_at) == ("checking", seen + 1, None)
        last = s.exec(select(CaseEvent).order_by(col(CaseEvent.id).desc())).first()
        assert last is not None
        assert (last.action, last.from_state, last.to_state) == ("state-moved-at-publish", "received", "checking")


def test_a_version_keeping_the_state_needs_no_mapping(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    kept = _version_2()
    kept["workflow"] = copy.deepcopy(NEW_STEPS)
    kept["workflow"]["states"] = {"received": {"label": "Received"}, **kept["workflow"]["states"]}
    kept["workflow"]["initial"] = "received"
    kept["workflow"]["transitions"].append(
        {"from": "received", "action": "check", "label": "Check", "to": "checking", "roles": ["caseworker"]}
    )
    with new_session(app.extensions["civicforms.engine"]) as s:
        assert published.publish(session=s, doc=kept).outcome == "published"
        s.commit()
        assert s.exec(select(Case)).one().state == "received"


def test_civicforms_load_refuses_then_moves_the_cases_it_is_told_to(
    app: Flask, citizen: Citizen, database_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from runtime.cli import main
    from runtime.definition import dumps

    _send(citizen)
    folder = tmp_path / "form_definitions"
    shutil.copytree(DEFINITIONS, folder)  # load makes live what the folder says: all of it
    (folder / f"{SERVICE}.json").write_text(dumps(_version_2()), encoding="utf-8")
    env = {"CIVICFORMS_ENV": "test", "CIVICFORMS_SECRET_KEY": "w" * 40, "CIVICFORMS_DATABASE_URL": database_url}
    refused = CliRunner().invoke(main, ["load", "--folder", str(folder)], env=env)
    assert refused.exit_code == 1
    assert '$.workflow.states: 1 open case is in the state "received"' in refused.output
    bad = CliRunner().invoke(main, ["load", "--folder", str(folder), "--move-cases", "received=checking"], env=env)
    assert bad.exit_code == 2 and "SERVICE:OLD-STATE=NEW-STATE" in bad.output
    moved = CliRunner().invoke(
        main, ["load", "--folder", str(folder), "--move-cases", f"{SERVICE}:received=checking"], env=env
    )
    assert moved.exit_code == 0, moved.output
    assert f"{SERVICE} version 2 published" in moved.output
    with new_session(app.extensions["civicforms.engine"]) as s:
        assert s.exec(select(Case.state)).one() == "checking"
