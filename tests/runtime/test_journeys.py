"""Every shipped service, as a citizen: start to reference number, through the test client."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from runtime.models import Submission
from tests.conftest import SERVICE_IDS, page
from tests.journeys import HAPPY_PATHS


def test_every_shipped_service_has_a_happy_path() -> None:
    assert sorted(HAPPY_PATHS) == SERVICE_IDS


def walk(citizen, service_id: str):  # type: ignore[no-untyped-def]
    response = citizen.start(service_id)
    assert response.status_code == 303
    for page_id, data in HAPPY_PATHS[service_id]:
        assert response.headers["Location"].endswith(f"/{page_id}"), (page_id, response.headers["Location"])
        response = citizen.answer(service_id, page_id, data)
        assert response.status_code == 303, page(response).select_one(".govuk-error-summary")
    assert response.headers["Location"].endswith("/check-answers")
    return response


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_happy_path_to_a_reference_number(citizen, client, db_session, service_id: str) -> None:
    walk(citizen, service_id)
    check = page(client.get(f"/services/{service_id}/check-answers"))
    assert check.select(".govuk-summary-list__row")
    response = citizen.submit(service_id)
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    reference = page(done).select_one(".govuk-panel .cf-reference").get_text(strip=True)
    assert re.fullmatch(r"[A-Z]{2,5}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", reference)
    stored = db_session.exec(select(Submission)).all()
    assert [s.reference for s in stored] == [reference]
    assert stored[0].service_id == service_id
    assert len(stored[0].definition_hash) == 64
