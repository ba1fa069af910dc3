"""A subject access report: everything held on a person, laid out for them to read (UK GDPR
Article 15), as JSON and as an HTML page.

Pure: :func:`build` takes the data ``runtime.erasure_reads.person_data`` read in one place and
returns the report (plain JSON types: answers labelled by the questions as the person saw them,
states by their names); :func:`html_body` and :func:`html_document` lay it out, every value
escaped, with headings, tables with captions and scoped headers, and print styles. The files the
person sent are listed in it; :func:`write_bundle` writes the report and the files themselves
into one ZIP file, each file where the report says (``saved_as``).
"""

from __future__ import annotations

import json
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from html import escape
from typing import IO, Any, BinaryIO

KIND_WORDS = {
    "full_name": "Full name",
    "name_key": "Name (as searched)",
    "date_of_birth": "Date of birth",
    "email": "Email address",
    "phone": "Phone number",
    "postcode": "Postcode",
    "nhs_number": "NHS number",
    "ni_number": "National Insurance number",
}


def _when(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value)


def _question_title(definition: dict[str, Any], name: str) -> str:
    question = (definition.get("questions") or {}).get(name)
    if isinstance(question, dict):
        return str(question.get("label") or question.get("short_label") or name)
    return name.replace("_", " ").capitalize()


def _answer_text(definition: dict[str, Any], name: str, value: Any) -> Any:
    """An answer as the person chose it: option labels for choices, Yes/No, parts by name."""
    question = (definition.get("questions") or {}).get(name)
    options = question.get("options") if isinstance(question, dict) else None

    def one(v: Any) -> Any:
        if isinstance(options, dict) and isinstance(v, str) and isinstance(options.get(v), dict):
            return str(options[v].get("label") or v)
        if isinstance(v, bool):
            return "Yes" if v else "No"
        return v

    if isinstance(value, list):
        return [one(v) for v in value]
    if isinstance(value, dict):
        return {part.replace("_", " ").capitalize(): one(v) for part, v in value.items()}
    return one(value)


def _state_name(definition: dict[str, Any], state: Any) -> str:
    states = (definition.get("workflow") or {}).get("states") or {}
    found = states.get(state) if isinstance(states, dict) else None
    if isinstance(found, dict) and found.get("label"):
        return str(found["label"])
    return str(state).replace("_", " ").capitalize() if state else ""


def _saved_as(number: int, reference: str, name: str) -> str:
    """Where a file goes in the report's ZIP file: ``files/<reference>/<n>-<name>``, the name kept
    to one plain path segment (no folders, no control characters, no leading dots)."""
    plain = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '/\\:*?"<>|')
    plain = plain.strip().lstrip(".") or "file"
    folder = "".join(c for c in reference if c.isalnum() or c == "-") or "files"
    return f"files/{folder}/{number}-{plain[-150:]}"


def build(data: dict[str, Any], *, made_at: datetime) -> dict[str, Any]:
    """The report: plain JSON types only (dates as text), in the order a reader goes through it."""
    record = data["record"]
    return {
        "title": f"Information held about you: citizen record {record['id']}",
        "made_at": _when(made_at),
        "record": {
            "number": record["id"],
            "created_at": _when(record["created_at"]),
            "erased_at": _when(record["erased_at"]),
            "joined_records": list(record.get("merged") or []),
        },
        "details": [
            {
                "detail": KIND_WORDS.get(i["kind"], i["kind"]),
                "value": i["value"],
                "given_in": i["from"],
                "department": i["department"],
                "recorded_at": _when(i["at"]),
            }
            for i in data["identifiers"]
            if i["kind"] != "name_key"  # the same name again, as staff search it
        ],
        "submissions": [
            {
                "reference": s["reference"],
                "service": s["service"],
                "department": s["department"],
                "sent_at": _when(s["submitted_at"]),
                "erased_at": _when(s["erased_at"]),
                "answers": [
                    {
                        "question": _question_title(s["definition"], name),
                        "answer": _answer_text(s["definition"], name, v),
                    }
                    for name, v in (s["answers"] or {}).items()
                ],
            }
            for s in data["submissions"]
        ],
        "cases": [
            {
                "reference": c["reference"],
                "service": c["service"],
                "department": c["department"],
                "name_on_case": c["name"],
                "state": _state_name(c["definition"], c["state"]),
                "opened_at": _when(c["opened_at"]),
                "closed_at": _when(c["closed_at"]),
                "erased_at": _when(c["erased_at"]),
                "history": [
                    {
                        "at": _when(e["at"]),
                        "what": e["action"].replace("_", " ").replace("-", " "),
                        "by": {"staff": "Staff", "citizen": "You", "system": "Automatically"}.get(e["by"], e["by"]),
                        "from": _state_name(c["definition"], e["from_state"]) if e["from_state"] else None,
                        "to": _state_name(c["definition"], e["to_state"]) if e["to_state"] else None,
                        "comment": e["comment"],
                    }
                    for e in c["events"]
                ],
                "information_requests": [
                    {
                        "asked_at": _when(r["asked_at"]),
                        "message": r["message"],
                        "questions": [_question_title(c["definition"], q) for q in r["questions"]],
                        "answered_at": _when(r["answered_at"]),
                        "answers": [
                            {
                                "question": _question_title(c["definition"], n),
                                "answer": _answer_text(c["definition"], n, v),
                            }
                            for n, v in (r["answers"] or {}).items()
                        ],
                    }
                    for r in c["information_requests"]
                ],
                "messages": [
                    {
                        "at": _when(m["at"]),
                        "to": m["to"],
                        "subject": m["subject"],
                        "text": m["body"],
                        "status": m["status"],
                        "sent_at": _when(m["sent_at"]),
                    }
                    for m in c["messages"]
                ],
            }
            for c in data["cases"]
        ],
        "links": [
            {
                "at": _when(link["at"]),
                "what": (
                    f"Form {link['submission']} filed under this record"
                    if link["submission"]
                    else f"Record {link['joined_record']} joined into record {link['record']}"
                ),
                "how": {"new": "new record", "exact": "matching details", "probabilistic": "likely match"}.get(
                    link["method"], "decided by staff"
                ),
                "by": link["by"],
                "match_weight": link["match_weight"],
                "undone_at": _when(link["undone_at"]),
            }
            for link in data["links"]
        ],
        "possible_matches": [
            {
                "other_record": m["record"],
                "probability": m["probability"],
                "decision": {
                    "pending": "waiting for staff",
                    "same": "same person",
                    "different": "different people",
                    "superseded": "no longer needed",
                }.get(m["status"], m["status"]),
                "at": _when(m["at"]),
                "decided_at": _when(m["decided_at"]),
            }
            for m in data["possible_matches"]
        ],
        "files": [
            {
                "file": f["name"],
                "kind": f["kind"],
                "size": f["size"],
                "sent_in": f["reference"],
                "for": "A request for more information"
                if f["in_reply"]
                else _question_title(f["definition"], f["question"]),
                "uploaded_at": _when(f["uploaded_at"]),
                "saved_as": _saved_as(n, f["reference"], f["name"]),
            }
            for n, f in enumerate(data.get("files", []), start=1)
        ],
        "seen_by": [
            {"at": _when(a["at"]), "department": a["department"], "what": a["action"].replace("-", " ")}
            for a in data["access"]
        ],
    }


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


# -- HTML ------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return '<span class="cf-none">None</span>'
    if isinstance(value, list):
        return "<br>".join(escape(str(v)) for v in value)
    if isinstance(value, dict):
        return "<br>".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in value.items() if v not in (None, ""))
    return escape(str(value)).replace("\n", "<br>")


def _summary(rows: list[tuple[str, Any]]) -> str:
    items = "".join(
        f'<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{escape(k)}</dt>'
        f'<dd class="govuk-summary-list__value">{_text(v)}</dd></div>'
        for k, v in rows
    )
    return f'<dl class="govuk-summary-list">{items}</dl>'


def _table(caption: str, headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f'<p class="govuk-body">{escape(caption)}: none.</p>'
    head = "".join(f'<th scope="col" class="govuk-table__header">{escape(h)}</th>' for h in headers)
    body = "".join(
        '<tr class="govuk-table__row">'
        + "".join(f'<td class="govuk-table__cell">{_text(c)}</td>' for c in row)
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="govuk-table"><caption class="govuk-table__caption govuk-table__caption--s">{escape(caption)}'
        f'</caption><thead class="govuk-table__head"><tr class="govuk-table__row">{head}</tr></thead>'
        f'<tbody class="govuk-table__body">{body}</tbody></table>'
    )


def html_body(report: dict[str, Any]) -> str:
    """The report as HTML (headings from h2 down), to go inside a page; every value escaped."""
    out: list[str] = []
    record = report["record"]
    out.append('<h2 class="govuk-heading-m">Your record</h2>')
    out.append(
        _summary(
            [
                ("Record number", record["number"]),
                ("Created", record["created_at"]),
                ("Erased", record["erased_at"]),
                ("Records joined into it", record["joined_records"]),
                ("Report made", report["made_at"]),
            ]
        )
    )
    out.append('<h2 class="govuk-heading-m">Details we hold about you</h2>')
    out.append(
        _table(
            "Your details and where each came from",
            ["Detail", "Value", "Given in", "Department", "Recorded"],
            [[d["detail"], d["value"], d["given_in"], d["department"], d["recorded_at"]] for d in report["details"]],
        )
    )
    out.append('<h2 class="govuk-heading-m">Forms you sent</h2>')
    if not report["submissions"]:
        out.append('<p class="govuk-body">None.</p>')
    for s in report["submissions"]:
        out.append(f'<h3 class="govuk-heading-s">{escape(s["service"])}: {escape(s["reference"])}</h3>')
        out.append(_summary([("Department", s["department"]), ("Sent", s["sent_at"]), ("Erased", s["erased_at"])]))
        out.append(
            _table(
                f"Your answers in {s['reference']}",
                ["Question", "Your answer"],
                [[a["question"], a["answer"]] for a in s["answers"]],
            )
        )
    out.append('<h2 class="govuk-heading-m">Cases</h2>')
    if not report["cases"]:
        out.append('<p class="govuk-body">None.</p>')
    for c in report["cases"]:
        out.append(f'<h3 class="govuk-heading-s">Case {escape(c["reference"])}: {escape(c["service"])}</h3>')
        out.append(
            _summary(
                [
                    ("Department", c["department"]),
                    ("Name on the case", c["name_on_case"]),
                    ("Where it is", c["state"]),
                    ("Opened", c["opened_at"]),
                    ("Closed", c["closed_at"]),
                    ("Erased", c["erased_at"]),
                ]
            )
        )
        out.append(
            _table(
                f"History of case {c['reference']}",
                ["When", "What happened", "By", "From", "To", "Comment"],
                [[h["at"], h["what"], h["by"], h["from"], h["to"], h["comment"]] for h in c["history"]],
            )
        )
        out.append(
            _table(
                f"Requests for more information in case {c['reference']}",
                ["Asked", "Message", "Questions", "Answered", "Your answers"],
                [
                    [
                        r["asked_at"],
                        r["message"],
                        r["questions"],
                        r["answered_at"],
                        [f"{a['question']}: {a['answer']}" for a in r["answers"]],
                    ]
                    for r in c["information_requests"]
                ],
            )
        )
        out.append(
            _table(
                f"Messages about case {c['reference']}",
                ["Written", "To", "Subject", "Text", "Sent"],
                [[m["at"], m["to"], m["subject"], m["text"], m["sent_at"] or m["status"]] for m in c["messages"]],
            )
        )
    out.append('<h2 class="govuk-heading-m">Files you sent</h2>')
    out.append(
        _table(
            "Files you sent with your forms (in the ZIP version of this report, each is in the folder shown)",
            ["File", "Kind", "Size", "Sent in", "For", "Uploaded", "In the ZIP file"],
            [
                [
                    f["file"],
                    f["kind"],
                    f["size"],
                    f["sent_in"],
                    f["for"],
                    f["uploaded_at"],
                    f["saved_as"] or f.get("not_included", ""),
                ]
                for f in report.get("files", [])
            ],
        )
    )
    out.append('<h2 class="govuk-heading-m">How your forms were linked to this record</h2>')
    out.append(
        _table(
            "Links and decisions",
            ["When", "What", "How", "By", "Undone"],
            [[link["at"], link["what"], link["how"], link["by"], link["undone_at"]] for link in report["links"]],
        )
    )
    out.append(
        _table(
            "Other records that may be you",
            ["Other record", "Decision", "Found", "Decided"],
            [[m["other_record"], m["decision"], m["at"], m["decided_at"]] for m in report["possible_matches"]],
        )
    )
    out.append('<h2 class="govuk-heading-m">Who looked at your record</h2>')
    out.append(
        _table(
            "Views of your record and cases by staff",
            ["When", "Department", "What"],
            [[a["at"], a["department"], a["what"]] for a in report["seen_by"]],
        )
    )
    return "\n".join(out)


_STYLE = """
body{font-family:Arial,sans-serif;margin:2em;max-width:60em;color:#0b0c0c;line-height:1.4}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}
caption{text-align:left;font-weight:bold;margin-bottom:.5em}
th,td{border-bottom:1px solid #b1b4b6;padding:.4em .6em;text-align:left;vertical-align:top}
dl{display:grid;grid-template-columns:14em 1fr;gap:.3em 1em}dt{font-weight:bold}dd{margin:0}
.cf-none{color:#505a5f}
@media print{body{margin:0}h2,h3{break-after:avoid}tr{break-inside:avoid}}
"""


def html_document(report: dict[str, Any]) -> str:
    """The report as a whole HTML page to keep, print or send (styles inside, no scripts)."""
    title = escape(report["title"])
    return (
        f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{html_body(report)}\n</main>\n"
        "</body>\n</html>\n"
    )


# What the report says of a file whose bytes could not be found when the ZIP file was made.
NOT_INCLUDED = "Not included: the file could not be found in our storage"


def write_bundle(
    report: dict[str, Any], files: Sequence[tuple[str, Callable[[], BinaryIO]]], out: IO[bytes]
) -> list[str]:
    """The report as one ZIP file: each file the person sent at its ``saved_as`` path, then
    ``report.json`` and ``report.html``. ``files`` pairs each report file's ``saved_as`` with a
    function opening its bytes (the caller's storage); they are copied a piece at a time, never
    read whole. A file whose bytes cannot be found (its opener raises LookupError, as storage's
    FileNotStored is) is left out, and the report written after the files says so in its place,
    rather than the whole report failing. Returns the ``saved_as`` of the files left out."""
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for saved_as, opener in files:
            try:
                source = opener()
            except LookupError:
                missing.append(saved_as)
                continue
            with source, bundle.open(saved_as, "w", force_zip64=True) as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
        if missing:
            shown = [
                {**f, "saved_as": None, "not_included": NOT_INCLUDED} if f["saved_as"] in missing else f
                for f in report.get("files", [])
            ]
            report = {**report, "files": shown}
        bundle.writestr("report.json", as_json(report))
        bundle.writestr("report.html", html_document(report))
    return missing
