"""Matching's use cases: the probabilistic tier run by ``civicforms worker`` (``run_jobs``), and
``civicforms citizens rematch`` and ``train``.

A matching job names a submission the deterministic tier was unsure about. The worker claims a
batch of due jobs, finds the records that share a blocking key with each job's submission (one
query of the (kind, value) index for the whole batch), scores every job's profile against its
candidates' profiles in one Splink call (runtime.linkage), and decides per candidate record (its
score is that of its best-scoring submission):

- joined automatically only at or above the link weight, with no strong identifier (NHS or NI
  number) disagreeing, and at least two fields agreeing with positive weight, one of them the
  name or the date of birth: one identifier alone never joins people. Only a submission that got
  a record of its own at submit time is joined this way (its record into the candidate's); a
  submission the exact tier filed under an existing record gives a pair for staff instead;
- a pair for staff (``records.suggest_pair``, which never re-suggests a decided pair) from the
  review weight up, or above the link weight when a rule stops the join, or whenever the two
  share an NHS or NI number (a typo, or someone using another person's number);
- nothing below.

Each job's decision is its own transaction: a job that fails is retried with back-off (as the
outbox) and never blocks the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from .. import citizens
from ..data import records
from ..data.citizens import identifier_lookup
from ..models import (
    Citizen,
    CitizenIdentifier,
    CitizenLink,
    LinkageModel,
    MatchingJob,
    utcnow,
)
from ..outbox import backoff
from .unit_of_work import atomic

if TYPE_CHECKING:
    from ..linkage import Model, Scored
    from ..settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# A claimed job is not due again for this long: a worker that dies mid-batch leaves its jobs to
# another worker once the lease runs out.
LEASE = timedelta(minutes=10)
# Profile fields (runtime.linkage.PROFILE_FIELDS) from the identifier kinds that carry them.
PROFILE_KINDS = ("full_name", "date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number")
# Fields of the evidence that count as agreeing for the "two fields, one of them name or date of
# birth" rule; name and date of birth also count when close (a nickname, a swapped day and month).
PERSON_FIELDS = ("name", "date_of_birth")
Progress = Callable[[str, int, int], None]
# The worker scores its small batches on embedded DuckDB whatever CIVICFORMS_LINKAGE_BACKEND says
# (a Spark job costs about 0.5 s a batch against 0.02 s): the setting is for rematch and train.
WORKER_BACKEND = "duckdb"


@dataclass
class Summary:
    """What a run of the worker did."""

    jobs: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0  # failed for the last time
    joined: int = 0
    suggested: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass
class Decision:
    """What the rule says about one pair of records."""

    action: str  # "join", "suggest" or "none"
    reason: str = ""


# -- the decision rule -------------------------------------------------------------------------


def _agreeing(evidence: Mapping[str, Mapping[str, Any]]) -> set[str]:
    out = set()
    for name, item in evidence.items():
        level, weight = item.get("level"), item.get("weight") or 0.0
        if weight <= 0:
            continue  # a household's shared email is no evidence (the model gives it no weight)
        if level == "agree" or (level == "close" and name in PERSON_FIELDS):
            out.add(name)
    return out


def decide(
    scored_weight: float,
    evidence: Mapping[str, Mapping[str, Any]],
    *,
    link_weight: float,
    review_weight: float,
    strong_conflict: bool = False,
) -> Decision:
    """The rule for one pair: join, suggest to staff, or nothing (see the module's docstring)."""
    if scored_weight < review_weight:
        if any(evidence.get(k, {}).get("level") == "agree" for k in ("nhs_number", "ni_number")):
            # Two people giving one NHS or NI number: a typo, or someone using another's
            # number. Staff should know, whatever else disagrees.
            return Decision("suggest", "an NHS or NI number is shared")
        return Decision("none")
    if scored_weight < link_weight:
        return Decision("suggest", "between the thresholds")
    if strong_conflict or any(evidence.get(k, {}).get("level") == "disagree" for k in ("nhs_number", "ni_number")):
        return Decision("suggest", "a strong identifier disagrees")
    if any(evidence.get(k, {}).get("level") == "disagree" for k in PERSON_FIELDS):
        return Decision("suggest", "the name or the date of birth disagrees")
    agreeing = _agreeing(evidence)
    if len(agreeing) < 2 or not agreeing & set(PERSON_FIELDS):
        return Decision("suggest", "fewer than two fields agree, or neither name nor date of birth")
    return Decision("join")


def _evidence(scored: Scored) -> dict[str, dict[str, Any]]:
    """The evidence kept with a pair or link: level and weight per field (no values)."""
    return {name: {"level": item["level"], "weight": item["weight"]} for name, item in scored.evidence.items()}


def _strong_conflict(mine: Mapping[str, set[str]], theirs: Mapping[str, set[str]]) -> bool:
    """A record holding another NHS or NI number than any the other holds."""
    return any(mine.get(k) and theirs.get(k) and not mine[k] & theirs[k] for k in citizens.STRONG)


# -- the model ---------------------------------------------------------------------------------

_models: dict[int | None, Model] = {}


def model_from_row(data: Mapping[str, Any]) -> Model:
    """A linkage model from a linkage_model row's JSON (runtime.linkage reads only files)."""
    from ..linkage import MODEL_FORMAT, Model

    if data.get("format") != MODEL_FORMAT:
        raise ValueError(f"unsupported linkage model format {data.get('format')!r}")
    return Model(settings=data["splink_settings"], term_frequencies=data.get("term_frequencies", {}))


def current_model(session: Session) -> Model:
    """The newest trained model (the shipped one when none was trained), kept per process by id."""
    from .. import linkage

    newest = session.exec(select(LinkageModel.id).order_by(col(LinkageModel.id).desc()).limit(1)).first()
    model = _models.get(newest)
    if model is None:
        if newest is None:
            model = linkage.load_model()
        else:
            row = session.get(LinkageModel, newest)
            assert row is not None
            model = model_from_row(row.model)
        _models.clear()  # an older model's Splink linker is ~MBs: keep one
        _models[newest] = model
    return model


# -- profiles ----------------------------------------------------------------------------------


def _profiles(rows: Iterable[tuple[int | None, int, str, str]]) -> tuple[dict[int, dict[str, Any]], dict[int, int]]:
    """(submission, record, kind, value) rows -> submission -> profile, and submission -> record."""
    profiles: dict[int, dict[str, Any]] = {}
    record_of: dict[int, int] = {}
    for sid, cid, kind, value in rows:
        if sid is None or kind not in PROFILE_KINDS:
            continue
        profile = profiles.setdefault(sid, {"unique_id": str(sid)})
        profile[kind] = value
        record_of[sid] = cid
    return profiles, record_of


def _identifier_rows(session: Session, where: Any) -> list[tuple[int | None, int, str, str]]:
    query = (
        select(
            CitizenIdentifier.submission_id,
            CitizenIdentifier.citizen_id,
            CitizenIdentifier.kind,
            CitizenIdentifier.value,
        )
        .join(Citizen, col(Citizen.id) == CitizenIdentifier.citizen_id)
        .where(where, col(Citizen.erased_at).is_(None))
    )
    return [tuple(row) for row in session.exec(query)]  # type: ignore[misc]


def blocking_keys(profile: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, value) index probes that find every record runtime.linkage's blocking rules
    would pair with this profile: the strong identifiers, email and phone, the name, the date of
    birth as given and swapped (for surname or postcode with it), and the postcode (for the first
    name with it). The broad ones are narrowed by ``linkage.blocking_keys`` afterwards."""
    found = {k: v for k, v in profile.items() if k in PROFILE_KINDS and v}
    keys = citizens.lookup_keys(found)
    if found.get("postcode"):
        keys.append(("postcode", found["postcode"]))
    return keys


def _blocked_together(mine: Mapping[str, tuple[str, ...]], theirs: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether two profiles share a key of any of runtime.linkage's blocking rules."""
    for name, values in mine.items():
        if name == "date_of_birth_swapped":
            continue
        if theirs.get(name) == values:
            return True
    return False


def _swapped_match(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    born, other = a.get("date_of_birth"), b.get("date_of_birth")
    return bool(born and other and citizens.swapped(born) == other)


# -- the worker ----------------------------------------------------------------------------------


def claim(session: Session, *, limit: int, now: datetime) -> list[MatchingJob]:
    """Take up to ``limit`` due jobs: each gets one more attempt and a lease (committed), so that
    another worker skips them while this one scores. PostgreSQL: ``FOR UPDATE SKIP LOCKED``."""
    with atomic(session):
        query = (
            select(MatchingJob)
            .where(MatchingJob.status == "pending", col(MatchingJob.next_attempt_at) <= now)
            .order_by(col(MatchingJob.next_attempt_at), col(MatchingJob.id))
            .limit(max(1, limit))
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        jobs = list(session.exec(query))
        taken = []
        for job in jobs:
            # Conditional on the attempts seen: on SQLite a second worker that read the same row
            # finds it taken (no row updated) and leaves it.
            result = session.execute(
                update(MatchingJob)
                .where(col(MatchingJob.id) == job.id, col(MatchingJob.attempts) == job.attempts)
                .values(attempts=job.attempts + 1, next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(job)
        ids = [job.id for job in taken]
    return list(session.exec(select(MatchingJob).where(col(MatchingJob.id).in_(ids)))) if ids else []


def _finish(session: Session, job_id: int, *, now: datetime) -> None:
    session.execute(
        update(MatchingJob)
        .where(col(MatchingJob.id) == job_id)
        .values(status="done", done_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )


def _fail(session: Session, job_id: int, error: BaseException, *, now: datetime, summary: Summary) -> None:
    """Put a job back with back-off, or give up on it after MAX_ATTEMPTS (its own transaction)."""
    text = " ".join(f"{type(error).__name__}: {error}".split())[:500]
    session.rollback()
    attempts = session.exec(select(MatchingJob.attempts).where(MatchingJob.id == job_id)).one()
    values: dict[str, Any]
    if attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "last_error": text}
        summary.failed += 1
        log.error("matching: job %s failed for good after %s attempts: %s", job_id, attempts, text)
    else:
        values = {"next_attempt_at": now + backoff(attempts), "last_error": text}
        summary.retried += 1
        log.warning("matching: job %s failed (attempt %s), will retry: %s", job_id, attempts, text)
    with atomic(session):
        session.execute(
            update(MatchingJob)
            .where(col(MatchingJob.id) == job_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    summary.errors.append(f"job {job_id}: {text}")


@dataclass
class _Batch:
    jobs: list[MatchingJob]
    profiles: dict[int, dict[str, Any]]  # submission -> profile (jobs' and candidates')
    record_of: dict[int, int]  # submission -> record now
    candidates: dict[int, list[int]]  # job's submission -> candidate submissions
    held: dict[int, dict[str, set[str]]]  # record -> strong identifiers held


def _gather(session: Session, jobs: Sequence[MatchingJob]) -> _Batch:
    """Jobs' profiles and their candidates', in three queries for the whole batch."""
    from .. import linkage

    sids = [job.submission_id for job in jobs]
    profiles, record_of = _profiles(_identifier_rows(session, col(CitizenIdentifier.submission_id).in_(sids)))
    keys = sorted({key for sid in sids if sid in profiles for key in blocking_keys(profiles[sid])})
    found: list[tuple[int | None, int, str, str]] = []
    if keys:
        hits = {
            sid
            for sid in session.exec(
                select(CitizenIdentifier.submission_id)
                .join(Citizen, col(Citizen.id) == CitizenIdentifier.citizen_id)
                .where(identifier_lookup(keys), col(Citizen.erased_at).is_(None))
            )
            if sid is not None
        }
        hits -= set(profiles)
        if hits:
            found = _identifier_rows(session, col(CitizenIdentifier.submission_id).in_(sorted(hits)))
    more, more_records = _profiles(found)
    profiles.update(more)
    record_of.update(more_records)
    blocks = {sid: linkage.blocking_keys(p) for sid, p in profiles.items()}
    candidates: dict[int, list[int]] = {}
    for sid in sids:
        if sid not in profiles:
            continue
        mine = record_of[sid]
        candidates[sid] = [
            other
            for other in profiles
            if other != sid
            and record_of[other] != mine
            and (_blocked_together(blocks[sid], blocks[other]) or _swapped_match(profiles[sid], profiles[other]))
        ]
    held: dict[int, dict[str, set[str]]] = {}
    for sid, profile in profiles.items():
        record = held.setdefault(record_of[sid], {})
        for kind in citizens.STRONG:
            if profile.get(kind):
                record.setdefault(kind, set()).add(profile[kind])
    return _Batch(list(jobs), profiles, record_of, candidates, held)


def _score(batch: _Batch, model: Model, backend: str, sids: Sequence[int]) -> dict[frozenset[str], Scored]:
    """Every job's profile against its candidates, in one Splink call."""
    from .. import linkage

    new = [batch.profiles[sid] for sid in sids if sid in batch.profiles]
    new_ids = {p["unique_id"] for p in new}
    wanted = sorted({c for sid in sids for c in batch.candidates.get(sid, ())} - {int(i) for i in new_ids})
    scored = linkage.score(new, [batch.profiles[c] for c in wanted], model, backend=backend)  # type: ignore[arg-type]
    return {frozenset((s.left_id, s.right_id)): s for s in scored}


def _auto_joinable(session: Session, submission_id: int) -> bool:
    """Whether the submission got a record of its own at submit time (then matching may join that
    record into another); one the exact tier filed under a record only gives pairs for staff."""
    method = session.exec(
        select(CitizenLink.method)
        .where(CitizenLink.submission_id == submission_id, col(CitizenLink.undone_at).is_(None))
        .order_by(col(CitizenLink.id).desc())
    ).first()
    return method == "new"


def _decide_job(
    session: Session,
    batch: _Batch,
    sid: int,
    pairs: Mapping[frozenset[str], Scored],
    settings: Settings,
    summary: Summary,
) -> None:
    """Apply the rule to each candidate record of one job's submission (caller's transaction)."""
    best: dict[int, Scored] = {}
    for other in batch.candidates.get(sid, ()):
        scored = pairs.get(frozenset((str(sid), str(other))))
        if scored is None:
            continue
        record = batch.record_of[other]
        if record not in best or scored.match_weight > best[record].match_weight:
            best[record] = scored
    mine = records.current_record(session, batch.record_of[sid])
    joinable = _auto_joinable(session, sid)
    joined = False
    for record, scored in sorted(best.items(), key=lambda item: -item[1].match_weight):
        record = records.current_record(session, record)
        if record == mine:
            continue
        conflict = _strong_conflict(batch.held.get(batch.record_of[sid], {}), batch.held.get(record, {}))
        decision = decide(
            scored.match_weight,
            scored.evidence,
            link_weight=settings.match_link_weight,
            review_weight=settings.match_review_weight,
            strong_conflict=conflict,
        )
        if decision.action == "none":
            continue
        if (
            decision.action == "join"
            and joinable
            and not joined
            and not records.decided_different(session, mine, record)
        ):
            records.merge_records(
                session,
                citizen_id=mine,
                into_citizen_id=record,
                method="probabilistic",
                match_weight=scored.match_weight,
                evidence=_evidence(scored),
            )
            mine, joined = record, True
            summary.joined += 1
            continue
        if records.suggest_pair(
            session,
            citizen_id=mine,
            other_citizen_id=record,
            match_weight=scored.match_weight,
            match_probability=scored.match_probability,
            evidence=_evidence(scored),
            submission_id=sid,
        ):
            summary.suggested += 1


def run_jobs(
    session: Session, *, limit: int, settings: Settings, model: Model | None = None, now: datetime | None = None
) -> Summary:
    """Run up to ``limit`` due matching jobs; each job's decisions are one transaction, and a job
    that fails is retried later without holding up the others."""
    started = time.perf_counter()
    summary = Summary()
    moment = now or utcnow()
    jobs = claim(session, limit=limit, now=moment)
    summary.jobs = len(jobs)
    if not jobs:
        return summary
    model = model or current_model(session)
    work = [(job.id, job.submission_id) for job in jobs if job.id is not None]
    batch = _gather(session, jobs)
    session.rollback()  # end the reads' transaction before scoring (PostgreSQL: no idle snapshot)
    sids = [sid for _, sid in work]
    broken: dict[int, BaseException] = {}
    try:
        pairs = _score(batch, model, WORKER_BACKEND, sids)
    except Exception:  # noqa: BLE001 - find which job's profiles fail, and score the rest
        pairs = {}
        for sid in sids:
            try:
                pairs.update(_score(batch, model, WORKER_BACKEND, [sid]))
            except Exception as exc:  # noqa: BLE001
                broken[sid] = exc
    for job_id, sid in work:
        try:
            if sid in broken:
                raise broken[sid]
            with atomic(session):
                if sid in batch.profiles:
                    _decide_job(session, batch, sid, pairs, settings, summary)
                _finish(session, job_id, now=moment)
            summary.done += 1
        except Exception as exc:  # noqa: BLE001 - one job's failure is retried; the others go on
            _fail(session, job_id, exc, now=moment, summary=summary)
    summary.seconds = time.perf_counter() - started
    return summary


# -- rematch and train ---------------------------------------------------------------------------


def all_profiles(session: Session) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Every submission's profile on a record not erased, and the record each is on."""
    profiles, record_of = _profiles(_identifier_rows(session, col(CitizenIdentifier.submission_id).is_not(None)))
    return list(profiles.values()), record_of


@dataclass
class RematchSummary:
    profiles: int = 0
    pairs: int = 0
    joined: int = 0
    suggested: int = 0
    skipped: int = 0  # decided different, or already one record


def rematch(
    session: Session, *, settings: Settings, progress: Progress | None = None, model: Model | None = None
) -> RematchSummary:
    """Score every record against every other (runtime.linkage.rematch over the blocking rules)
    and apply the worker's rule to each pair: pairs decided "different" are skipped, a strong
    identifier conflict is never joined. Records are joined only when the newer one holds only
    submissions matching gave a record of their own; otherwise a pair for staff. One transaction."""
    from .. import linkage

    model = model or current_model(session)
    profiles, record_of = all_profiles(session)
    summary = RematchSummary(profiles=len(profiles))
    session.rollback()
    scored = linkage.rematch(
        profiles,
        model,
        threshold_weight=settings.match_review_weight,
        progress=progress,
        backend=settings.linkage_backend,  # type: ignore[arg-type]
    )
    best: dict[tuple[int, int], Scored] = {}
    for pair in scored:
        a, b = record_of.get(int(pair.left_id)), record_of.get(int(pair.right_id))
        if a is None or b is None or a == b:
            continue
        key = (min(a, b), max(a, b))
        if key not in best or pair.match_weight > best[key].match_weight:
            best[key] = pair
    summary.pairs = len(best)
    held: dict[int, dict[str, set[str]]] = {}
    for profile in profiles:
        record = held.setdefault(record_of[int(profile["unique_id"])], {})
        for kind in citizens.STRONG:
            if profile.get(kind):
                record.setdefault(kind, set()).add(profile[kind])
    with atomic(session):
        for (low, high), pair in sorted(best.items(), key=lambda item: -item[1].match_weight):
            low_now, high_now = records.current_record(session, low), records.current_record(session, high)
            if low_now == high_now or records.decided_different(session, low_now, high_now):
                summary.skipped += 1
                continue
            decision = decide(
                pair.match_weight,
                pair.evidence,
                link_weight=settings.match_link_weight,
                review_weight=settings.match_review_weight,
                strong_conflict=_strong_conflict(held.get(low, {}), held.get(high, {})),
            )
            if decision.action == "none":
                continue
            newer, older = max(low_now, high_now), min(low_now, high_now)
            if decision.action == "join" and _only_new(session, newer):
                records.merge_records(
                    session,
                    citizen_id=newer,
                    into_citizen_id=older,
                    method="probabilistic",
                    match_weight=pair.match_weight,
                    evidence=_evidence(pair),
                )
                summary.joined += 1
                continue
            if records.suggest_pair(
                session,
                citizen_id=low_now,
                other_citizen_id=high_now,
                match_weight=pair.match_weight,
                match_probability=pair.match_probability,
                evidence=_evidence(pair),
            ):
                summary.suggested += 1
    return summary


def _only_new(session: Session, citizen_id: int) -> bool:
    """A record made by matching for one submission (nothing staff or the exact tier put there)."""
    methods = set(
        session.exec(
            select(CitizenLink.method).where(CitizenLink.citizen_id == citizen_id, col(CitizenLink.undone_at).is_(None))
        )
    )
    return methods == {"new"}


# Fewer submissions than this teach Splink nothing reliable (on three, its prior came out as 1,
# a model that cannot score): the shipped model is better.
MIN_TRAINING_PROFILES = 500


def train(session: Session, *, settings: Settings, progress: Progress | None = None) -> LinkageModel:
    """Estimate the model's parameters from every profile (runtime.linkage.train) and keep it as
    the newest linkage_model row, which the worker then uses. ValueError when there are too few
    submissions, or the trained model cannot score a pair: nothing is kept."""
    import json

    from .. import linkage

    profiles, _ = all_profiles(session)
    session.rollback()
    if len(profiles) < MIN_TRAINING_PROFILES:
        raise ValueError(
            f"{len(profiles)} submissions with details are too few to train on (at least {MIN_TRAINING_PROFILES}); "
            "the shipped model stays in use"
        )
    model = linkage.train(profiles, progress=progress, backend=settings.linkage_backend)  # type: ignore[arg-type]
    try:  # a model that cannot score would fail every matching job: refuse it here
        linkage.score(profiles[:1], profiles[1:2], model, backend=settings.linkage_backend)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - any failure means the model is unusable
        raise ValueError(f"the trained model cannot score pairs ({type(exc).__name__}: {exc}); nothing kept") from exc
    with atomic(session):
        row = LinkageModel(model=json.loads(model.to_json()), records=len(profiles))
        session.add(row)
        session.flush()
        session.refresh(row)
    return row
