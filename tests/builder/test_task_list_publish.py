"""The task list agrees with the publish checklist, and shows where citizens find the service (issue 17, G).

The Highways trial: the shipped council tax service showed "Privacy and contact details" as Completed
on its task list, and publishing then refused for their absence. After publishing, nothing said where
the live service was.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask

from builder.web import PREFIX
from builder.web.views.publish import unfinished_tasks
from runtime.settings import Settings
from tests.builder.conftest import StaffMembers
from tests.builder.street_party import street_party
from tests.builder.test_publish import (
    SERVICE,
    designer,
    live_doc,
    make_draft,
    one,
    post_publish,
    reworded,
    settings,
)
from tests.conftest import page

__all__ = ["settings"]  # the fixture, shared with tests/builder/test_publish.py


def statuses(soup: Any) -> dict[str, str]:
    return {
        li.select_one(".govuk-task-list__name-and-hint a, .govuk-task-list__name-and-hint div").get_text(
            strip=True
        ): li.select_one(".govuk-task-list__status").get_text(strip=True)
        for li in soup.select(".govuk-task-list__item")
    }


def test_unfinished_tasks_follow_the_checklists_rules() -> None:
    doc = street_party()
    assert "privacy_and_contact" in unfinished_tasks(doc)  # a blank service has neither
    doc["privacy"] = {"url": "https://westbridge.gov.uk/privacy"}
    doc["contact"] = {"email": "highways@westbridge.gov.uk"}
    assert "privacy_and_contact" not in unfinished_tasks(doc)
    doc["workflow"]["states"]["orphan"] = {"label": "Nobody gets here"}
    assert "workflow" in unfinished_tasks(doc)


def test_a_live_service_without_privacy_details_is_not_completed_on_its_task_list(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    user = designer(staff)
    doc = reworded(builder_app)
    doc.pop("privacy", None)
    make_draft(builder_app, user, doc)
    # Every task marked done, as after a publish: the task list must still not say Completed for privacy.
    client = staff.sign_in(user)
    soup = page(client.get(f"/services/{SERVICE}/"))
    shown = statuses(soup)
    assert shown["Privacy and contact details"] == "In progress"
    assert shown["Service name and description"] == "Completed"
    hints = " ".join(h.get_text(" ", strip=True) for h in soup.select(".govuk-task-list__hint"))
    assert "Add a privacy notice" in hints
    publish = page(client.get(f"/services/{SERVICE}/publish"))
    assert "Privacy and contact details are filled in" in one(publish, ".cf-check--todo").get_text()
    done = int(one(soup, ".cf-progress").get_text().split("completed ")[1].split(" of")[0])
    assert done == list(shown.values()).count("Completed")


def test_after_publishing_a_link_to_the_live_service(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    user = designer(staff)
    make_draft(builder_app, user, reworded(builder_app))
    client = staff.sign_in(user)
    before = page(client.get(f"/services/{SERVICE}/"))
    address = one(before, ".cf-service-address a")
    assert address["href"] == f"http://localhost/services/{SERVICE}"
    assert "Citizens use this service at" in one(before, ".cf-service-address").get_text()

    response = post_publish(client)
    assert response.status_code == 303
    after = page(client.get(response.headers["Location"].removeprefix(PREFIX)))
    link = one(after, ".govuk-notification-banner .cf-live-link")
    assert link["href"] == f"http://localhost/services/{SERVICE}" and link.get_text() == link["href"]
    assert live_doc(builder_app)["questions"]["lives_in_area"]["label"] == "Is your home in Westbridge?"


def test_the_address_uses_the_configured_site_address(
    builder_app: Flask, staff: StaffMembers, settings: Settings
) -> None:
    current = builder_app.extensions["civicforms.settings"]
    builder_app.extensions["civicforms.settings"] = dataclasses.replace(
        current, base_url="https://forms.westbridge.gov.uk"
    )
    client = staff.sign_in(designer(staff))
    soup = page(client.get(f"/services/{SERVICE}/"))
    assert one(soup, ".cf-service-address a")["href"] == f"https://forms.westbridge.gov.uk/services/{SERVICE}"
