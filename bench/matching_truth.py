"""Benchmark of citizen matching against known truth (issue 16).

Generated residents (bench/matching_data.py: nicknames, typos, accents and capitals, new
emails, moves, phones written another way, swapped day and month; couples sharing one email,
phone and address, twins, namesakes, someone using another person's NHS number) are sent
through the real submit path (``runtime.services.submitting``: form session, every page saved,
the submission with its case), and ``civicforms worker``'s matching (runtime.services.matching)
runs every ``--batch`` submissions, as it would beside a live site.

Then, against the truth (which applications are one person):

- **precision of automatic links**: of the pairs of submissions filed under one record (by the
  deterministic tier or by an automatic link), the share that are one person (target 0.995);
- **recall of links plus review items**: of the pairs that are one person, the share that are
  on one record or on two records put to staff as a possible match (target 0.98);
- **review items per 1,000 submissions**: the pairs staff would have to look at.

Splink's labelled ``fake_1000`` (bench/data/fake_1000.csv) is a second check, scored with the
same model and thresholds directly (it belongs to no service).

``--sweep`` chooses the review weight on this benchmark: it runs once with a very low review
weight (``SWEEP_FLOOR``, through CIVICFORMS_MATCH_REVIEW_WEIGHT) so that every scored pair is kept
as a candidate, then prints, for several review weights, the recall with review and the review
items per 1,000 submissions the stored candidates' weights would give (the automatic links are
the link weight's either way).

Run: ``.venv/bin/python bench/matching_truth.py [--residents 1000] [--seed 1] [--database
sqlite|postgresql+psycopg://...] [--json out.json] [--explain N] [--sweep]``. Exits 1 when a
target is missed.
See docs/performance.md ("Matching against known truth").
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any  # noqa: E402

from sqlmodel import select  # noqa: E402

from bench import matching_data  # noqa: E402
from bench.run import machine, maxrss_mb, out, prepare_database, table  # noqa: E402
from runtime import db as dbmod  # noqa: E402
from runtime import versions  # noqa: E402
from runtime.cases import CaseUrls  # noqa: E402
from runtime.data import form_sessions  # noqa: E402
from runtime.journey import Journey  # noqa: E402
from runtime.models import MatchCandidate, MatchingJob, Submission  # noqa: E402
from runtime.services import submitting, uploading  # noqa: E402
from runtime.validation import compiled  # noqa: E402

PRECISION_TARGET = 0.995
RECALL_TARGET = 0.98
MINUTES = 60
SECRET = "bench-secret-key-not-for-production-0123456789"
URLS = CaseUrls("http://127.0.0.1:5000")
# --sweep: every pair the worker scores above this is stored as a candidate.
SWEEP_FLOOR = -60.0
SWEEP_WEIGHTS = (-10.0, -8.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def send(
    engine: Any, definitions: dict[str, Any], answers: dict[str, Any], service_id: str, files: uploading.Uploads
) -> str:
    """One application the whole way: a form session, each page saved, then sent. A file
    question's file goes through the upload use case (checked, scanned, stored: its answer is
    the stored file's, not the generated answer's placeholder)."""
    definition = definitions[service_id]
    with dbmod.session(engine) as s:
        token = submitting.start(session=s, service=definition, minutes=MINUTES)
        state = form_sessions.read_form_session(session=s, token=token)
        assert state is not None
        journey = Journey(compiled(definition), {})
        while (page := journey.first_incomplete) is not None and not page.stop:
            given = {q: answers[q] for q in page.questions if q in answers}
            for q in set(given) & set(definition.file_questions):
                given[q] = _upload(s, files, definition, state, q)
            journey = submitting.save_page(
                session=s,
                journey=journey,
                form_session=state,
                page=page,
                given=given,
                minutes=MINUTES,
                max_answers_bytes=1_000_000,
            )
        sent = submitting.submit(
            session=s, service=definition, form_session=state, minutes=MINUTES, secret_key=SECRET, urls=URLS
        )
        return sent.reference


def _upload(session: Any, files: uploading.Uploads, definition: Any, state: Any, question: str) -> Any:
    """Upload the generated file for ``question`` (bench/matching_data.py's choice): its answer."""
    file = matching_data.upload_for(definition, question)
    path = files.incoming_path()
    path.write_bytes(file.content)
    uploading.receive(
        session=session,
        files=files,
        definition=definition,
        form_session=state,
        question=question,
        filename=file.name,
        path=path,
        minutes=MINUTES,
    )
    return state.answers[question]


def run_worker(engine: Any, settings: Any) -> int:
    """Drain the matching jobs as ``civicforms worker`` would; returns how many ran."""
    from runtime.services import matching

    ran = 0
    while True:
        with dbmod.session(engine) as s:
            summary = matching.run_jobs(s, limit=200, settings=settings)
        ran += summary.jobs
        if not summary.jobs:
            return ran


def evaluate(engine: Any, references: list[str], truth: set[frozenset[int]]) -> dict[str, Any]:
    """Pairwise precision of automatic links, recall of links plus review items."""
    index = {ref: i for i, ref in enumerate(references)}
    with dbmod.session(engine) as s:
        record_of = {
            index[ref]: cid for ref, cid in s.exec(select(Submission.reference, Submission.citizen_id)) if ref in index
        }
        stored = [
            (a, b, weight, evidence or {})
            for a, b, weight, evidence in s.exec(
                select(
                    MatchCandidate.citizen_id,
                    MatchCandidate.other_citizen_id,
                    MatchCandidate.match_weight,
                    MatchCandidate.evidence,
                ).where(MatchCandidate.status == "pending")
            )
        ]
        pending = [(a, b) for a, b, _, _ in stored]
        failed = s.exec(select(MatchingJob.id).where(MatchingJob.status != "done")).all()
    members: dict[int, list[int]] = defaultdict(list)
    for i, cid in record_of.items():
        members[cid].append(i)
    linked = {frozenset(p) for group in members.values() for p in itertools.combinations(group, 2)}
    review = {frozenset((x, y)) for a, b in pending for x in members.get(a, []) for y in members.get(b, [])}
    evaluate.sweep = [  # type: ignore[attr-defined]
        _at_review_weight(weight, stored, members, linked, truth, len(references)) for weight in SWEEP_WEIGHTS
    ]
    links = matching_data.pairwise_scores(linked, truth)
    both = matching_data.pairwise_scores(linked | review, truth)
    evaluate.missed = sorted(tuple(sorted(p)) for p in truth - linked - review)  # type: ignore[attr-defined]
    evaluate.wrong = sorted(tuple(sorted(p)) for p in linked - truth)  # type: ignore[attr-defined]
    return {
        "submissions": len(references),
        "records": len(members),
        "true_pairs": len(truth),
        "automatic_precision": round(links["precision"], 4),
        "automatic_recall": round(links["recall"], 4),
        "automatic_false_pairs": links["fp"],
        "recall_with_review": round(both["recall"], 4),
        "missed_pairs": both["fn"],
        "review_items": len(pending),
        "review_items_per_1000": round(1000 * len(pending) / max(1, len(references)), 1),
        "jobs_not_done": len(failed),
    }


def _kept(weight: float, evidence: dict[str, Any], review_weight: float) -> bool:
    """Whether the worker would keep a stored candidate at ``review_weight``: from the review weight
    up, or whenever an NHS or NI number is shared (runtime.services.matching.decide)."""
    shared = any((evidence.get(k) or {}).get("level") == "agree" for k in ("nhs_number", "ni_number"))
    return weight >= review_weight or shared


def _at_review_weight(
    review_weight: float,
    stored: list[tuple[int, int, float, dict[str, Any]]],
    members: dict[int, list[int]],
    linked: set[frozenset[int]],
    truth: set[frozenset[int]],
    submissions: int,
) -> dict[str, Any]:
    """Recall with review and review items per 1,000 if only candidates at ``review_weight`` were kept."""
    kept = [(a, b) for a, b, weight, evidence in stored if _kept(weight, evidence, review_weight)]
    review = {frozenset((x, y)) for a, b in kept for x in members.get(a, []) for y in members.get(b, [])}
    both = matching_data.pairwise_scores(linked | review, truth)
    true_items = sum(
        any(frozenset((x, y)) in truth for x in members.get(a, []) for y in members.get(b, [])) for a, b in kept
    )
    return {
        "review_weight": review_weight,
        "recall_with_review": round(both["recall"], 4),
        "review_items": len(kept),
        "review_items_same_person": true_items,
        "review_items_per_1000": round(1000 * len(kept) / max(1, submissions), 1),
    }


def fake_1000(link_weight: float, review_weight: float) -> dict[str, Any]:
    """Splink's labelled fake_1000, scored by the shipped model with blocking, at the thresholds."""
    from runtime import linkage

    rows = matching_data.fake_1000_profiles()
    profiles = [
        {
            "unique_id": str(r["unique_id"]),
            "full_name": " ".join(p for p in (r["first_name"], r["surname"]) if p).casefold() or None,
            "date_of_birth": r["dob"],
            "email": (r["email"] or "").lower() or None,
            "phone": None,
            "postcode": None,
            "nhs_number": None,
            "ni_number": None,
        }
        for r in rows
    ]
    truth = matching_data.pairs_from_clusters([r["cluster"] for r in rows])
    started = time.perf_counter()
    scored = linkage.rematch(profiles, linkage.load_model(), threshold_weight=review_weight)
    seconds = time.perf_counter() - started
    linked = {frozenset((int(p.left_id), int(p.right_id))) for p in scored if p.match_weight >= link_weight}
    either = {frozenset((int(p.left_id), int(p.right_id))) for p in scored}
    links = matching_data.pairwise_scores(linked, truth)
    both = matching_data.pairwise_scores(either, truth)
    return {
        "rows": len(rows),
        "true_pairs": len(truth),
        "automatic_precision": round(links["precision"], 4),
        "automatic_recall": round(links["recall"], 4),
        "recall_with_review": round(both["recall"], 4),
        "review_pairs": len(either - linked),
        "seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=50, help="submissions between two worker runs")
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--explain", type=int, default=0, help="print this many missed and wrong pairs")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="keep every scored pair, then print recall and review load per review weight",
    )
    args = parser.parse_args(argv)
    import os

    from runtime.settings import from_environment

    if args.sweep:
        os.environ["CIVICFORMS_MATCH_REVIEW_WEIGHT"] = str(SWEEP_FLOOR)
    settings = from_environment()
    if not settings.clamd_address and not settings.allow_unscanned_uploads:
        parser.error("Blue Badge's files are scanned: set CIVICFORMS_CLAMD_ADDRESS (clamd's socket or host:port)")
    applications = matching_data.residents(args.residents, args.seed)
    truth = matching_data.truth_pairs(applications)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as workdir:
        url = prepare_database(args.database, Path(workdir))
        # Blue Badge's files: kept in a folder of this run.
        files = uploading.uploads_for(
            replace(settings, upload_dir=Path(workdir) / "uploads", quarantine_dir=Path(workdir) / "quarantine")
        )
        engine = dbmod.make_engine(url)
        with dbmod.session(engine) as s:
            definitions = {
                sid: versions.definition(session=s, service_id=sid) for sid in {a.service_id for a in applications}
            }
        references = []
        started = time.perf_counter()
        worker_seconds = 0.0
        jobs = 0
        for i, application in enumerate(applications, start=1):
            answers = matching_data.answers_for(definitions[application.service_id], application.details, rng)
            references.append(send(engine, definitions, answers, application.service_id, files))
            if i % args.batch == 0:
                tick = time.perf_counter()
                jobs += run_worker(engine, settings)
                worker_seconds += time.perf_counter() - tick
        tick = time.perf_counter()
        jobs += run_worker(engine, settings)
        worker_seconds += time.perf_counter() - tick
        total = time.perf_counter() - started
        result = evaluate(engine, references, truth)
        engine.dispose()
    result.update(
        {
            "residents": args.residents,
            "mix": matching_data.mix(applications),
            "link_weight": settings.match_link_weight,
            "review_weight": settings.match_review_weight,
            "jobs": jobs,
            "worker_seconds": round(worker_seconds, 1),
            "ms_per_job": round(1000 * worker_seconds / max(1, jobs), 1),
            "seconds": round(total, 1),
            "max_rss_mb": round(maxrss_mb(), 1),
        }
    )
    if args.sweep:
        from runtime.settings import MATCH_DEFAULTS

        result["sweep"] = evaluate.sweep  # type: ignore[attr-defined]
        result["fake_1000"] = fake_1000(settings.match_link_weight, MATCH_DEFAULTS["review"])
        result["fake_1000_sweep"] = [
            {"review_weight": w, **fake_1000(settings.match_link_weight, w)} for w in SWEEP_WEIGHTS
        ]
    else:
        result["fake_1000"] = fake_1000(settings.match_link_weight, settings.match_review_weight)
    out(f"Matching against known truth: {args.residents} residents, {result['submissions']} submissions")
    table(
        ["measure", "value", "target"],
        [
            ["precision of automatic links", result["automatic_precision"], f">= {PRECISION_TARGET}"],
            ["recall of automatic links", result["automatic_recall"], ""],
            ["recall of links + review items", result["recall_with_review"], f">= {RECALL_TARGET}"],
            ["review items per 1,000 submissions", result["review_items_per_1000"], ""],
            ["records made", result["records"], f"{args.residents} people"],
            ["matching jobs / ms per job", f"{jobs} / {result['ms_per_job']}", ""],
        ],
    )
    f1000 = result["fake_1000"]
    out(
        f"fake_1000: precision {f1000['automatic_precision']}, recall with review {f1000['recall_with_review']}, "
        f"{f1000['review_pairs']} review pairs, {f1000['seconds']} s"
    )
    if args.sweep:
        out(f"Sweep of the review weight (link weight {settings.match_link_weight}; review items are pairs of records)")
        table(
            [
                "review weight",
                "recall with review",
                "review items",
                "of them one person",
                "per 1,000",
                "fake_1000 recall",
            ],
            [
                [
                    row["review_weight"],
                    row["recall_with_review"],
                    row["review_items"],
                    row["review_items_same_person"],
                    row["review_items_per_1000"],
                    f["recall_with_review"],
                ]
                for row, f in zip(result["sweep"], result["fake_1000_sweep"], strict=True)
            ],
        )
    for title, pairs in (("missed", evaluate.missed), ("wrongly linked", evaluate.wrong)):  # type: ignore[attr-defined]
        for a, b in pairs[: args.explain]:
            out(f"{title}: {applications[a].tags} {applications[a].details}")
            out(f"    {' ' * len(title)} {applications[b].tags} {applications[b].details}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), **result}, indent=2, default=str))
    ok = result["automatic_precision"] >= PRECISION_TARGET and result["recall_with_review"] >= RECALL_TARGET
    return 0 if ok and not result["jobs_not_done"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
