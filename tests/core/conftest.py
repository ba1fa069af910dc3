"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from runtime import db as dbmod
from runtime.data import departments


@pytest.fixture
def housing(database_url: str) -> int:
    """The sample service's department ("Housing"), made as IT would before loading the sample:
    publishing and `civicforms load` make no department."""
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        made = departments.department_for_name(session=s, name="Housing")
        s.commit()
        assert made.id is not None
        found = made.id
    engine.dispose()
    return found
