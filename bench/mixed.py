"""The office, not the loop: six signed-in readers (half a second on each page) go through every benchmarked page of
their role while a writer does staff actions at one write a second (a sign-in, an activity recorded, an internal note
on an inquiry), all through gunicorn with 4 workers on PostgreSQL at N = 10. Each page's read times are reported with
the page table's targets."""
from __future__ import annotations

import itertools
import threading
import time
import urllib.error
import urllib.parse

from bench import load
from bench.common import median, percentile
from bench.pages import PAGES, ROLES, TARGET_P50_MS, TARGET_P95_MS

READERS = ["admin", "secretariat", "secretariat", "finance", "officer", "anonymous"]
THINK_SECONDS = 0.5  # a reader reads a page before opening the next: six readers ask about twelve pages a second


def _writer(base: str, ids: dict, stop: threading.Event, outcome: dict) -> None:
    opener, _ = load._session(base, ROLES["secretariat"])
    actions = itertools.cycle([
        ("sign-in", lambda n: load._session(base, ROLES["secretariat"])),
        ("activity", lambda n: opener.open(f"{base}/teams/{ids['team']}/activities", urllib.parse.urlencode({
            "kind": "online_meeting", "started_on": "2026-11-20", "summary": f"定例会議（負荷試験 {n}）"}).encode())),
        ("note", lambda n: opener.open(f"{base}/inquiries/{ids['inquiry']}/note", urllib.parse.urlencode({
            "note-body": f"確認中（負荷試験 {n}）"}).encode())),
    ])
    for n in itertools.count():
        if stop.is_set():
            return
        began = time.monotonic()
        name, act = next(actions)
        try:
            act(n)
            outcome[name] = outcome.get(name, 0) + 1
        except (urllib.error.URLError, OSError) as exc:
            outcome.setdefault("errors", []).append(f"{name}: {exc}")
        stop.wait(max(0.0, 1.0 - (time.monotonic() - began)))


def _reader(base: str, role: str, ids: dict, stop: threading.Event, times: dict, lock: threading.Lock) -> None:
    opener, _ = load._session(base, ROLES[role])
    mine = [template for r, template in PAGES if r == role]
    for template in itertools.cycle(mine):
        if stop.is_set():
            return
        began = time.perf_counter()
        try:
            opener.open(base + template.format(**ids)).read()
        except urllib.error.HTTPError as exc:
            exc.read()
        elapsed = (time.perf_counter() - began) * 1000
        with lock:
            times.setdefault((role, template), []).append(elapsed)
        stop.wait(THINK_SECONDS)


def run(url: str, ids: dict, seconds: int = 180) -> dict:
    """{(role, page): {p50, p95, n}} of the readers, and the writes done, over ``seconds``."""
    with load.serving(url) as base:
        stop, lock, times, writes = threading.Event(), threading.Lock(), {}, {}
        threads = [threading.Thread(target=_reader, args=(base, role, ids, stop, times, lock)) for role in READERS]
        threads.append(threading.Thread(target=_writer, args=(base, ids, stop, writes)))
        for thread in threads:
            thread.start()
        stop.wait(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    pages = {key: {"p50": median(values), "p95": percentile(values, 0.95), "n": len(values)} for key, values in times.items()}
    return {"pages": pages, "writes": writes}


def meets(figures: dict) -> bool:
    return figures["p50"] <= TARGET_P50_MS and figures["p95"] <= TARGET_P95_MS
