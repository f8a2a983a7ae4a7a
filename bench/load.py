"""Throughput under load: gunicorn with 4 workers on PostgreSQL, wrk on loopback, and the workers' peak memory."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar

from bench.common import REDIS_URL, ROOT, SECRET
from bench.pages import PAGES, ROLES

TARGETS = [("secretariat", "/inquiries/"), ("secretariat", "/teams/"), ("finance", "/travel/budget"), ("anonymous", "/bench/bare")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def _session(base: str, email: str | None) -> tuple[urllib.request.OpenerDirector, str]:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    if email:
        opener.open(base + "/login", urllib.parse.urlencode({"email": email, "password": "banso-demo"}).encode())
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return opener, cookie


def _workers(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = open(f"/proc/{entry}/status").read()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{master}$", status, re.M):
                pids.append(int(entry))
    return pids


def _peak_rss_mb(pid: int) -> float:
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024


@contextmanager
def serving(url: str, workers: int = 4):
    """gunicorn with ``workers`` workers on ``url``, as deployed; yields its base address (and the master's pid as
    ``.pid``)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET}
    # The console script, not `python -m gunicorn`: an upgrade (USR2) re-executes the command it was started with, and
    # gunicorn's package directory first on the path would hide the standard library's `http`.
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    server = subprocess.Popen([gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "bench.wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/bench/bare", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield Served(base, server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


class Served(str):
    """The base address, with the gunicorn master's pid."""

    def __new__(cls, base: str, pid: int):
        served = super().__new__(cls, base)
        served.pid = pid
        return served


def run(url: str, ids: dict, seconds: int = 30) -> dict:
    wrk = ensure_wrk()
    with serving(url) as base:
        sessions = {role: _session(base, email) for role, email in ROLES.items()}
        # The page benchmark's pages through every worker first, so the peak memory covers them all.
        for role, template in PAGES:
            for _ in range(8):
                sessions[role][0].open(base + template.format(**ids)).read()
        results = {}
        for role, path in TARGETS:
            out = subprocess.run([wrk, "-t2", "-c8", f"-d{seconds}s", "-H", f"Cookie: {sessions[role][1]}", base + path],
                                 check=True, capture_output=True, text=True).stdout
            rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            socket_errors = re.search(r"Socket errors: (.*)", out)
            results[path] = {"rate": rate, "errors": int(non_2xx.group(1)) if non_2xx else 0,
                             "socket_errors": socket_errors.group(1) if socket_errors else ""}
        results["peak_rss_mb"] = max(_peak_rss_mb(pid) for pid in _workers(base.pid))
        return results
