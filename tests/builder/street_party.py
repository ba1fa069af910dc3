"""The Highways trial's service, "Apply to hold a street party", with its two ways to approval (issue 17).

A party that keeps the road open is approved by a caseworker; one that closes the road goes to
Highways, then to a manager. Labels are long, as a council writes them, and several actions lead
between the same states: what a diagram's layout has to keep apart.
"""

from __future__ import annotations

import copy
from typing import Any

from builder import operations as ops

CLOSES_ROAD = {"properties": {"need_to_close_the_road": {"const": True}}, "required": ["need_to_close_the_road"]}
KEEPS_ROAD_OPEN = {"properties": {"need_to_close_the_road": {"const": False}}, "required": ["need_to_close_the_road"]}

WORKFLOW: dict[str, Any] = {
    "initial": "received",
    "working_days": True,
    "decide_within": "P10D",
    "states": {
        "received": {"label": "Received", "deadline": "P3D", "escalate_to": "manager"},
        "highways": {
            "label": "Waiting for Highways to check the road closure",
            "citizen_text": "Highways are checking your road closure",
            "deadline": "P5D",
        },
        "manager": {"label": "Waiting for a manager to approve the road closure"},
        "approved": {"label": "Approved", "final": True},
        "refused": {
            "label": "Refused",
            "final": True,
            "appeal": "Write to highways@westbridge.gov.uk within 28 days to ask for a review.",
        },
        "withdrawn": {"label": "Withdrawn by the applicant", "final": True},
    },
    "transitions": [
        {
            "from": "received",
            "action": "approve",
            "label": "Approve the street party",
            "to": "approved",
            "roles": ["caseworker"],
            "guard": KEEPS_ROAD_OPEN,
        },
        {
            "from": "received",
            "action": "send-to-highways",
            "label": "Send to Highways to check the road closure",
            "to": "highways",
            "roles": ["caseworker"],
            "guard": CLOSES_ROAD,
        },
        {
            "from": "received",
            "action": "refuse",
            "label": "Refuse",
            "to": "refused",
            "roles": ["caseworker"],
            "reason": "required",
        },
        {
            "from": "received",
            "action": "withdraw",
            "label": "Record that the applicant withdrew",
            "to": "withdrawn",
            "roles": ["caseworker"],
        },
        {
            "from": "received",
            "action": "request-information",
            "label": "Ask the applicant for more information",
            "roles": ["caseworker"],
            "request_information": True,
        },
        {
            "from": "highways",
            "action": "recommend",
            "label": "Recommend the road closure",
            "to": "manager",
            "roles": ["caseworker"],
        },
        {
            "from": "highways",
            "action": "refuse",
            "label": "Refuse the road closure",
            "to": "refused",
            "roles": ["caseworker"],
            "reason": "required",
        },
        {
            "from": "highways",
            "action": "send-back",
            "label": "Send back to be checked again",
            "to": "received",
            "roles": ["caseworker"],
        },
        {
            "from": "manager",
            "action": "approve",
            "label": "Approve the road closure",
            "to": "approved",
            "roles": ["manager"],
        },
        {
            "from": "manager",
            "action": "refuse",
            "label": "Refuse the road closure",
            "to": "refused",
            "roles": ["manager"],
            "reason": "optional",
        },
        {
            "from": "manager",
            "action": "withdraw",
            "label": "Record that the applicant withdrew",
            "to": "withdrawn",
            "roles": ["manager"],
        },
    ],
}


def street_party() -> dict[str, Any]:
    """The service as the builder writes it: a page asking whether the road is closed, and its steps."""
    doc = ops.new_blank_service(id="street-party", title="Apply to hold a street party", reference_prefix="SP")
    doc = ops.add_page(doc, title="The road")
    doc = ops.add_question(doc, page="the-road", widget="yes-no", label="Do you need to close the road?")
    doc["workflow"] = copy.deepcopy(WORKFLOW)
    return doc
