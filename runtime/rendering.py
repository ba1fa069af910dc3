"""Rendering decisions: which GOV.UK Frontend component asks each question, with what params.

This is the one place where a definition's questions become component parameters; the
Jinja macro ``components/question.html`` only passes them on to govuk-frontend-jinja, so the
runtime and the builder's preview render alike.
"""

from __future__ import annotations

from typing import Any

from .definition import ADDRESS_PARTS, Definition

WIDTHS = {
    "2": "govuk-input--width-2",
    "3": "govuk-input--width-3",
    "4": "govuk-input--width-4",
    "5": "govuk-input--width-5",
    "10": "govuk-input--width-10",
    "20": "govuk-input--width-20",
    "30": "govuk-input--width-30",
    "full": "govuk-!-width-full",
    "three-quarters": "govuk-!-width-three-quarters",
    "two-thirds": "govuk-!-width-two-thirds",
    "one-half": "govuk-!-width-one-half",
    "one-third": "govuk-!-width-one-third",
    "one-quarter": "govuk-!-width-one-quarter",
}
_ADDRESS_WIDTHS = {
    "town": "govuk-!-width-two-thirds",
    "county": "govuk-!-width-two-thirds",
    "postcode": "govuk-input--width-10",
}


def html_id(path: str) -> str:
    """The element id of a field: ``address.postcode`` -> ``address-postcode``."""
    return path.replace(".", "-").replace("_", "-")


def anchor(definition: Definition, path: str) -> str:
    """Where an error summary link for a field path should land."""
    name = path.split(".")[0]
    widget = definition.questions.get(name, {}).get("widget")
    if widget == "date":
        return f"#{html_id(name)}-day"
    if widget == "uk-address" and "." not in path:
        return f"#{html_id(name)}-line1"
    return f"#{html_id(path)}"


def error_summary(definition: Definition, errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": anchor(definition, path)} for path, message in errors.items()]


def _label_text(definition: Definition, name: str) -> str:
    label = str(definition.questions[name]["label"])
    return f"{label} (optional)" if definition.is_optional(name) else label


def _heading(text: str, as_heading: bool, legend: bool = False) -> dict[str, Any]:
    if as_heading:
        return {
            "text": text,
            "isPageHeading": True,
            "classes": "govuk-fieldset__legend--l" if legend else "govuk-label--l",
        }
    return {"text": text, "classes": "govuk-fieldset__legend--m" if legend else "govuk-label--m"}


def _error(errors: dict[str, str], path: str) -> dict[str, str] | None:
    return {"text": errors[path]} if path in errors else None


def question_view(
    definition: Definition, name: str, raw: dict[str, Any], errors: dict[str, str], as_heading: bool
) -> dict[str, Any]:
    """``{"macro": <govuk macro name>, "params": {...}}`` for one question."""
    q = definition.questions[name]
    widget = q["widget"]
    qid = html_id(name)
    hint = {"text": q["hint"]} if q.get("hint") else None
    label = _label_text(definition, name)
    error = _error(errors, name)

    if widget in ("radios", "checkboxes", "yes-no"):
        chosen = raw.get(name)
        chosen_values = set(chosen) if isinstance(chosen, list) else {chosen}
        if widget == "yes-no":
            options = {"yes": {"label": q.get("yes_label", "Yes")}, "no": {"label": q.get("no_label", "No")}}
        else:
            options = q["options"]
        items = [
            {
                "value": value,
                "text": option["label"],
                **({"hint": {"text": option["hint"]}} if option.get("hint") else {}),
                "checked": value in chosen_values,
            }
            for value, option in options.items()
        ]
        return {
            "macro": "govukCheckboxes" if widget == "checkboxes" else "govukRadios",
            "params": {
                "name": name,
                "idPrefix": qid,
                "fieldset": {"legend": _heading(label, as_heading, legend=True)},
                "hint": hint,
                "errorMessage": error,
                "items": items,
                **({"classes": "govuk-radios--inline"} if widget == "yes-no" else {}),
            },
        }
    if widget == "select":
        current = raw.get(name, "")
        items = [{"value": "", "text": "Choose an option", "selected": current == ""}] + [
            {"value": value, "text": option["label"], "selected": value == current}
            for value, option in q["options"].items()
        ]
        return {
            "macro": "govukSelect",
            "params": {
                "id": qid,
                "name": name,
                "label": _heading(label, as_heading),
                "hint": hint,
                "errorMessage": error,
                "items": items,
            },
        }
    if widget == "date":
        err_cls = " govuk-input--error" if error else ""
        return {
            "macro": "govukDateInput",
            "params": {
                "id": qid,
                "namePrefix": name,
                "fieldset": {"legend": _heading(label, as_heading, legend=True)},
                "hint": hint or {"text": "For example, 27 3 2007"},
                "errorMessage": error,
                "items": [
                    {
                        "id": f"{qid}-{part}",
                        "name": part,
                        "label": part.capitalize(),
                        "classes": f"govuk-input--width-{width}{err_cls}",
                        "value": raw.get(f"{name}-{part}", ""),
                        **({"autocomplete": f"{q['autocomplete']}-{part}"} if q.get("autocomplete") == "bday" else {}),
                    }
                    for part, width in (("day", 2), ("month", 2), ("year", 4))
                ],
            },
        }
    if widget == "uk-address":
        inputs = []
        for field in definition.fields_of(name):
            part = field.path.split(".")[1]
            text, autocomplete, _ = ADDRESS_PARTS[part]
            inputs.append(
                {
                    "macro": "govukInput",
                    "params": {
                        "id": html_id(field.path),
                        "name": field.path,
                        "label": {"text": text},
                        "value": raw.get(field.path, ""),
                        "autocomplete": autocomplete or None,
                        "classes": _ADDRESS_WIDTHS.get(part),
                        "errorMessage": _error(errors, field.path),
                    },
                }
            )
        return {
            "macro": "address",
            "params": {
                "id": qid,
                "legend": _heading(label, as_heading, legend=True),
                "hint": hint,
                "errorMessage": error,
                "inputs": inputs,
            },
        }
    params: dict[str, Any] = {
        "id": qid,
        "name": name,
        "label": _heading(label, as_heading),
        "hint": hint,
        "errorMessage": error,
        "value": raw.get(name, ""),
        "autocomplete": q.get("autocomplete"),
    }
    if "spellcheck" in q:
        params["spellcheck"] = q["spellcheck"]
    if widget == "textarea":
        params["rows"] = q.get("rows", 5)
        return {"macro": "govukTextarea", "params": params}
    if widget == "email":
        params.update(type="email", spellcheck=False)
    elif widget == "tel":
        params["type"] = "tel"
    elif widget == "number":
        params["inputmode"] = "decimal" if definition.property_schema(name).get("type") == "number" else "numeric"
        params["spellcheck"] = False
        if q.get("prefix"):
            params["prefix"] = {"text": q["prefix"]}
        if q.get("suffix"):
            params["suffix"] = {"text": q["suffix"]}
    params["classes"] = WIDTHS.get(str(q.get("width", "")), None)
    return {"macro": "govukInput", "params": params}
