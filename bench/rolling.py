"""Two app servers and a rolling restart (issue 36): two gunicorn instances (2 workers each) on one PostgreSQL and one
Redis, signed-in users spread over both as a load balancer spreads them, each clicking through their role's pages
with a think time; midway one instance is restarted the way gunicorn restarts without dropping its socket (SIGHUP:
new workers start, the old ones finish what they hold). Every request's time and status is kept: the figures are
what the users saw, restart included."""
from __future__ import annotations

import os
import signal
import threading
import time
import urllib.error
from contextlib import ExitStack

from bench.common import percentile
from bench.load import _session, serving
from bench.pages import ROLES

PAGES = {"secretariat": ["/", "/inquiries/", "/teams/", "/officers/"], "finance": ["/", "/travel/", "/travel/budget"],
         "officer": ["/", "/travel/", "/teams/"]}
TARGET_P95_MS = 300


def run(url: str, *, users: int = 100, seconds: int = 60, think: float = 2.0) -> dict:
    with ExitStack() as stack:
        bases = [stack.enter_context(serving(url, workers=2)) for _ in range(2)]
        roles = [r for r in PAGES if ROLES.get(r)]
        sessions = {(r, i): _session(bases[i], ROLES[r])[0] for r in roles for i in range(2)}  # one sign-in per server
        times: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def user(n: int) -> None:
            role = roles[n % len(roles)]
            pages, k = PAGES[role], n
            time.sleep((n % 20) * think / 20)  # arrivals spread over the first think time
            while time.monotonic() < stop:
                server = k % 2  # the balancer's round robin
                started = time.perf_counter()
                try:
                    response = sessions[(role, server)].open(bases[server] + pages[k % len(pages)], timeout=30)
                    response.read()
                    status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except OSError as error:
                    status = f"{type(error).__name__}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    times.append(elapsed)
                    if status != 200:
                        failures.append(f"{bases[server]}{pages[k % len(pages)]}: {status}")
                k += 1
                time.sleep(think)

        threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
        for thread in threads:
            thread.start()
        time.sleep(seconds / 2)
        os.kill(bases[0].pid, signal.SIGHUP)  # the rolling restart of instance A
        for thread in threads:
            thread.join()
        return {"requests": len(times), "p50": percentile(times, 0.5), "p95": percentile(times, 0.95),
                "failures": failures, "users": users, "seconds": seconds}
