"""`make test-stress`: every test marked `timing` run twenty times under load, on SQLite and on PostgreSQL, with the
failures counted per test. A busy loop on every core competes with the tests, as a CI machine running other work
would; a test that passes here only waits for what it asserts.

    python -m tests.stress                       # 20 runs, both databases
    python -m tests.stress --runs 5 --databases sqlite -k mailbox

PostgreSQL is the server at STRESS_POSTGRES_URL (default: postgresql://postgres@127.0.0.1:5432/test), where a
database of the run's own is made and dropped; where none answers, that pass is skipped and said so. Exits non-zero
when any run of any test failed."""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("STRESS_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _busy() -> None:
    while True:
        pass


def outcomes(path: Path, runs: int) -> dict[str, Counter]:
    """What the suite's outcome log (tests/conftest.py: BANSO_OUTCOMES) recorded, per test, repetitions folded."""
    counts: dict[str, Counter] = {}
    if not path.exists():
        return counts
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        name = re.sub(rf"\[(?:(.*)-)?\d+-{runs}\]$", lambda m: f"[{m.group(1)}]" if m.group(1) else "", record["test"])
        counts.setdefault(name, Counter())[record["outcome"]] += 1
    return counts


def _postgres_database() -> tuple[str | None, str]:
    """A database of this run's own on the PostgreSQL server, or None and why not."""
    import psycopg
    from sqlalchemy import make_url

    name = f"banso_stress_{os.getpid()}"
    try:
        with psycopg.connect(POSTGRES.replace("postgresql+psycopg", "postgresql"), autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        return None, f"PostgreSQL に接続できないため省略しました（{POSTGRES}: {str(error).strip()[:200]}）"
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False), name


def _drop(url: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    base = make_url(url).database
    with psycopg.connect(POSTGRES.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        for suffix in ("", "_demo", "_demo_template", "_matching_week", "_matching_week_template"):
            c.execute(f'DROP DATABASE IF EXISTS "{base}{suffix}" WITH (FORCE)')


def run(database: str, runs: int, extra: list[str]) -> tuple[dict[str, Counter], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["BANSO_REDIS_OUTAGE_SECONDS"] = "3"  # the Redis outage test: the same path as 30 s, twenty times affordable
    url = None
    if database == "postgresql":
        url, why = _postgres_database()
        if url is None:
            return {}, why
        env["DATABASE_URL"] = url
    with tempfile.TemporaryDirectory(prefix="banso-stress-") as folder:
        log = Path(folder) / "outcomes.jsonl"
        env["BANSO_OUTCOMES"] = str(log)
        command = [sys.executable, "-m", "pytest", "-m", "timing", "-p", "no:cacheprovider", "-q", "--no-header",
                   f"--count={runs}", "--repeat-scope=function", *extra]
        started = time.monotonic()
        try:
            finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        finally:
            if url is not None:
                _drop(url)
        tail = "\n".join(finished.stdout.strip().splitlines()[-3:])
        counts = outcomes(log, runs)
        if finished.returncode not in (0, 1) or (finished.returncode == 1 and not any(c["failed"] for c in counts.values())):
            counts["(pytest itself)"] = Counter(failed=1)  # a collection error or an interrupted run: no count to trust
        return counts, f"{time.monotonic() - started:.0f} s, pytest: {tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy loops beside the tests (default: one per core)")
    args, extra = parser.parse_known_args(argv)
    loaders = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for loader in loaders:
        loader.start()
    failed = 0
    try:
        for database in args.databases.split(","):
            counts, summary = run(database, args.runs, extra)
            print(f"== {database}: {args.runs} runs of each timing test under {args.load} busy loops — {summary}")
            for name, count in sorted(counts.items()):
                failures = count["failed"]
                failed += failures
                print(f"{failures:3d} failed {count['passed']:3d} passed {count['skipped']:3d} skipped  {name}")
            if counts:
                print(f"-- {database}: {sum(c['failed'] for c in counts.values())} failures in {len(counts)} tests")
    finally:
        for loader in loaders:
            loader.terminate()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
