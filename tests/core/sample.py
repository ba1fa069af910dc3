"""A small service definition that uses every widget, a stop page, a show_if and routing.

Tests call :func:`sample_doc` for a fresh copy and break or change it one way at a time.
"""

from __future__ import annotations

from typing import Any

from runtime.definition import Definition


def sample_doc() -> dict[str, Any]:
    return {
        "format": "civicforms/1",
        "id": "pet-licence",
        "version": 1,
        "title": "Apply for a pet licence",
        "description": "Apply for a licence to keep a pet in a council home.",
        "department": "Housing",
        "reference_prefix": "PET",
        "start": {"body": ["Use this service to apply for a pet licence."], "you_will_need": ["your tenancy number"]},
        "identity": {
            "full_name": "full_name",
            "date_of_birth": "date_of_birth",
            "email": "email",
            "postcode": "address.postcode",
        },
        "schema": {
            "type": "object",
            "properties": {
                "lives_in_area": {"type": "boolean"},
                "full_name": {"type": "string", "maxLength": 100},
                "date_of_birth": {"type": "string", "format": "date", "dateBefore": "today"},
                "has_pet": {"type": "boolean"},
                "pet_kind": {"type": "string", "enum": ["cat", "dog", "other"]},
                "pet_count": {"type": "integer", "minimum": 1, "maximum": 5},
                "pet_colours": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["black", "white", "ginger"]},
                    "minItems": 1,
                    "uniqueItems": True,
                },
                "address": {"$ref": "#/$defs/uk_address"},
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "phone": {"type": "string", "pattern": "^[0-9+() ]{10,20}$", "maxLength": 20},
                "notes": {"type": "string", "maxLength": 500},
                "work_postcode": {"type": "string", "format": "uk-postcode"},
                "nhs_number": {"type": "string", "format": "nhs-number"},
                "ni_number": {"type": "string", "format": "ni-number"},
            },
            "required": ["lives_in_area", "full_name", "date_of_birth", "has_pet", "address", "email"],
            "allOf": [
                {
                    "if": {"properties": {"has_pet": {"const": True}}, "required": ["has_pet"]},
                    "then": {"required": ["pet_kind", "pet_count"]},
                }
            ],
            "additionalProperties": False,
            "$defs": {
                "uk_address": {
                    "type": "object",
                    "properties": {
                        "line1": {"type": "string", "maxLength": 100},
                        "line2": {"type": "string", "maxLength": 100},
                        "town": {"type": "string", "maxLength": 60},
                        "county": {"type": "string", "maxLength": 60},
                        "postcode": {
                            "type": "string",
                            "pattern": "^\\s*[A-Za-z]{1,2}[0-9][A-Za-z0-9]?\\s*[0-9][A-Za-z]{2}\\s*$",
                            "maxLength": 10,
                        },
                    },
                    "required": ["line1", "town", "postcode"],
                    "additionalProperties": False,
                }
            },
        },
        "questions": {
            "lives_in_area": {
                "label": "Do you live in Westbridge?",
                "short_label": "Lives in Westbridge",
                "widget": "yes-no",
            },
            "full_name": {
                "label": "What is your full name?",
                "short_label": "Full name",
                "error_name": "your full name",
                "widget": "text",
                "autocomplete": "name",
                "spellcheck": False,
            },
            "date_of_birth": {
                "label": "What is your date of birth?",
                "short_label": "Date of birth",
                "widget": "date",
                "autocomplete": "bday",
            },
            "has_pet": {"label": "Do you already have a pet?", "short_label": "Has a pet", "widget": "yes-no"},
            "pet_kind": {
                "label": "What kind of pet is it?",
                "short_label": "Kind of pet",
                "error_name": "the kind of pet",
                "widget": "radios",
                "options": {"cat": {"label": "Cat"}, "dog": {"label": "Dog"}, "other": {"label": "Something else"}},
            },
            "pet_count": {
                "label": "How many pets do you have?",
                "short_label": "Number of pets",
                "error_name": "the number of pets",
                "widget": "number",
                "width": "3",
                "suffix": "pets",
            },
            "pet_colours": {
                "label": "What colour is your cat?",
                "hint": "Select all that apply.",
                "short_label": "Colours",
                "error_name": "the colours of your cat",
                "widget": "checkboxes",
                "options": {"black": {"label": "Black"}, "white": {"label": "White"}, "ginger": {"label": "Ginger"}},
            },
            "address": {"label": "What is your address?", "short_label": "Address", "widget": "uk-address"},
            "email": {
                "label": "What is your email address?",
                "short_label": "Email address",
                "error_name": "your email address",
                "widget": "email",
            },
            "phone": {"label": "What is your phone number?", "short_label": "Phone number", "widget": "tel"},
            "notes": {"label": "Anything else we should know?", "short_label": "Notes", "widget": "textarea"},
            "work_postcode": {"label": "What is the postcode of your work?", "widget": "postcode"},
            "nhs_number": {"label": "What is your NHS number?", "short_label": "NHS number", "widget": "nhs-number"},
            "ni_number": {
                "label": "What is your National Insurance number?",
                "hint": "For example, QQ 12 34 56 C",
                "short_label": "National Insurance number",
                "widget": "ni-number",
            },
        },
        "pages": [
            {"id": "where-you-live", "questions": ["lives_in_area"]},
            {
                "id": "not-in-area",
                "title": "You cannot apply",
                "intro": ["This service is only for people who live in Westbridge."],
                "show_if": {"properties": {"lives_in_area": {"const": False}}, "required": ["lives_in_area"]},
                "questions": [],
                "stop": True,
            },
            {"id": "about-you", "title": "About you", "questions": ["full_name", "date_of_birth"]},
            {
                "id": "your-pet",
                "questions": ["has_pet"],
                "next": [
                    {
                        "if": {"properties": {"has_pet": {"const": False}}, "required": ["has_pet"]},
                        "goto": "your-address",
                    }
                ],
            },
            {"id": "pet-details", "title": "Your pet", "questions": ["pet_kind", "pet_count"]},
            {
                "id": "cat-colours",
                "show_if": {"properties": {"pet_kind": {"const": "cat"}}, "required": ["pet_kind"]},
                "questions": ["pet_colours"],
            },
            {"id": "your-address", "questions": ["address"]},
            {"id": "contact", "title": "How we contact you", "questions": ["email", "phone", "notes"]},
            {"id": "numbers", "title": "Your numbers", "questions": ["work_postcode", "nhs_number", "ni_number"]},
        ],
        "messages": {
            "address.postcode": {"pattern": "Enter a real postcode, like SW1A 1AA"},
            "date_of_birth": {"dateBefore": "Date of birth must be in the past"},
        },
        "check_answers": {"declaration": ["The information I have given is correct."], "button": "Send application"},
        "confirmation": {"title": "Application complete", "next_steps": ["We will email you within 10 working days."]},
    }


def sample_definition() -> Definition:
    return Definition(sample_doc())


ADDRESS = {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"}


def complete_answers() -> dict[str, Any]:
    """Valid answers for a citizen with a ginger cat."""
    return {
        "lives_in_area": True,
        "full_name": "Jane Smith",
        "date_of_birth": "1980-03-27",
        "has_pet": True,
        "pet_kind": "cat",
        "pet_count": 1,
        "pet_colours": ["ginger"],
        "address": dict(ADDRESS),
        "email": "jane@example.com",
    }
