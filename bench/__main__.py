"""`make bench`: every figure of Banso's performance targets in one run, printed as tables.

    python -m bench [--requests 200] [--load-seconds 30] [--mixed-seconds 180] [--rolling-seconds 60] [--fresh]
                    [--only pages,mixed,load,rolling,tasks,documents]

Needs PostgreSQL (BENCH_PG, default postgresql://postgres@127.0.0.1:5432) and Redis (BENCH_REDIS_URL);
the N = 1 and N = 10 databases are generated once and kept (banso_bench_1, banso_bench_10).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

from bench import common, load, mixed, pages, rolling, tasks


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next(int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    pg = common.psql("SHOW server_version")
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}, PostgreSQL {pg}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--load-seconds", type=int, default=30)
    parser.add_argument("--fresh", action="store_true", help="generate the N = 1 and N = 10 databases again")
    parser.add_argument("--mixed-seconds", type=int, default=180)
    parser.add_argument("--rolling-seconds", type=int, default=60)
    parser.add_argument("--only", default="pages,mixed,load,rolling,tasks,documents")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(f"Banso benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {machine()}\n", flush=True)
    started = time.monotonic()
    finals: list[str] = []
    urls = {}
    for n in (1, 10) if parts & {"pages", "mixed", "load", "rolling"} else ():
        began = time.monotonic()
        urls[n] = common.ensure_scale_database(n, fresh=args.fresh)
        print(f"-- N = {n} ready in {time.monotonic() - began:.0f} s", flush=True)

    if "pages" in parts:
        measured = {n: pages.measure(urls[n], args.requests) for n in (1, 10)}
        rows = []
        for role, path in pages.PAGES:
            one, ten = measured[1][(role, path)], measured[10][(role, path)]
            ok = (ten["p95"] <= pages.TARGET_P95_MS and ten["p50"] <= pages.TARGET_P50_MS
                  and ten["statements"] <= pages.TARGET_STATEMENTS and one["statements"] == ten["statements"]
                  and one["status"] == ten["status"] == 200)
            rows.append([role, path, f"{one['p50']:.1f}", f"{one['p95']:.1f}", one["statements"],
                         f"{ten['p50']:.1f}", f"{ten['p95']:.1f}", ten["statements"], "ok" if ok else "MISS"])
        print(f"\nServer time per page (ms, {args.requests} requests after warm-up) and SQL statements per page")
        common.table(["role", "page", "N1 p50", "N1 p95", "N1 SQL", "N10 p50", "N10 p95", "N10 SQL", "target"], rows)
        misses = sum(1 for r in rows if r[-1] == "MISS")
        print(f"targets: p50 ≤ {pages.TARGET_P50_MS} ms, p95 ≤ {pages.TARGET_P95_MS} ms at N = 10; ≤ {pages.TARGET_STATEMENTS} "
              f"statements, equal at N = 1 and N = 10 (nothing is cached: every view computes and renders)", flush=True)
        finals.append(f"pages meeting every target cold: {len(rows) - misses} of {len(rows)}")

    if "mixed" in parts:
        from banso.extensions import db

        app = common.make_app(urls[10])
        with app.app_context():
            ids = pages._ids()
            db.session.remove()
        result = mixed.run(urls[10], ids, seconds=args.mixed_seconds)
        rows = []
        for role, path in pages.PAGES:
            figures = result["pages"].get((role, path))
            if figures is None:
                rows.append([role, path, "—", "—", 0, "MISS"])
                continue
            rows.append([role, path, f"{figures['p50']:.1f}", f"{figures['p95']:.1f}", figures["n"],
                         "ok" if mixed.meets(figures) else "MISS"])
        writes = ", ".join(f"{k} {v}" for k, v in result["writes"].items() if k != "errors")
        print(f"\nUnder writes at N = 10 (gunicorn 4 workers): {len(mixed.READERS)} signed-in readers over their role's pages "
              f"while a writer does one staff action a second for {args.mixed_seconds} s ({writes}; "
              f"{len(result['writes'].get('errors', []))} failed); read time per page (ms, HTTP on loopback)")
        common.table(["role", "page", "p50", "p95", "reads", "target"], rows)
        met = sum(1 for r in rows if r[-1] == "ok")
        finals.append(f"pages meeting every target under writes: {met} of {len(rows)}")

    if "load" in parts:
        from banso.extensions import db

        app = common.make_app(urls[10])
        with app.app_context():
            ids = pages._ids()
            db.session.remove()
        result = load.run(urls[10], ids, seconds=args.load_seconds)
        bare = result["/bench/bare"]["rate"]
        rows = [[path, f"{result[path]['rate']:.0f}", f"{result[path]['rate'] / bare:.2f}", result[path]["errors"],
                 result[path]["socket_errors"] or "none"] for _, path in load.TARGETS]
        print(f"\nThroughput at N = 10: gunicorn 4 workers, wrk -t2 -c8 for {args.load_seconds} s each")
        common.table(["page", "req/s", "÷ bare Flask", "non-2xx", "socket errors"], rows)
        print(f"peak RSS of a web worker after the pages and the load: {result['peak_rss_mb']:.0f} MB (target ≤ 200 MB)",
              flush=True)

    if "rolling" in parts:
        result = rolling.run(urls[10], seconds=args.rolling_seconds)
        ok = result["p95"] < rolling.TARGET_P95_MS and not result["failed"] and result["upgraded"]
        print(f"\nTwo app servers at N = 10 (gunicorn 2 workers each, one PostgreSQL, one Redis): {result['users']} signed-in "
              f"users spread over both request by request, a page every 1–3 s each, for {result['seconds']} s; instance A "
              f"upgraded midway (USR2, then the old master stopped)")
        common.table(["requests", "p50 ms", "p95 ms", "p99 ms", "p95 in the 15 s of the upgrade", "failed (not 200)", "target"],
                     [[result["requests"], f"{result['p50']:.0f}", f"{result['p95']:.0f}", f"{result['p99']:.0f}",
                       f"{result['p95_upgrade']:.0f}", result["failed"], "ok" if ok else "MISS"]])
        if result["failures"]:
            print("failures: " + ", ".join(result["failures"]))
        print(f"the machine's CPUs were {result['machine_busy']:.0%} busy through the run; the users' own client took "
              f"{result['client_share']:.0%} of that time")
        finals.append(f"rolling restart under load: p95 {result['p95']:.0f} ms, {result['failed']} failed "
                      f"(target p95 < {rolling.TARGET_P95_MS} ms, none failed)")

    if "tasks" in parts:
        plans = tasks.matching_small()
        slow = tasks.matching_and_imports()
        sent = tasks.notifications()
        plans += slow["matching"]
        print("\nMatching plans (the worker's job: greedy for comparison, then the optimiser)")
        common.table(["phase", "size", "time", "result", "fit: optimal / greedy", "1st-priority share: optimal / greedy", "target"],
                     [[p["label"], f"{p['applications']:,} / {p['officers']:,}", f"{p['seconds']:.1f} s",
                       p["status"] + (f" (gap ≤ {p['gap'] * 100:.1f} %)" if p["gap"] else ""),
                       f"{p['quality']['total']:,.0f} / {p['greedy']['total']:,.0f} (+{(p['quality']['total'] / p['greedy']['total'] - 1) * 100:.1f} %)",
                       f"{p['quality']['first_priority_share'] * 100:.1f} % / {p['greedy']['first_priority_share'] * 100:.1f} %",
                       "≤ 30 s" if p["applications"] > 500 else "≤ 5 s"] for p in plans])
        rows = [
            ["municipality master import", f"{slow['master_rows']:,} rows", f"{slow['master_s']:.2f} s", "≤ 3 s"],
            ["application spreadsheet import", f"{slow['applications_rows']:,} rows", f"{slow['applications_s']:.2f} s", "≤ 5 s"],
            ["notification delivery, one worker", f"{sent['delivered']:,} messages", f"{sent['per_second']:.0f} /s", "≥ 100 /s"],
            ["commit → delivery", f"{sent['latency_delivered']} messages", f"p95 {sent['latency_p95_s'] * 1000:.0f} ms", "p95 ≤ 2 s"],
        ]
        print("\nTasks")
        common.table(["task", "size", "result", "target"], rows)
    if "documents" in parts:
        made = tasks.documents()
        print("\nDocuments on the worker (two batches at once: 辞令, then 決定通知 and 不成立通知; Word and PDF each)")
        common.table(["documents", "with PDF", "time", "文書番号", "target"],
                     [[f"{made['documents']:,}", f"{made['pdfs']:,}", f"{made['seconds']:.1f} s",
                       "gap-free" if made["gap_free"] else "GAPS", "420 in ≤ 300 s"]])
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    for line in finals:
        print(line)


if __name__ == "__main__":
    main()
