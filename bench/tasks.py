"""The slow tasks: the matching assistant at N = 10, the two imports, and notification delivery."""
from __future__ import annotations

import io
import time

from bench.common import PG, make_app, percentile, psql


def _fresh_database(name: str) -> str:
    from flask_migrate import upgrade

    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    url = f"{PG}/{name}"
    app = make_app(url)
    with app.app_context():
        upgrade()
    return url


def plan_figures(label: str, phase) -> dict:
    """Plan a phase as the worker does (greedy for comparison, then the optimiser) and report its figures."""
    from banso.extensions import db
    from banso.models import MatchingPlan
    from banso.services import matching

    plan = MatchingPlan(phase_id=phase.id)
    db.session.add(plan)
    db.session.flush()
    started = time.perf_counter()
    matching.run_plan(plan)
    seconds = time.perf_counter() - started
    result = plan.result
    return {"label": label, "applications": result["applications"], "officers": result["officers"], "seconds": seconds,
            "status": result["status"], "gap": result["gap"], "quality": result["quality"], "greedy": result["greedy_quality"]}


def matching_small() -> list[dict]:
    """The demo's 第2期 in its matching week (97 municipalities, 278 officers) and an N = 1 phase (115 / 300)."""
    import tempfile

    from sqlalchemy import select

    from banso import demo, scale
    from banso.extensions import db
    from banso.models import Phase

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(f"sqlite:///{folder}/matching-week.sqlite3")
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            demo.load(until=demo.MATCHING_WEEK)
            db.session.commit()
            rows.append(plan_figures("demo 第2期 (matching week)", db.session.scalar(select(Phase).where(Phase.number == 2))))
            db.session.remove()
    app = make_app(_fresh_database("banso_bench_matching_1"))
    with app.app_context():
        scale.generate(1, phases=1, form_teams=False, echo=lambda _: None)
        db.session.commit()
        rows.append(plan_figures("N = 1 phase", db.session.scalar(select(Phase))))
        db.session.remove()
    return rows


def matching_and_imports() -> dict:
    """An N = 10 phase (1,150 applications, 3,000 officers) planned; its first 1,000 answers re-imported elsewhere."""
    from openpyxl import Workbook
    from sqlalchemy import select

    from banso import scale
    from banso.extensions import db, reset_sequences
    from banso.models import Application, Phase
    from banso.services import application_import, imports, municipalities

    results = {}
    app = make_app(_fresh_database("banso_bench_matching"))
    with app.app_context():
        scale.generate(10, phases=1, form_teams=False, echo=lambda _: None)
        db.session.commit()
        phase = db.session.scalar(select(Phase))
        results["matching"] = [plan_figures("N = 10 phase", phase)]
        book = Workbook()
        sheet = book.active
        sheet.append([h for h, _ in application_import.COLUMNS])
        for application in db.session.scalars(select(Application).order_by(Application.id).limit(1000)):
            sheet.append(application_import.export_row(application))
        buffer = io.BytesIO()
        book.save(buffer)
        db.session.remove()

    app = make_app(_fresh_database("banso_bench_import"))
    with app.app_context():
        started = time.perf_counter()
        count = municipalities.import_master()
        db.session.commit()
        results["master_s"], results["master_rows"] = time.perf_counter() - started, count
        writer = scale._Writer()
        scale._phase(writer, 1, scale.FIRST_FISCAL_YEAR + scale.PHASES - 1, 10)
        writer.flush()
        reset_sequences()
        db.session.commit()
        phase = db.session.scalar(select(Phase))
        started = time.perf_counter()
        batch = imports.start(application_import.KIND, phase, "answers.xlsx", buffer.getvalue(), actor=None, inline=True)
        assert not batch.blocking_rows, batch.blocking_rows[:3]
        imported = imports.commit(batch, actor=None)
        db.session.commit()
        results["applications_s"], results["applications_rows"] = time.perf_counter() - started, imported
        db.session.remove()
    return results


def notifications(count: int = 1000, latency_samples: int = 200) -> dict:
    """One worker process (`python -m worker`) sends to an SMTP sink process on loopback: messages per second for
    ``count`` committed at once, then commit → delivery for ``latency_samples`` committed one by one."""
    import os
    import signal
    import subprocess
    import sys

    from banso import queue
    from banso.extensions import db
    from banso.services import notifications as outbox
    from bench.common import REDIS_URL, ROOT, SECRET
    from bench.load import _free_port

    port = _free_port()
    log = open("/tmp/banso-bench-sink.log", "w+")
    sink = subprocess.Popen([sys.executable, "-m", "bench.sink", str(port)], cwd=ROOT, stdout=log)
    url = _fresh_database("banso_bench_notify")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET, "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(port)}
    app = make_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        queue.connection().flushdb()
    worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)

    def arrivals() -> dict[str, float]:
        log.seek(0)
        return {r: float(t) for r, t in (line.rstrip("\n").split("\t") for line in log.readlines() if "\t" in line)}

    def wait_for(n: int, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while len(arrivals()) < n and time.time() < deadline:
            time.sleep(0.05)

    results = {}
    try:
        time.sleep(3)  # the worker is up and idle
        with app.app_context():
            for n in range(count):
                outbox.notify(key=f"bench:{n}", recipient_email=f"bench-{n}@example.lg.jp", kind="bench",
                              subject="ベンチマーク", body=f"本文 {n}")
            db.session.commit()
            committed = time.time()
            wait_for(count)
            got = arrivals()
            results["delivered"] = len(got)
            results["per_second"] = len(got) / (max(got.values()) - committed)

            committed_at = {}
            for n in range(latency_samples):
                outbox.notify(key=f"latency:{n}", recipient_email=f"late-{n}@example.lg.jp", kind="bench",
                              subject="ベンチマーク", body=f"本文 {n}")
                db.session.commit()
                committed_at[f"late-{n}@example.lg.jp"] = time.time()
                time.sleep(0.02)
            wait_for(count + latency_samples)
            got = arrivals()
            latencies = [got[r] - at for r, at in committed_at.items() if r in got]
            results["latency_p95_s"] = percentile(latencies, 0.95)
            results["latency_delivered"] = len(latencies)
            db.session.remove()
    finally:
        worker.send_signal(signal.SIGTERM)
        sink.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
        sink.wait(timeout=10)
    return results


def documents() -> dict:
    """An N = 1 phase's documents as the worker makes them: a 辞令 for each of its 300 officers' 併任 and 120 letters to
    municipalities (決定通知 and 不成立通知), Word and PDF, numbered, kept — in two batches running at once."""
    import threading

    from sqlalchemy import func, select

    from banso import scale
    from banso.extensions import db
    from banso.models import Application, DocumentBatch, IssuedDocument, Phase
    from banso.services import documents as issuing

    app = make_app(_fresh_database("banso_bench_documents"))
    with app.app_context():
        scale.generate(1, phases=1, echo=lambda _: None)
        db.session.commit()
        phase = db.session.scalar(select(Phase))
        appointments = issuing.KINDS["appointment"].candidates(phase)[:300]
        letters = (issuing.KINDS["decision"].candidates(phase) + issuing.KINDS["not_matched"].candidates(phase))[:120]
        if len(letters) < 120:  # the rest as 不成立 letters for answers not matched
            extra = list(db.session.scalars(select(Application.id).where(Application.phase_id == phase.id,
                                                                         Application.id.not_in(letters)).limit(120 - len(letters))))
            db.session.execute(Application.__table__.update().where(Application.id.in_(extra)).values(status="unmatched"))
            letters += extra
        decided = set(issuing.KINDS["decision"].candidates(phase))
        batches = [DocumentBatch(kind="appointment", phase=phase, subject_ids=appointments, total=len(appointments)),
                   DocumentBatch(kind="decision", phase=phase, subject_ids=[i for i in letters if i in decided],
                                 total=sum(1 for i in letters if i in decided)),
                   DocumentBatch(kind="not_matched", phase=phase, subject_ids=[i for i in letters if i not in decided],
                                 total=sum(1 for i in letters if i not in decided))]
        db.session.add_all(batches)
        db.session.commit()
        ids = [b.id for b in batches]
        db.session.remove()

    def work(batch_ids):
        with app.app_context():
            for batch_id in batch_ids:
                issuing.run(db.session.get(DocumentBatch, batch_id))
            db.session.remove()

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(ids[:1],)), threading.Thread(target=work, args=(ids[1:],))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    with app.app_context():
        serials = list(db.session.scalars(select(IssuedDocument.serial).order_by(IssuedDocument.serial)))
        pdfs = db.session.scalar(select(func.count()).where(IssuedDocument.pdf_sha256.is_not(None)))
        db.session.remove()
    return {"documents": len(serials), "pdfs": pdfs, "seconds": seconds,
            "gap_free": serials == list(range(1, len(serials) + 1))}
