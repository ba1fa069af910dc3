"""Uploads benchmark (issue 18): the citizen app under gunicorn with the project's
``gunicorn.conf.py``, a real clamd (a signature database holding only the EICAR test signature)
and local storage, over real HTTP on 127.0.0.1.

1. **Concurrent uploads**: ``--concurrency`` citizens (20), each in their own form session on
   Blue Badge's upload page, send a file of the same size at once (``--sizes``, 1 and 10 MB;
   1MB = 1,048,576 bytes, as the limits count): throughput (MB/s, uploads/s), p50/p95 latency,
   and the gunicorn workers' memory (PSS from ``/proc/<pid>/smaps_rollup``, sampled every
   50 ms during the load, against the same worker just before it; and the peak RSS, VmHWM).
   A fresh server for each kind and size, warmed up with small uploads first, so that every
   load starts from the same state. Kinds (``--kinds``): ``pdf`` (proof of identity: a PDF whose
   bulk is one uncompressed image stream, kept as sent) and ``jpeg`` (the photo: a noisy
   photo-sized JPEG, about 0.85 bytes a pixel like a phone's, decoded and re-encoded).
2. **Time to clean**: one upload at a time, ``--repeat`` each, per size (``--clean-sizes``,
   100 KB, 1 MB, 10 MB): the upload post's latency (its answer is the 303 after the file is
   checked, scanned and stored: the file is clean when it comes), the time the client took to
   send the body, and the steps of ``runtime.services.uploading.receive`` timed in this process
   on the same file with the same functions (``check_file``, clamd's ``scan``, ``put_file`` and
   the thumbnail into a ``LocalStorage``); what is left of the latency is receiving the body,
   the database and the answer.

Every upload is checked: a 303 naming the new file, its bytes in the storage folder (a PDF's
byte for byte), the page listing it; and an EICAR PDF is refused as a virus, so a run without a
working clamd stops with an error instead of a figure.

Run: ``.venv/bin/python bench/uploads.py [--workers 2] [--json out.json]``; ``--quick`` for a
tiny run that checks it works (tests/test_bench_uploads.py). Figures in docs/performance.md,
"Issue 18: uploads".
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path: look in the project root first.
BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from bench import http_bench  # noqa: E402
from bench.http_bench import Browser, Server, children, out, pss_kb  # noqa: E402
from tests.journeys import HAPPY_PATHS, UploadFile, has_files, multipart_fields, upload_url  # noqa: E402
from tests.upload_servers import CLAMD, ClamdProcess, eicar_pdf, pdf_bytes, short_folder  # noqa: E402

SERVICE = "blue-badge"
BASE = f"/services/{SERVICE}"
# The page each kind is uploaded to, and its question.
TARGETS = {"pdf": ("proof-of-identity", "proof_of_identity"), "jpeg": ("photo", "photo")}
MIME = {"pdf": "application/pdf", "jpeg": "image/jpeg"}
MB = 1024 * 1024
UPLOADED = re.compile(r"[?&]uploaded=([0-9a-f]{32})(?:&|$)")
CHUNK = 256 * 1024
SAMPLE_SECONDS = 0.05


# -- the files -----------------------------------------------------------------------------------


def pdf_of_size(size: int, seed: int = 18) -> bytes:
    """A valid PDF of at most ``size`` bytes (within 3KB): one text page (tests/upload_servers.py's
    ``pdf_bytes``) and an uncompressed RGB image, 1000 pixels wide, of random pixels: the bulk of a
    scanned document, kept as sent."""
    rng = random.Random(seed)

    def build(rows: int) -> bytes:
        pixels = rng.randbytes(1000 * 3 * rows).decode("latin-1")
        image = (
            f"<< /Type /XObject /Subtype /Image /Width 1000 /Height {rows} /ColorSpace /DeviceRGB "
            f"/BitsPerComponent 8 /Length {len(pixels)} >>\nstream\n{pixels}\nendstream"
        )
        return pdf_bytes(objects=(image,), text="Passport scan")

    overhead = len(build(1)) - 3000
    rows = max(1, (size - overhead - 16) // 3000)
    data = build(rows)
    while len(data) > size and rows > 1:
        rows -= 1
        data = build(rows)
    return data


def jpeg_of_size(size: int, seed: int = 18) -> bytes:
    """A JPEG of 95-100% of ``size`` bytes, 4:3, of noise (sigma 64) at quality 90: about 0.85
    bytes a pixel, as a phone's photo (a 10MB one is about 12 megapixels), so its decoding costs
    what a real photo's of that size does."""
    from PIL import Image

    random.seed(seed)  # effect_noise draws from C's rand(): the same file each run is not promised

    def build(pixels: float) -> bytes:
        width = max(16, int((pixels * 4 / 3) ** 0.5))
        height = max(12, int(width * 3 / 4))
        image = Image.merge("RGB", [Image.effect_noise((width, height), 64) for _ in range(3)])
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        return buffer.getvalue()

    pixels = size / 0.85
    data = build(pixels)
    for _ in range(6):
        if 0.95 * size <= len(data) <= size:
            return data
        pixels *= (0.975 * size / len(data)) ** 1.0
        data = build(pixels)
    if len(data) > size:
        raise SystemExit(f"could not make a JPEG of at most {size} bytes")
    return data


def file_of(kind: str, size: int) -> UploadFile:
    content = pdf_of_size(size) if kind == "pdf" else jpeg_of_size(size)
    return UploadFile(f"bench {size // 1024}KB.{'pdf' if kind == 'pdf' else 'jpg'}", content, MIME[kind])


def size_label(size: int) -> str:
    return f"{size / MB:g} MB" if size >= MB else f"{size / 1024:g} KB"


# -- multipart posts -------------------------------------------------------------------------


@dataclass
class Posted:
    status: int
    location: str
    text: str
    sent_seconds: float  # from the first byte of the request to its last
    seconds: float  # from the first byte of the request to the whole answer


def post_files(browser: Browser, path: str, form: dict[str, Any]) -> Posted:
    """POST ``form`` (its files tests/journeys.py's UploadFile) as multipart, as a browser does
    (Content-Length known), each file sent from memory a chunk at a time
    (``http_bench.multipart_parts``); keeps the cookies the answer sets."""
    parts, content_type = http_bench.multipart_parts(form)
    conn = browser.conn
    started = time.perf_counter()
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(sum(len(p) for p in parts)))
    if browser.cookies:
        conn.putheader("Cookie", browser.cookie_header())
    conn.endheaders()
    for part in parts:
        view = memoryview(part)
        for at in range(0, len(view), CHUNK):
            conn.send(view[at : at + CHUNK])
    sent = time.perf_counter()
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    done = time.perf_counter()
    browser.remember(response)
    return Posted(response.status, response.headers.get("Location", ""), text, sent - started, done - started)


def token_of(text: str, what: str) -> str:
    found = http_bench.CSRF_FIELD.search(text)
    if found is None:
        raise SystemExit(f"no CSRF token on {what}")
    return found.group(1)


# -- citizens ------------------------------------------------------------------------------------


@dataclass
class Citizen:
    """A citizen on the upload page of ``page``, with its CSRF token."""

    browser: Browser
    page: str
    question: str
    token: str

    @property
    def url(self) -> str:
        return f"{BASE}/{self.page}"


def citizen_on(port: int, page: str, question: str) -> Citizen:
    """Start Blue Badge and answer its happy path (tests/journeys.py) up to ``page``: the pages
    before it by their forms, a file question's with its file and Continue."""
    browser = Browser(port)
    browser.conn.timeout = 300
    status, _, text = browser.send("GET", BASE)
    status, location, _ = browser.send("POST", f"{BASE}/start", {"csrf_token": token_of(text, BASE)})
    if status != 303:
        raise SystemExit(f"POST {BASE}/start gave {status}")
    for page_id, data in HAPPY_PATHS[SERVICE]:
        url = f"{BASE}/{page_id}"
        status, _, text = browser.send("GET", url)
        if status != 200:
            raise SystemExit(f"GET {url} gave {status}")
        token = token_of(text, url)
        if page_id == page:
            return Citizen(browser, page, question, token)
        if has_files(data):  # the file and Continue, in one multipart post
            fields, files = multipart_fields(data)
            status, location, _ = browser.send("POST", upload_url(url), fields | files | {"csrf_token": token})
        else:
            status, location, _ = browser.send("POST", url, dict(data) | {"csrf_token": token})
        if status != 303 or location.split("?")[0].endswith(url):
            raise SystemExit(f"POST {url} gave {status} -> {location!r}: the happy path did not go on")
    raise SystemExit(f"{page} is not on {SERVICE}'s happy path")


def citizens_on(port: int, kind: str, count: int) -> list[Citizen]:
    page, question = TARGETS[kind]
    return [citizen_on(port, page, question) for _ in range(count)]


def upload(citizen: Citizen, file: UploadFile) -> Posted:
    """'Upload file' on the citizen's page."""
    return post_files(citizen.browser, upload_url(citizen.url), {"csrf_token": citizen.token, citizen.question: file})


def check_uploaded(citizen: Citizen, file: UploadFile, posted: Posted, upload_dir: Path, kind: str) -> str:
    """The upload was kept: a 303 back to the page naming the new file, its bytes in storage (a
    PDF's as sent), the page listing it. Anything else stops the benchmark. Returns its id."""
    found = UPLOADED.search(posted.location)
    if posted.status != 303 or found is None or not urllib.parse.urlsplit(posted.location).path.endswith(citizen.url):
        error = re.search(r"govuk-error-summary__list.*?<a [^>]*>([^<]+)</a>", posted.text, re.DOTALL)
        said = f": {error.group(1).strip()}" if error else ""
        raise SystemExit(
            f"an upload of {len(file.content):,} bytes to {citizen.url} gave {posted.status} -> "
            f"{posted.location!r}{said}; the benchmark is void"
        )
    upload_id = found.group(1)
    stored = upload_dir / "files" / upload_id
    if not stored.is_file():
        raise SystemExit(f"upload {upload_id} answered 303 but {stored} is not there")
    if kind == "pdf" and stored.read_bytes() != file.content:
        raise SystemExit(f"upload {upload_id}: the stored PDF is not the one sent")
    parts = urllib.parse.urlsplit(posted.location)
    status, _, text = citizen.browser.send("GET", f"{parts.path}?{parts.query}")
    if status != 200 or "has been uploaded" not in text:
        raise SystemExit(f"upload {upload_id}: the page after it gave {status} without 'has been uploaded'")
    return upload_id


def check_infected_refused(port: int) -> None:
    """An EICAR PDF is refused as a virus: clamd is there and scanning."""
    citizen = citizen_on(port, *TARGETS["pdf"])
    try:
        posted = upload(citizen, UploadFile("eicar.pdf", eicar_pdf(), MIME["pdf"]))
    finally:
        citizen.browser.close()
    if posted.status != 200 or "The selected file contains a virus" not in posted.text:
        raise SystemExit(f"an EICAR PDF gave {posted.status} {posted.location!r}, not 'contains a virus'")


# -- servers -------------------------------------------------------------------------------------


def start_clamd() -> ClamdProcess:
    """clamd as the tests start it (tests/upload_servers.py): only the EICAR signature."""
    if not os.access(CLAMD, os.X_OK):
        raise SystemExit(f"{CLAMD} is not installed (apt-get install clamav-daemon)")
    return ClamdProcess(short_folder("cf-bench-clamd-")).start()


@dataclass
class Setup:
    workdir: Path
    database_url: str
    database_label: str
    clamd: ClamdProcess
    workers: int
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    count: int = 0

    def start(self, name: str) -> tuple[Server, Path]:
        """A runtime server with a storage folder of its own; returns it and that folder."""
        self.count += 1
        folder = self.workdir / f"files-{self.count}"
        env = http_bench.server_env(self.secret, self.database_url) | {
            "CIVICFORMS_UPLOAD_STORAGE": "local",
            "CIVICFORMS_UPLOAD_DIR": str(folder / "uploads"),
            "CIVICFORMS_QUARANTINE_DIR": str(folder / "quarantine"),
            "CIVICFORMS_CLAMD_ADDRESS": self.clamd.address,
            "CIVICFORMS_ACCESS_LOG": str(self.workdir / f"access-{self.count}.log"),
        }
        server = http_bench.start_server(
            name, "runtime", "runtime.wsgi:app", self.workers, self.database_label, env, self.workdir
        )
        http_bench.wait_ready(server)
        return server, folder / "uploads"


# -- memory --------------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Each worker's PSS every ``SAMPLE_SECONDS`` while the load runs: the highest seen of each,
    starting from ``before`` (a worker's memory may fall below it: never a negative growth)."""

    def __init__(self, server: Server, before: dict[int, dict[str, int]]):
        super().__init__(daemon=True)
        self.server = server
        self.stopping = threading.Event()
        self.peaks: dict[int, dict[str, int]] = {pid: dict(kb) for pid, kb in before.items()}
        self.samples = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            for pid in children(self.server.process.pid):
                try:
                    now = pss_kb(pid)
                except (OSError, RuntimeError):
                    continue  # a worker replaced between the listing and the read
                peak = self.peaks.setdefault(pid, dict(now))
                for key, value in now.items():
                    peak[key] = max(peak.get(key, 0), value)
            self.samples += 1
            self.stopping.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def reset_peak_rss(pid: int) -> bool:
    """Start VmHWM (the process's peak RSS) again from now: ``5`` to /proc/<pid>/clear_refs."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# -- measurements --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def at_once(citizens: list[Citizen], file: UploadFile) -> tuple[list[Posted], float]:
    """Every citizen uploads ``file`` at the same moment; their answers and the wall time."""
    answers: list[Posted | BaseException | None] = [None] * len(citizens)
    barrier = threading.Barrier(len(citizens) + 1)

    def send(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = upload(citizens[index], file)
        except BaseException as error:  # noqa: BLE001  (reported below, with the others)
            answers[index] = error

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(len(citizens))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    failed = [a for a in answers if not isinstance(a, Posted)]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(citizens)} uploads failed: {failed[0]!r}")
    return [a for a in answers if isinstance(a, Posted)], wall


def concurrent(setup: Setup, kind: str, size: int, concurrency: int) -> dict[str, Any]:
    """``concurrency`` uploads of ``size`` bytes at once, on a fresh server."""
    file = file_of(kind, size)
    server, upload_dir = setup.start(f"uploads {kind} {size_label(size)}")
    try:
        # Warm-up: two small uploads per worker at once (imports, clamd's connection, first pages).
        small = file_of(kind, 64 * 1024)
        warm = citizens_on(server.port, kind, 2 * setup.workers)
        for citizen, posted in zip(warm, at_once(warm, small)[0], strict=True):
            check_uploaded(citizen, small, posted, upload_dir, kind)
            citizen.browser.close()
        citizens = citizens_on(server.port, kind, concurrency)
        workers = children(server.process.pid)
        before = {pid: pss_kb(pid) for pid in workers}
        hwm_reset = all(reset_peak_rss(pid) for pid in workers)
        sampler = Sampler(server, before)
        sampler.start()
        posts, wall = at_once(citizens, file)
        sampler.stop()
        hwm = {pid: peak_rss_kb(pid) for pid in workers}
        after = {pid: pss_kb(pid) for pid in children(server.process.pid) if pid in before}
        for citizen, posted in zip(citizens, posts, strict=True):
            check_uploaded(citizen, file, posted, upload_dir, kind)
            citizen.browser.close()
        replaced = sorted(set(children(server.process.pid)) - set(workers))
    finally:
        server.stop()
    latencies = [p.seconds * 1000 for p in posts]
    each: list[dict[str, Any]] = [
        {
            "pid": pid,
            "before_mb": before[pid]["Pss"] / 1024,
            "peak_mb": sampler.peaks.get(pid, before[pid])["Pss"] / 1024,
            "after_mb": after[pid]["Pss"] / 1024 if pid in after else None,
            "before_anon_mb": before[pid].get("Pss_Anon", 0) / 1024,
            "peak_anon_mb": sampler.peaks.get(pid, before[pid]).get("Pss_Anon", 0) / 1024,
            "peak_file_mb": sampler.peaks.get(pid, before[pid]).get("Pss_File", 0) / 1024,
            "peak_rss_mb": (hwm[pid] or 0) / 1024 if hwm_reset and hwm[pid] is not None else None,
        }
        for pid in workers
    ]
    for w in each:
        w["growth_mb"] = w["peak_mb"] - w["before_mb"]
        w["anon_growth_mb"] = w["peak_anon_mb"] - w["before_anon_mb"]
    return {
        "kind": kind,
        "size_bytes": len(file.content),
        "uploads": len(posts),
        "wall_seconds": wall,
        "mb_per_second": len(posts) * len(file.content) / MB / wall,
        "uploads_per_second": len(posts) / wall,
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies),
        "send_p50_ms": percentile([p.sent_seconds * 1000 for p in posts], 0.5),
        "memory_samples": sampler.samples,
        "workers": each,
        "workers_replaced": replaced,
        "max_growth_mb": max(w["growth_mb"] for w in each),
        "max_anon_growth_mb": max(w["anon_growth_mb"] for w in each),
        "max_peak_mb": max(w["peak_mb"] for w in each),
    }


def steps_in_process(kind: str, file: UploadFile, clamd: ClamdProcess, folder: Path) -> dict[str, float]:
    """The steps of ``uploading.receive`` after the body is in, timed here on a copy of the
    file with the functions it calls: check (and re-encode), scan, store (and thumbnail)."""
    from runtime import storage, uploads
    from runtime.scanning import ClamdScanner

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"incoming-{secrets.token_hex(8)}"
    path.write_bytes(file.content)
    try:
        started = time.perf_counter()
        checked = uploads.check_file(path, accept=[kind], max_bytes=10 * MB)
        checked_at = time.perf_counter()
        with path.open("rb") as stream:
            result = ClamdScanner(clamd.address, timeout=30).scan(stream)
        if not result.clean:
            raise SystemExit(f"clamd found {result.signature} in a benchmark file")
        scanned_at = time.perf_counter()
        store = storage.LocalStorage(folder / "storage")
        key = secrets.token_hex(16)
        storage.put_file(store, storage.file_key(key), path, checked.mime)
        small = uploads.thumbnail(path)
        if small is not None:
            store.put(storage.thumbnail_key(key), io.BytesIO(small), "image/png")
        stored_at = time.perf_counter()
    finally:
        path.unlink(missing_ok=True)
    return {
        "check_ms": (checked_at - started) * 1000,
        "scan_ms": (scanned_at - checked_at) * 1000,
        "store_ms": (stored_at - scanned_at) * 1000,
    }


def time_to_clean(setup: Setup, kinds: list[str], sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    """One upload at a time of each size: its latency, split where the code allows."""
    results: list[dict[str, Any]] = []
    server, upload_dir = setup.start("uploads one at a time")
    try:
        check_infected_refused(server.port)
        for kind in kinds:
            warm = citizen_on(server.port, *TARGETS[kind])
            small = file_of(kind, 64 * 1024)
            check_uploaded(warm, small, upload(warm, small), upload_dir, kind)
            warm.browser.close()
            for size in sizes:
                file = file_of(kind, size)
                citizens = citizens_on(server.port, kind, repeat)
                posts: list[Posted] = []
                for citizen in citizens:
                    posted = upload(citizen, file)
                    check_uploaded(citizen, file, posted, upload_dir, kind)
                    citizen.browser.close()
                    posts.append(posted)
                steps_in_process(kind, file, setup.clamd, setup.workdir / "steps")  # imports, caches
                steps = [steps_in_process(kind, file, setup.clamd, setup.workdir / "steps") for _ in range(repeat)]
                total = statistics.median(p.seconds * 1000 for p in posts)
                entry: dict[str, Any] = {
                    "kind": kind,
                    "size_bytes": len(file.content),
                    "uploads": len(posts),
                    "p50_ms": total,
                    "max_ms": max(p.seconds * 1000 for p in posts),
                    "send_p50_ms": statistics.median(p.sent_seconds * 1000 for p in posts),
                }
                for step in ("check_ms", "scan_ms", "store_ms"):
                    entry[step] = statistics.median(s[step] for s in steps)
                entry["rest_ms"] = total - entry["check_ms"] - entry["scan_ms"] - entry["store_ms"]
                results.append(entry)
                out(
                    f"  {kind:<4} {size_label(len(file.content)):>9}: {total:8.1f} ms to clean "
                    f"(check {entry['check_ms']:.1f}, scan {entry['scan_ms']:.1f}, store {entry['store_ms']:.1f}, "
                    f"the rest {entry['rest_ms']:.1f}; sending took {entry['send_p50_ms']:.1f})"
                )
    finally:
        server.stop()
    return results


# -- report --------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> None:
    run = http_bench.client_bench()
    m = result["machine"]
    out(
        f"Civic Forms uploads benchmark — Python {m['python']} on {m['processor']}, {m['cpus']} CPUs — "
        f"gunicorn with gunicorn.conf.py, {result['workers']} sync worker(s), {result['database']}, "
        f"clamd (EICAR signature only), local storage"
    )
    out(
        f"load average {result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after; "
        f"clamd started in {result['clamd_startup_seconds']:.2f} s"
    )
    out()
    out(f"{result['concurrency']} uploads at once, each in its own form session (Blue Badge):")
    rows = [
        [
            c["kind"],
            size_label(c["size_bytes"]),
            c["wall_seconds"],
            c["mb_per_second"],
            c["uploads_per_second"],
            c["p50_ms"],
            c["p95_ms"],
            c["max_peak_mb"],
            c["max_growth_mb"],
            c["max_anon_growth_mb"],
        ]
        for c in result["concurrent"]
    ]
    run.table(
        ["kind", "size", "wall s", "MB/s", "uploads/s", "p50 ms", "p95 ms", "peak PSS", "PSS +", "anon +"],
        rows,
    )
    out("(PSS MB of the worker that grew most: its peak during the load, and its growth over itself just before.)")
    for c in result["concurrent"]:
        out(
            f"  {c['kind']} {size_label(c['size_bytes'])}: workers "
            + "; ".join(
                f"{w['before_mb']:.1f} -> peak {w['peak_mb']:.1f} MB (anon +{w['anon_growth_mb']:.1f}, "
                f"files {w['peak_file_mb']:.1f}"
                + (f", peak RSS {w['peak_rss_mb']:.1f}" if w["peak_rss_mb"] is not None else "")
                + ")"
                for w in c["workers"]
            )
            + f"; {c['memory_samples']} samples"
            + (f"; workers replaced: {c['workers_replaced']}" if c["workers_replaced"] else "")
        )
    out()
    out("Time from upload to clean, one upload at a time (median):")
    rows = [
        [
            c["kind"],
            size_label(c["size_bytes"]),
            c["p50_ms"],
            c["send_p50_ms"],
            c["check_ms"],
            c["scan_ms"],
            c["store_ms"],
            c["rest_ms"],
        ]
        for c in result["clean"]
    ]
    run.table(["kind", "size", "total ms", "sending", "check", "scan", "store", "the rest"], rows)
    out("(check, scan and store timed in this process with the same functions on the same file;")
    out(" the rest: receiving the body, the database, the 303.)")
    out(f"Total time: {result['total_seconds']:.1f} s")


# -- main ----------------------------------------------------------------------------------------


def sizes_of(text: str) -> list[int]:
    return [int(float(s) * MB) for s in text.split(",") if s.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--concurrency", type=int, default=20, help="uploads at once (default 20)")
    parser.add_argument("--sizes", default="1,10", help="MB of each concurrent load's files (default 1,10)")
    parser.add_argument("--clean-sizes", default="0.09765625,1,10", help="MB of the one-at-a-time files (100KB,1,10)")
    parser.add_argument("--repeat", type=int, default=5, help="uploads of each size one at a time (default 5)")
    parser.add_argument("--kinds", default="pdf,jpeg", help="pdf, jpeg or both (default pdf,jpeg)")
    parser.add_argument("--database", default="sqlite", help="'sqlite' (a temporary file) or a SQLAlchemy URL")
    parser.add_argument("--quick", action="store_true", help="a tiny run that checks the benchmark works")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.workers, args.concurrency, args.repeat = 1, 3, 1
        args.sizes, args.clean_sizes = "0.25,0.5", "0.1,0.3"
    args.kind_list = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not args.kind_list or set(args.kind_list) - set(TARGETS):
        parser.error("--kinds: pdf, jpeg or both")
    try:
        args.size_list, args.clean_list = sizes_of(args.sizes), sizes_of(args.clean_sizes)
    except ValueError:
        parser.error("--sizes, --clean-sizes: numbers of MB separated by commas")
    if any(s < 16 * 1024 or s > 10 * MB for s in args.size_list + args.clean_list):
        parser.error("sizes from 16KB to 10MB (Blue Badge's limit)")
    if args.workers < 1 or args.concurrency < 1 or args.repeat < 1:
        parser.error("--workers, --concurrency and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="civicforms-uploads-bench-"))
    clamd = start_clamd()
    try:
        label, url = http_bench.prepare(args.database, workdir)
        setup = Setup(workdir, url, label, clamd, args.workers)
        out(f"{args.concurrency} uploads at once, {args.workers} worker(s) ...")
        loads = []
        for kind in args.kind_list:
            for size in args.size_list:
                measured = concurrent(setup, kind, size, args.concurrency)
                loads.append(measured)
                out(
                    f"  {kind:<4} {size_label(measured['size_bytes']):>9}: {measured['mb_per_second']:6.1f} MB/s, "
                    f"{measured['uploads_per_second']:5.2f} uploads/s, p50 {measured['p50_ms']:.0f} ms, "
                    f"p95 {measured['p95_ms']:.0f} ms; worker PSS +{measured['max_growth_mb']:.1f} MB "
                    f"(peak {measured['max_peak_mb']:.1f})"
                )
        out("one at a time ...")
        clean = time_to_clean(setup, args.kind_list, args.clean_list, args.repeat)
        result = {
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "machine": http_bench.client_bench().machine(),
            "workers": args.workers,
            "database": label,
            "concurrency": args.concurrency,
            "clamd_startup_seconds": clamd.startup_seconds,
            "concurrent": loads,
            "clean": clean,
            "total_seconds": time.perf_counter() - started,
        }
    finally:
        clamd.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        out(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
