"""Benchmark of routing at scale: a service whose every page can jump to the end (issue 13, finding 2).

``routed_service(pages)`` builds a service of ``pages`` yes-or-no pages where each page has
the rule the builder's routing form writes, "if the previous page's answer is yes, go to the
end", and a required "details" answer on the last of them, required by an ``allOf`` if/then
rule whose ``if`` is that page's condition written compactly (no earlier "yes"), then an
always-asked "Your details" page. Before the fix, the page conditions were expanded from a
shared structure into a tree that doubles with every page: the builder's publish page took
22 s at 16 pages and ``civicforms validate`` 12.7 s and 1.4 GB at 24.

Measured in-process, for 16, 20, 24, 50 and 100 pages:

1. ``runtime.checker.check`` of the definition (what ``civicforms validate`` runs per file);
2. the builder's publish page (``GET /services/<id>/publish``, signed in as a designer of the
   service's department, the service as a draft), and its pages list, through Flask's test
   client.

Goal (issue 13): each under a second at 100 pages.

Run: ``.venv/bin/python bench/routing_scale.py [--pages 16 20 24 50 100] [--json out.json]``.
See docs/performance.md ("Routing at scale").
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/builder.py would stand in
# for the project's "builder" package: look in the project root first instead.
BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any  # noqa: E402

from runtime.definition import FORMAT  # noqa: E402

SERVICE_ID = "routed-service"
DEPARTMENT = "Routing Bench"
SIZES = (16, 20, 24, 50, 100)
GOAL_SECONDS = 1.0
# The builder's pages that work out page conditions (the publish checklist's "every page can be
# reached", the summary of changes, the routing and condition forms), and the task list.
PAGES_MEASURED = (
    ("publish", "/services/{id}/publish"),
    ("task list", "/services/{id}/"),
    ("pages", "/services/{id}/pages"),
    ("page", "/services/{id}/pages/{page}/"),
    ("routing", "/services/{id}/pages/{page}/routing"),
    ("condition", "/services/{id}/pages/{page}/condition"),
    ("preview", "/services/{id}/preview"),
    ("try it", "/services/{id}/try/"),
)


def yes(name: str) -> dict[str, Any]:
    return {"properties": {name: {"const": True}}, "required": [name]}


def no_earlier_yes(count: int) -> dict[str, Any] | bool:
    """The condition "none of the first ``count`` answers is yes", as the builder writes it."""
    parts = [{"not": yes(f"answer_{k}")} for k in range(count)]
    if not parts:
        return True
    return parts[0] if len(parts) == 1 else {"allOf": parts}


def routed_service(pages: int, *, required_if: Any = None) -> dict[str, Any]:
    """A valid service of ``pages`` routed yes-or-no pages then "Your details".

    Page ``i`` asks ``answer_i``; from the second page on, its routing says "if the previous
    page's answer is yes, go to the end". The last routed page also asks ``details``, required
    under ``required_if`` (default: the page's own condition, "no earlier answer is yes").
    """
    last = pages - 1
    questions: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    page_list: list[dict[str, Any]] = []
    for i in range(pages):
        name = f"answer_{i}"
        questions[name] = {
            "label": f"Question {i + 1}: is it so?",
            "short_label": f"Question {i + 1}",
            "error_name": f"your answer to question {i + 1}",
            "widget": "yes-no",
        }
        properties[name] = {"type": "boolean"}
        page: dict[str, Any] = {"id": f"page-{i}", "title": f"Page {i + 1}", "questions": [name]}
        if i > 0:
            page["next"] = [{"if": yes(f"answer_{i - 1}"), "goto": "your-details"}]
        page_list.append(page)
    questions["details"] = {"label": "Tell us more", "short_label": "Details", "widget": "textarea"}
    properties["details"] = {"type": "string", "maxLength": 1200}
    page_list[last]["questions"].append("details")
    questions["full_name"] = {"label": "What is your full name?", "short_label": "Full name", "widget": "text"}
    properties["full_name"] = {"type": "string", "maxLength": 100}
    page_list.append({"id": "your-details", "title": "Your details", "questions": ["full_name"]})
    condition = no_earlier_yes(last - 1) if required_if is None else required_if
    return {
        "format": FORMAT,
        "id": SERVICE_ID,
        "version": 1,
        "title": "A service routed on every page",
        "description": "Every page can send the citizen to the end.",
        "department": DEPARTMENT,
        "live": True,
        "reference_prefix": "RS",
        "start": {"body": ["Answer the questions."], "button": "Start now"},
        "identity": {"full_name": "full_name"},
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": properties,
            "required": ["full_name"],
            "additionalProperties": False,
            "allOf": [{"if": condition, "then": {"required": ["details"]}}],
        },
        "questions": questions,
        "pages": page_list,
        "check_answers": {"title": "Check your answers", "declaration": ["It is all true."], "button": "Send"},
        "confirmation": {"title": "Sent", "next_steps": ["We will be in touch."]},
        "privacy": {"summary": ["We keep your answers for a year."]},
        "contact": {"email": "routing@example.gov.uk"},
    }


def _timed(run: Any) -> tuple[float, Any]:
    """Seconds of one call, and its result."""
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _peak_mb(run: Any) -> float:
    """Peak memory allocated during one call, in MB (a second call: tracing slows it down)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def measure_check(pages: int) -> dict[str, Any]:
    from runtime.checker import check

    check(routed_service(3))  # the checker's own validators, compiled once per process
    doc = routed_service(pages)
    seconds, problems = _timed(lambda: check(doc))
    return {
        "seconds": round(seconds, 4),
        "peak_mb": round(_peak_mb(lambda: check(doc)), 1),
        "problems": [p.message for p in problems],
    }


def measure_builder(sizes: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """GET each builder page that works out page conditions, for each size's service, as its designer."""
    import re

    from builder.web import create_builder_app
    from runtime import db as dbmod
    from runtime import staff
    from runtime.data import departments, drafts
    from runtime.settings import Settings

    password = "correct horse battery staple"
    email = "routing.designer@westbridge.example.gov.uk"
    out: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'routing.db'}"
        dbmod.upgrade(url)
        settings = Settings(
            environment="test", secret_key="bench-secret-" + "x" * 40, database_url=url, secure_cookies=False
        )
        app = create_builder_app({"SETTINGS": settings})
        engine = app.extensions["civicforms.engine"]
        with dbmod.session(engine) as s:
            department = departments.department_for_name(session=s, name=DEPARTMENT)
            assert department.id is not None
            department_id = department.id
            staff.create_user(
                session=s,
                email=email,
                name="Routing Designer",
                department_id=department_id,
                role=staff.DESIGNER,
                password=password,
            )
            s.commit()
        client = app.test_client()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/sign-in").get_data(as_text=True))
        assert token is not None, "the builder's sign-in page has no CSRF token"
        signed_in = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token[1]})
        assert signed_in.status_code == 303, f"the designer could not sign in ({signed_in.status_code})"
        for pages in sizes:
            doc = routed_service(pages)
            doc["id"] = f"{SERVICE_ID}-{pages}"
            with dbmod.session(engine) as s:
                user = staff.find_user(session=s, email=email)
                assert user is not None and user.id is not None
                drafts.create_draft(session=s, doc=doc, department_id=department_id, user_id=user.id)
                s.commit()
            figures: dict[str, Any] = {}
            for label, path in PAGES_MEASURED:
                path = path.format(id=doc["id"], page=f"page-{pages - 1}")
                seconds, response = _timed(lambda path=path: client.get(path))
                figures[label] = {"seconds": round(seconds, 4), "status": response.status_code}
            out[pages] = figures
        engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--no-builder", action="store_true", help="time check() only")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sizes = tuple(args.pages)
    result: dict[str, Any] = {"goal_seconds": GOAL_SECONDS, "check": {}, "builder": {}}
    for pages in sizes:
        result["check"][pages] = measure_check(pages)
        print(f"check() at {pages:>3} pages: {result['check'][pages]['seconds']:.3f} s", flush=True)  # noqa: T201
    if not args.no_builder:
        result["builder"] = measure_builder(sizes)
        for pages, figures in result["builder"].items():
            line = ", ".join(f"{k} {v['seconds']:.3f} s ({v['status']})" for k, v in figures.items())
            print(f"builder at {pages:>3} pages: {line}", flush=True)  # noqa: T201
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
