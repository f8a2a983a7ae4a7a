"""What every benchmark needs: the databases at N = 1 and N = 10, an app on them, and a table printer."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
AS_OF = date(2026, 11, 23)
SECRET = "b" * 64


def database_url(scale: int) -> str:
    return f"{PG}/banso_bench_{scale}"


def psql(sql: str) -> str:
    return subprocess.run(["psql", f"{PG}/test", "-qtAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def make_app(url: str, **overrides):
    from banso import create_app

    return create_app({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET, "WTF_CSRF_ENABLED": False,
                       **overrides})


def ensure_scale_database(scale: int, *, fresh: bool = False) -> str:
    """banso_bench_N on PostgreSQL, migrated and filled once (kept between runs unless ``fresh``)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from banso import scale as scale_data
    from banso.extensions import db
    from banso.models import Phase

    name = f"banso_bench_{scale}"
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    if exists and fresh:
        psql(f"DROP DATABASE {name} WITH (FORCE)")
        exists = False
    if not exists:
        psql(f"CREATE DATABASE {name}")
    app = make_app(database_url(scale))
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count()).select_from(Phase)):
            print(f"-- generating N = {scale} in {name}", flush=True)
            scale_data.generate(scale, as_of=AS_OF, echo=lambda line: print("   ", line, flush=True))
            db.session.commit()
        db.session.remove()
    # As autovacuum leaves a database in service: statistics, and the visibility map without which PostgreSQL reads
    # the table instead of an index alone (the inbox's counts: 18 ms instead of 2 on a freshly loaded set).
    subprocess.run(["psql", database_url(scale), "-qc", "VACUUM ANALYZE"], check=True, capture_output=True)
    return database_url(scale)


@contextmanager
def count_statements(engine):
    from sqlalchemy import event

    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list], out=sys.stdout) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    line = " | ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line, file=out)
    print("-|-".join("-" * w for w in widths), file=out)
    for row in rows:
        print(" | ".join(str(c).rjust(w) if isinstance(c, (int, float)) else str(c).ljust(w) for c, w in zip(row, widths)),
              file=out)
    out.flush()
