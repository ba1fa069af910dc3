"""The builder's editing operations: each returns a new definition, never changing its input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from builder import operations as ops
from builder.conditions import Clause, Condition
from builder.operations import EditError
from runtime.checker import check
from runtime.definition import dumps
from runtime.visibility import trap_problems


def load(name: str) -> dict[str, Any]:
    return json.loads(Path(f"form_definitions/{name}.json").read_text(encoding="utf-8"))


def valid(doc: dict[str, Any]) -> dict[str, Any]:
    assert check(doc) == []
    assert trap_problems(doc) == []
    return doc


def refused(field: str, message: str, op: Any, *args: Any, **kwargs: Any) -> None:
    """The operation raises EditError for ``field`` with ``message`` in it, and changes nothing."""
    doc = args[0] if args else None
    before = copy.deepcopy(doc)
    with pytest.raises(EditError) as error:
        op(*args, **kwargs)
    assert error.value.field == field
    assert message in error.value.message
    assert doc == before


@pytest.fixture
def partner() -> dict[str, Any]:
    """A blank service with a yes/no page and a page shown only for "Yes"."""
    doc = ops.new_blank_service(id="partner-form", title="Tell us about your household", reference_prefix="hh")
    doc = ops.add_page(doc, title="Partner")
    doc = ops.add_question(doc, page="partner", widget="yes-no", label="Do you have a partner?")
    doc = ops.add_page(doc, title="Partner details")
    doc = ops.add_question(doc, page="partner-details", widget="text", label="What is your partner's name?")
    return ops.set_condition(doc, "partner-details", Condition([Clause("partner", "is", True)]))


# -- services -------------------------------------------------------------------------------


def test_a_blank_service_is_valid_and_ready_to_edit() -> None:
    doc = valid(ops.new_blank_service(id="front-door", title="Paint your front door", reference_prefix="fd"))
    assert doc["reference_prefix"] == "FD"
    assert doc["live"] is True
    assert [p["id"] for p in doc["pages"]] == ["your-details"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"id": "", "title": "T", "reference_prefix": "AB"}, "id", "Enter a service ID"),
        ({"id": "Front Door", "title": "T", "reference_prefix": "AB"}, "id", "lower-case letters"),
        ({"id": "a" * 61, "title": "T", "reference_prefix": "AB"}, "id", "60 characters or less"),
        ({"id": "x", "title": " ", "reference_prefix": "AB"}, "title", "Enter the name of the service"),
        ({"id": "x", "title": "T" * 10_000, "reference_prefix": "AB"}, "title", "2,000 characters or less"),
        ({"id": "x", "title": "T", "reference_prefix": "A1"}, "reference_prefix", "2 to 5 letters"),
    ],
)
def test_a_blank_service_refuses_bad_details(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(EditError) as error:
        ops.new_blank_service(**kwargs)
    assert (error.value.field, message in error.value.message) == (field, True)


def test_copy_service_takes_a_new_id_and_starts_at_version_1() -> None:
    source = load("blue-badge")
    doc = valid(ops.copy_service(source, id="blue-badge-copy", title="Apply for a Blue Badge (copy)"))
    assert (doc["id"], doc["version"], doc["live"]) == ("blue-badge-copy", 1, True)
    assert doc["pages"] == source["pages"] and source["id"] == "blue-badge"
    refused("id", "different from the service you are copying", ops.copy_service, source, id="blue-badge")


def test_set_details_and_reference_prefix() -> None:
    doc = ops.set_details(load("blue-badge"), title="Get a Blue Badge", description="One sentence.", department="")
    assert (doc["title"], doc["description"], "department" in doc) == ("Get a Blue Badge", "One sentence.", False)
    assert ops.set_reference_prefix(doc, reference_prefix="bbx")["reference_prefix"] == "BBX"
    refused("reference_prefix", "2 to 5 letters", ops.set_reference_prefix, doc, reference_prefix="TOOLONG")
    refused("description", "Enter a description", ops.set_details, doc, title="T", description="\x00 ")


# -- pages -----------------------------------------------------------------------------------


def test_add_page_makes_a_unique_id_and_refuses_a_duplicate_name() -> None:
    doc = load("blue-badge")
    new = ops.add_page(doc, title="Where you live now", after="where-you-live")
    assert new["pages"][1] == {"id": "where-you-live-now", "title": "Where you live now", "questions": []}
    assert "where-you-live-now" not in [p["id"] for p in doc["pages"]]  # input untouched
    refused("title", "There is already a page called 'Benefits'", ops.add_page, doc, title="benefits")
    assert ops.new_page_id(doc, "Where you live") == "where-you-live-2"
    assert ops.new_page_id(doc, "Check answers") == "check-answers-2"  # reserved by the runtime
    assert ops.new_page_id(doc, "2024 review") == "page-2024-review"


def test_set_page_changes_title_and_intro_and_keeps_html_as_text() -> None:
    doc = ops.set_page(load("blue-badge"), "your-details", title="<b>About you</b>", intro="First.\n\nSecond.")
    page = doc["pages"][5]
    assert page["title"] == "<b>About you</b>"
    assert page["intro"] == ["First.", "Second."]
    assert "intro" not in ops.set_page(doc, "your-details", title="About you", intro="")["pages"][5]
    refused("page", "no longer exists", ops.rename_page, doc, "gone", title="X")


def test_move_page_up_and_down() -> None:
    doc = load("missed-bin-collection")
    moved = valid(ops.move_page(doc, "bins-missed", direction="up"))
    assert [p["id"] for p in moved["pages"]][:2] == ["bins-missed", "collection-address"]
    assert ops.move_page(doc, "collection-address", direction="up") == doc  # already first


def test_move_page_refuses_to_break_a_condition() -> None:
    doc = load("register-with-gp")
    refused(
        "page",
        "the condition on page 'Your NHS number' uses 'Do you know your NHS number?'",
        ops.move_page,
        doc,
        "nhs-number",
        direction="up",
    )


def test_move_page_refuses_to_break_routing() -> None:
    doc = ops.set_condition(load("blue-badge"), "which-benefit", None)
    doc = ops.move_page(doc, "which-benefit", direction="up")
    refused(
        "page", "the routing from page 'Benefits' goes to page", ops.move_page, doc, "which-benefit", direction="up"
    )


def test_move_page_keeps_required_answers_reachable() -> None:
    """Moving a page into a stretch that routing jumps over makes its answers conditional."""
    doc = load("blue-badge")
    doc = ops.add_page(doc, title="Carer", after="which-benefit")
    doc = valid(ops.add_question(doc, page="carer", widget="yes-no", label="Do you have a carer?"))
    assert "carer" in doc["schema"]["required"]  # always asked, until it moves
    moved = valid(ops.move_page(doc, "carer", direction="up"))
    assert "carer" not in moved["schema"]["required"]
    assert moved["schema"]["allOf"][:2] == doc["schema"]["allOf"]
    assert moved["schema"]["allOf"][2] == {
        "if": {
            "not": {"properties": {"gets_qualifying_benefit": {"const": True}}, "required": ["gets_qualifying_benefit"]}
        },
        "then": {"required": ["carer"]},
    }
    assert valid(ops.move_page(moved, "carer", direction="down")) == doc


def test_delete_page_removes_its_questions() -> None:
    doc = valid(ops.delete_page(load("register-with-gp"), "previous-gp"))
    assert "previous_gp" not in doc["questions"] and "previous_gp" not in doc["schema"]["properties"]
    assert "previous-gp" not in [p["id"] for p in doc["pages"]]


def test_delete_page_refuses_while_used_and_says_where() -> None:
    refused(
        "page",
        "the condition on page 'Your NHS number' uses 'Do you know your NHS number?'",
        ops.delete_page,
        load("register-with-gp"),
        "nhs-number-known",
    )
    refused(
        "page", "the condition on page 'Which benefit' uses", ops.delete_page, load("blue-badge"), "qualifying-benefit"
    )
    refused("page", "the routing from page 'Benefits' goes to it", ops.delete_page, load("blue-badge"), "which-benefit")
    refused("page", "identifies the citizen", ops.delete_page, load("blue-badge"), "contact-details")


def test_set_stop_page() -> None:
    doc = ops.add_page(load("blue-badge"), title="You cannot apply", after="your-details")
    doc = valid(ops.set_stop_page(doc, "you-cannot-apply", stop=True))
    assert doc["pages"][6]["stop"] is True
    refused("stop", "Move or delete the questions", ops.set_stop_page, doc, "your-details", stop=True)
    assert "stop" not in ops.set_stop_page(doc, "you-cannot-apply", stop=False)["pages"][6]


# -- questions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("What is your full name?", "full_name_2"),
        ("Do you have a partner?", "partner"),
        ("What is your partner's name?", "partners_name"),
        ("Café – opening hours?", "cafe_opening_hours"),
        ("<script>alert(1)</script>", "script_alert_1_script"),
        ("2 or more pets?", "q_2_or_more_pets"),
        ("???", "question"),
        ("x" * 10_000, "x" * 56),
    ],
)
def test_question_names_come_from_the_label(label: str, name: str) -> None:
    assert ops.new_question_name(load("blue-badge"), label) == name


def test_question_names_never_share_a_page_element_id() -> None:
    doc = load("blue-badge")  # "address" has a part "postcode": element id address-postcode
    assert ops.new_question_name(doc, "Address postcode") == "address_postcode_2"


@pytest.mark.parametrize(
    "widget",
    [
        "text",
        "textarea",
        "number",
        "date",
        "email",
        "tel",
        "postcode",
        "uk-address",
        "yes-no",
        "radios",
        "checkboxes",
        "select",
        "ni-number",
        "nhs-number",
    ],
)
def test_add_question_of_every_type(widget: str) -> None:
    doc = valid(
        ops.add_question(load("blue-badge"), page="your-details", widget=widget, label="What is it?", hint="A hint")
    )
    assert doc["pages"][5]["questions"][-1] == "it"
    assert doc["questions"]["it"]["label"] == "What is it?" and doc["questions"]["it"]["hint"] == "A hint"
    assert "it" in doc["schema"]["required"]


def test_add_question_on_a_conditional_page_is_required_only_when_the_page_is_shown() -> None:
    doc = valid(ops.add_question(load("register-with-gp"), page="nhs-number", widget="text", label="Which GP?"))
    assert "which_gp" not in doc["schema"]["required"]
    assert doc["schema"]["allOf"][0]["then"]["required"] == ["nhs_number", "which_gp"]


def test_add_question_refuses_bad_input() -> None:
    doc = load("blue-badge")
    refused("label", "Enter the question text", ops.add_question, doc, page="your-details", widget="text", label=" ")
    refused(
        "label",
        "2,000 characters or less",
        ops.add_question,
        doc,
        page="your-details",
        widget="text",
        label="x" * 10_000,
    )
    refused(
        "widget", "Select the type of question", ops.add_question, doc, page="your-details", widget="html", label="Q?"
    )
    refused("page", "stop page", ops.add_question, doc, page="cannot-apply-online", widget="text", label="Q?")
    refused(
        "name", "different name", ops.add_question, doc, page="your-details", widget="text", label="Q?", name="email"
    )


def test_html_and_script_are_kept_as_plain_text() -> None:
    label = "<script>alert('x')</script> Are you <b>sure</b>?"
    doc = valid(ops.add_question(load("blue-badge"), page="your-details", widget="yes-no", label=label))
    assert doc["questions"]["script_alert_x_script_are_you_b_sure_b"]["label"] == label


def test_update_question_texts() -> None:
    doc = ops.update_question(load("blue-badge"), "email", label="Your email?", hint=None, short_label="Email")
    assert doc["questions"]["email"]["label"] == "Your email?"
    assert "hint" not in doc["questions"]["email"]
    assert doc["questions"]["email"]["short_label"] == "Email"
    refused("label", "Enter the question text", ops.update_question, doc, "email", label="")
    refused("width", "Select a width", ops.update_question, doc, "email", width="huge")
    refused("question", "no longer exists", ops.update_question, doc, "gone", label="x")


def test_update_question_required_and_optional(partner: dict[str, Any]) -> None:
    optional = valid(ops.update_question(partner, "partners_name", required=False))
    assert "allOf" not in optional["schema"]
    required = valid(ops.update_question(optional, "partners_name", required=True))
    assert required == partner
    always = valid(ops.update_question(load("blue-badge"), "phone", required=True))
    assert always["schema"]["required"][-1] == "phone"
    hand_written = valid(ops.update_question(load("blue-badge"), "walking_distance", required=False))
    assert hand_written["schema"]["allOf"][0]["then"]["required"] == ["walking_difficulties", "condition_description"]


def test_update_question_validation_in_plain_words() -> None:
    doc = ops.update_question(load("blue-badge"), "full_name", min_length=2, max_length=200)
    assert doc["schema"]["properties"]["full_name"] == {"type": "string", "minLength": 2, "maxLength": 200}
    refused("max_length", "the same as or more than the minimum", ops.update_question, doc, "full_name", max_length=1)
    refused("max_length", "Enter a maximum length", ops.update_question, doc, "full_name", max_length=None)
    refused("max_length", "Only text answers", ops.update_question, doc, "date_of_birth", max_length=5)
    refused("min_length", "whole number", ops.update_question, doc, "full_name", min_length="lots")

    number = ops.add_question(doc, page="your-details", widget="number", label="How old are you?")
    number = valid(ops.update_question(number, "how_old_are_you", min_value="0", max_value="120", whole_numbers=True))
    assert number["schema"]["properties"]["how_old_are_you"] == {"type": "integer", "minimum": 0, "maximum": 120}
    refused(
        "max_value",
        "the same as or more than the minimum",
        ops.update_question,
        number,
        "how_old_are_you",
        max_value=-1,
    )
    refused("min_value", "must be a number", ops.update_question, number, "how_old_are_you", min_value="ten")

    dated = valid(ops.update_question(doc, "date_of_birth", date_after="1900-01-01", date_before="today"))
    assert dated["schema"]["properties"]["date_of_birth"]["dateAfter"] == "1900-01-01"
    refused(
        "date_before", "after the earliest date", ops.update_question, doc, "date_of_birth", date_after="2999-01-01"
    )
    refused("date_after", "real date", ops.update_question, doc, "date_of_birth", date_after="2020-02-30")
    refused("validation", "set by IT in the definition file", ops.update_question, doc, "address", max_length=5)


def test_custom_error_messages() -> None:
    doc = valid(ops.update_question(load("blue-badge"), "full_name", messages={"required": "Enter your name"}))
    assert doc["messages"]["full_name"] == {"required": "Enter your name"}
    cleared = ops.update_question(doc, "full_name", messages={"required": None})
    assert "full_name" not in cleared["messages"]
    refused(
        "messages.colour", "Select a kind of error", ops.update_question, doc, "full_name", messages={"colour": "x"}
    )


def test_move_question_within_and_between_pages() -> None:
    doc = valid(ops.move_question(load("blue-badge"), "date_of_birth", direction="up"))
    assert doc["pages"][5]["questions"] == ["date_of_birth", "full_name", "ni_number"]
    doc = valid(ops.move_question(doc, "phone", to_page="your-details"))
    assert doc["pages"][5]["questions"][-1] == "phone" and doc["pages"][7]["questions"] == ["email"]


def test_move_question_onto_a_conditional_page_requires_it_only_there() -> None:
    doc = valid(ops.move_question(load("blue-badge"), "phone", to_page="which-benefit"))
    assert doc["schema"]["allOf"][1]["then"]["required"] == ["qualifying_benefit"]  # phone stays optional
    doc = valid(ops.move_question(load("blue-badge"), "email", to_page="which-benefit"))
    assert "email" not in doc["schema"]["required"]
    assert doc["schema"]["allOf"][1]["then"]["required"] == ["qualifying_benefit", "email"]


def test_move_question_refuses_to_break_a_condition() -> None:
    refused(
        "to_page",
        "the condition on page 'Your NHS number' uses 'Do you know your NHS number?'",
        ops.move_question,
        load("register-with-gp"),
        "knows_nhs_number",
        to_page="home-address",
    )
    refused("to_page", "stop page", ops.move_question, load("blue-badge"), "phone", to_page="cannot-apply-online")


def test_delete_question() -> None:
    doc = valid(ops.delete_question(load("blue-badge"), "walking_distance"))
    assert "walking_distance" not in doc["questions"]
    assert doc["schema"]["allOf"][0]["then"]["required"] == ["walking_difficulties", "condition_description"]
    doc = ops.delete_question(load("blue-badge"), "condition_description")
    assert "condition_description" not in doc["messages"]


def test_delete_question_refuses_while_used_and_says_where() -> None:
    doc = load("blue-badge")
    refused("question", "the routing from page 'Where you live' uses", ops.delete_question, doc, "lives_in_area")
    refused("question", "the routing from page 'Benefits' uses", ops.delete_question, doc, "gets_qualifying_benefit")
    refused("question", "identifies the citizen (email)", ops.delete_question, doc, "email")


# -- choices ---------------------------------------------------------------------------------------


def test_add_rename_move_and_remove_choices() -> None:
    doc = valid(ops.add_choice(load("missed-bin-collection"), "bin_location", label="Round the back", hint="Behind"))
    options = doc["questions"]["bin_location"]["options"]
    assert options["round_the_back"] == {"label": "Round the back", "hint": "Behind"}
    doc = valid(ops.rename_choice(doc, "bin_location", "round_the_back", label="Behind the house", hint=None))
    assert doc["questions"]["bin_location"]["options"]["round_the_back"] == {"label": "Behind the house"}
    doc = valid(ops.move_choice(doc, "bin_location", "round_the_back", direction="up"))
    values = list(doc["questions"]["bin_location"]["options"])
    assert values[-2] == "round_the_back"
    assert doc["schema"]["properties"]["bin_location"]["enum"] == values
    doc = valid(ops.remove_choice(doc, "bin_location", "round_the_back"))
    assert "round_the_back" not in doc["questions"]["bin_location"]["options"]


def test_choices_of_a_multiple_choice_question() -> None:
    doc = valid(ops.add_choice(load("blue-badge"), "walking_difficulties", label="Dizziness"))
    assert doc["schema"]["properties"]["walking_difficulties"]["items"]["enum"][-1] == "dizziness"


def test_choices_refuse_bad_input() -> None:
    doc = load("resident-parking-permit")
    label = doc["questions"]["vehicle_keeper"]["options"]["company_car"]["label"]
    refused("label", "There is already a choice called", ops.add_choice, doc, "vehicle_keeper", label=label.upper())
    refused("label", "Enter the text of the choice", ops.add_choice, doc, "vehicle_keeper", label="")
    refused(
        "choice",
        "page 'Company or lease car' uses it in a condition",
        ops.remove_choice,
        doc,
        "vehicle_keeper",
        "company_car",
    )
    refused("question", "Only choice questions", ops.add_choice, doc, "full_name", label="x")
    refused("choice", "no longer exists", ops.rename_choice, doc, "vehicle_keeper", "nope", label="x")


def test_a_choice_value_stays_when_its_text_changes() -> None:
    doc = ops.add_choice(load("missed-bin-collection"), "bin_location", label="Round the back")
    doc = ops.rename_choice(doc, "bin_location", "round_the_back", label="Something else entirely")
    assert "round_the_back" in doc["questions"]["bin_location"]["options"]
    again = ops.add_choice(doc, "bin_location", label="Round the back")
    assert "round_the_back_2" in again["questions"]["bin_location"]["options"]


# -- conditions and routing ----------------------------------------------------------------------


def test_set_condition_writes_the_required_rule(partner: dict[str, Any]) -> None:
    valid(partner)
    page = partner["pages"][2]
    assert page["show_if"] == {"properties": {"partner": {"const": True}}, "required": ["partner"]}
    assert partner["schema"]["allOf"] == [{"if": page["show_if"], "then": {"required": ["partners_name"]}}]
    assert "partners_name" not in partner["schema"]["required"]


def test_changing_a_condition_rewrites_its_rule_in_place(partner: dict[str, Any]) -> None:
    changed = valid(ops.set_condition(partner, "partner-details", Condition([Clause("partner", "is", False)])))
    assert changed["schema"]["allOf"] == [
        {"if": changed["pages"][2]["show_if"], "then": {"required": ["partners_name"]}}
    ]
    removed = valid(ops.set_condition(partner, "partner-details", None))
    assert "allOf" not in removed["schema"] and "partners_name" in removed["schema"]["required"]


def test_hand_written_rules_stay_untouched() -> None:
    doc = load("blue-badge")
    doc["schema"]["allOf"].append({"if": {"required": ["phone"]}, "then": {"properties": {"phone": {"minLength": 11}}}})
    new = valid(ops.set_condition(doc, "your-details", Condition([Clause("lives_in_area", "is", True)])))
    assert new["schema"]["allOf"][:3] == doc["schema"]["allOf"]
    assert new["schema"]["allOf"][3]["then"] == {"required": ["full_name", "date_of_birth"]}


def test_set_condition_refuses_bad_conditions(partner: dict[str, Any]) -> None:
    refused(
        "question",
        "from an earlier page",
        ops.set_condition,
        partner,
        "partner",
        Condition([Clause("partners_name", "answered")]),
    )
    refused(
        "question", "deleted", ops.set_condition, partner, "partner-details", Condition([Clause("gone", "answered")])
    )
    refused("clauses", "Add at least one condition", ops.set_condition, partner, "partner-details", Condition([]))


def test_set_routing(partner: dict[str, Any]) -> None:
    partner = ops.add_page(partner, title="Pets")
    partner = ops.add_question(partner, page="pets", widget="yes-no", label="Do you have pets?")
    routed = valid(ops.set_routing(partner, "partner", [(Condition([Clause("partner", "is", False)]), "pets")]))
    assert routed["pages"][1]["next"] == [
        {"if": {"properties": {"partner": {"const": False}}, "required": ["partner"]}, "goto": "pets"}
    ]
    assert "next" not in ops.set_routing(routed, "partner", [])["pages"][1]
    refused(
        "goto-0",
        "Select a page after this one",
        ops.set_routing,
        partner,
        "pets",
        [(Condition([Clause("partner", "answered")]), "partner")],
    )
    refused(
        "goto-0",
        "Select the page to go to",
        ops.set_routing,
        partner,
        "partner",
        [(Condition([Clause("partner", "answered")]), "nowhere")],
    )


def test_a_condition_on_a_deleted_question_is_refused() -> None:
    gone = ops.delete_question(load("register-with-gp"), "previous_gp")
    refused(
        "question",
        "deleted",
        ops.set_condition,
        gone,
        "contact-details",
        Condition([Clause("previous_gp", "answered")]),
    )


# -- start page, declaration, confirmation, privacy, identity -------------------------------------


def test_set_start_page_declaration_and_confirmation() -> None:
    doc = ops.set_start_page(load("blue-badge"), body="One.\n\nTwo.", you_will_need=["a photo"], button="Start")
    assert doc["start"] == {"body": ["One.", "Two."], "you_will_need": ["a photo"], "button": "Start"}
    refused("body", "Enter what the service is for", ops.set_start_page, doc, body="")
    doc = valid(ops.set_declaration(doc, declaration="I promise."))
    assert doc["check_answers"]["declaration"] == ["I promise."]
    doc = valid(ops.set_confirmation(doc, title="Sent", next_steps=["We will call you."]))
    assert doc["confirmation"] == {"title": "Sent", "next_steps": ["We will call you."]}
    refused("next_steps", "Enter what happens next", ops.set_confirmation, doc, title="Sent", next_steps=[])


def test_set_privacy_and_contact() -> None:
    doc = valid(
        ops.set_privacy_and_contact(
            load("missed-bin-collection"),
            privacy_url="https://example.gov.uk/privacy",
            privacy_summary="We keep it safe.",
            email="bins@example.gov.uk",
            phone="01632 960 001",
            hours="Monday to Friday",
            address="Town Hall\nWestbridge",
        )
    )
    assert doc["contact"]["address"] == ["Town Hall", "Westbridge"]
    refused("privacy_url", "starts with https://", ops.set_privacy_and_contact, doc, privacy_url="http://x.example")
    refused("email", "correct format", ops.set_privacy_and_contact, doc, email="bins")
    refused("phone", "Enter a phone number", ops.set_privacy_and_contact, doc, phone="<script>")


def test_set_identity() -> None:
    doc = valid(ops.set_identity(load("blue-badge"), identity={"phone": None, "postcode": "address.postcode"}))
    assert "phone" not in doc["identity"]
    refused("identity.phone", "Select a question", ops.set_identity, doc, identity={"phone": "mobile"})
    refused(
        "identity.shoe_size",
        "Select what the answer identifies",
        ops.set_identity,
        doc,
        identity={"shoe_size": "email"},
    )
    everything = dict.fromkeys(doc["identity"])
    refused("identity", "at least one answer", ops.set_identity, doc, identity=everything)


# -- the rules every operation keeps ------------------------------------------------------------------


def test_no_operation_changes_its_input(partner: dict[str, Any]) -> None:
    before = copy.deepcopy(partner)
    ops.set_condition(partner, "partner-details", None)
    ops.update_question(partner, "partners_name", required=False, max_length=10)
    ops.delete_page(partner, "partner-details")
    ops.add_choice(ops.add_question(partner, page="partner", widget="radios", label="Q?"), "q", label="X")
    assert partner == before


def test_unknown_keys_stay_in_place() -> None:
    doc = load("blue-badge")
    doc["schema"]["properties"]["full_name"]["pattern"] = "^[^0-9]*$"
    doc["schema"]["$defs"]["note"] = {"description": "kept"}
    new = ops.update_question(doc, "full_name", label="Your name?", max_length=150)
    assert new["schema"]["properties"]["full_name"] == {"type": "string", "maxLength": 150, "pattern": "^[^0-9]*$"}
    assert new["schema"]["$defs"]["note"] == {"description": "kept"}
    assert dumps(new).count("\n") == dumps(doc).count("\n")
