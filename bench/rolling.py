"""Two app servers and a rolling restart (issue 36): two gunicorn instances (2 workers each) on one PostgreSQL and one
Redis; 100 signed-in users, each opening their role's pages in turn with a think time of 1–3 s, spread over both
instances request by request as a balancer spreads them; midway instance A is upgraded the way gunicorn upgrades
without closing its socket (USR2: a new master and new workers start beside the old ones; once they are up the old
master is told to stop, and its workers finish what they hold). The users run in four processes (25 threads each),
so the client's own interpreter lock weighs little on the times; each request opens its connection when it is
sent, as behind a balancer (an idle keep-alive connection would hold a sync worker: gunicorn is deployed behind one).
Every request's time and status is kept: the figures are what the users saw, the upgrade included."""
from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import ExitStack

from bench.load import _session, _workers, serving
from bench.pages import ROLES

PAGES = {"secretariat": ["/", "/inquiries/", "/teams/", "/officers/"], "finance": ["/", "/travel/", "/travel/budget"],
         "officer": ["/", "/travel/", "/teams/"]}
USERS = {"secretariat": 40, "finance": 30, "officer": 30}  # 100 in all, half on each instance
TARGET_P95_MS = 300
WORKERS = 2  # per instance: the two instances share this machine's two cores (4 each measured worse: p50 312 ms)

def _upgrade(master: int) -> int:
    """gunicorn's USR2 upgrade of one instance: the new master (a child of the old), its workers up, then the old
    master stops gracefully. Returns the new master's pid."""
    os.kill(master, signal.SIGUSR2)
    for _ in range(300):
        new = [p for p in _workers(master) if _workers(p)]  # the child that has workers of its own
        if new and len(_workers(new[0])) >= WORKERS:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("the new gunicorn master did not start its workers")
    time.sleep(8)  # the new workers load the app (a few seconds on this machine) before the old ones go
    os.kill(master, signal.SIGTERM)
    return new[0]


def _users(bases: list[str], cookies: dict, first: int, count: int, seconds: float, think_ms: int, out) -> None:
    """``count`` users (numbered from ``first``) in this process, each on its own thread; their (time, ms, status)."""
    import random
    import urllib.error
    import urllib.request

    records: list[tuple[float, float, str]] = []
    stop = time.time() + seconds
    roles = [role for role, n in USERS.items() for _ in range(n)]

    def user(n: int) -> None:
        role, k = roles[n], n
        time.sleep(random.uniform(0, think_ms / 1000))
        while time.time() < stop:
            base = bases[k % 2]
            request = urllib.request.Request(base + PAGES[role][k % len(PAGES[role])],
                                             headers={"Cookie": cookies[(role, base)]})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    status = str(response.status)
            except urllib.error.HTTPError as error:
                status = str(error.code)
            except OSError as error:
                status = type(error).__name__
            records.append((time.time(), (time.perf_counter() - started) * 1000, status))
            k += 1
            time.sleep(random.uniform(think_ms / 2000, think_ms * 1.5 / 1000))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(first, first + count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = os.times()
    out.put((records, used.user + used.system))


def _machine_busy() -> tuple[float, float]:
    """The machine's busy and total CPU seconds since boot (/proc/stat), to say what share the run used."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / hz, sum(fields) / hz


def run(url: str, *, seconds: int = 60, think_ms: int = 2000) -> dict:
    import multiprocessing

    from bench.common import percentile

    with ExitStack() as stack:
        bases = [stack.enter_context(serving(url, workers=WORKERS)) for _ in range(2)]
        cookies = {(role, base): _session(base, ROLES[role])[1] for role in USERS for base in bases}
        results = multiprocessing.get_context("fork").Queue()
        total = sum(USERS.values())
        processes = [multiprocessing.get_context("fork").Process(
            target=_users, args=(bases, cookies, i * total // 4, total // 4, seconds, think_ms, results)) for i in range(4)]
        busy_before, total_before = _machine_busy()
        for process in processes:
            process.start()
        time.sleep(seconds / 2)
        restarted_at = time.time()
        new_master = _upgrade(bases[0].pid)
        parts = [results.get() for _ in processes]
        records = [r for part, _ in parts for r in part]
        client_cpu = sum(used for _, used in parts)
        busy_after, total_after = _machine_busy()
        for process in processes:
            process.join()
        try:
            os.kill(new_master, signal.SIGTERM)  # the new master outlives the old one the context stops
        except ProcessLookupError:
            pass
    every = [ms for _, ms, _ in records]
    around = [ms for at, ms, _ in records if restarted_at <= at < restarted_at + 15]
    failed = [f"{status}" for _, _, status in records if status != "200"]
    return {"requests": len(records), "p50": percentile(every, 0.5), "p95": percentile(every, 0.95),
            "p99": percentile(every, 0.99), "p95_upgrade": percentile(around, 0.95) if around else 0.0,
            "failed": len(failed), "failures": sorted(set(failed)), "users": total, "seconds": seconds, "upgraded": True,
            "machine_busy": (busy_after - busy_before) / (total_after - total_before),
            "client_share": client_cpu / (busy_after - busy_before)}
