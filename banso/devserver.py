"""`make run`: database, demo data, embedded Redis, the worker and the web server together.

Ctrl-C stops them all. Running it again reuses the database and demo data."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from flask_migrate import upgrade

from banso import create_app, queue
from banso.formatting import wareki


def _stop(signum, frame):
    raise KeyboardInterrupt


def _prepare(app, point: str | None) -> None:
    """The database migrated and, the first time, the demo loaded (at its moment of the year, if one is asked)."""
    with app.app_context():
        upgrade()
        if app.config["LOAD_DEMO_DATA"]:
            from banso import demo
            from banso.extensions import db

            if not demo.is_loaded():
                print("デモデータを読み込んでいます（初回のみ。2コアのマシンで30秒〜1分ほどかかります）…", flush=True)
                started = time.monotonic()
                demo.load_point(point, progress=_report) if point else demo.load(progress=_report)
                db.session.commit()
                print(f"デモデータを読み込みました（{time.monotonic() - started:.0f}秒）。", flush=True)


def _greet(app, port: int, point: str | None) -> None:
    """The URL, the demo's moment and its sign-ins, printed once both processes answer."""
    from banso.demo import DEMO_PASSWORD, DEMO_USERS, POINTS

    print(f"\nBanso を起動しました: http://127.0.0.1:{port}\n", flush=True)
    if point is not None:
        print(f"デモの時点: {POINTS[point].label}。画面の現在日時は {wareki(POINTS[point].at)} から進みます。")
    if app.config["LOAD_DEMO_DATA"]:
        print(f"デモ用サインイン（パスワードはすべて {DEMO_PASSWORD}）:")
        for email, name, role in DEMO_USERS:
            print(f"  {role.label:<10} {email}（{name}）")
        print("デモを最初からやり直すには、停止してから make reset-demo を実行してください。")
        print("年間の別の時点のデモ: make run DEMO_AT=matching-week（第2期のマッチングの週）、"
              "make run DEMO_AT=third-survey（第3期の調査中）")
    print(f"ワーカーの記録は {os.path.join(app.instance_path, 'worker.log')} にあります。")
    print("\n停止するには Ctrl-C を押してください。\n", flush=True)


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)  # stop the children on a plain `kill` too
    point = os.environ.get("BANSO_DEMO_AT") or None
    from banso.demo import POINTS

    if point is not None and point not in POINTS:
        print(f"DEMO_AT には次のいずれかを指定してください: {', '.join(POINTS)}（指定値: {point}）", file=sys.stderr)
        return 2
    os.environ.pop("BANSO_CLOCK_OFFSET_SECONDS", None)  # the demo is loaded on the real clock, as the tests load it
    app = create_app()
    port = int(os.environ.get("BANSO_PORT", "5000"))
    if app.config["EMBEDDED_REDIS"]:
        queue.start_embedded_redis(app.instance_path)
    _prepare(app, point)

    env = dict(os.environ, FLASK_APP="banso:create_app")
    if point is not None:  # the web and the worker run on the demo's moment, time moving on from there
        env["BANSO_CLOCK_OFFSET_SECONDS"] = str((POINTS[point].at - datetime.now(timezone.utc)).total_seconds())
    worker_log = open(os.path.join(app.instance_path, "worker.log"), "ab")  # the console keeps the URL and sign-ins
    children = [
        subprocess.Popen([sys.executable, "-m", "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(port)], env=env),
    ]
    try:
        print("Webサーバーとワーカーの起動を待っています…", flush=True)
        if not _wait_until_ready(app, port, children):
            print(f"Banso を起動できませんでした。上に表示されたエラーと {worker_log.name} をご確認ください。",
                  file=sys.stderr, flush=True)
            return 1
        _greet(app, port, point)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_children(children)
        worker_log.close()
        if app.config["EMBEDDED_REDIS"]:
            queue.stop_embedded_redis(app.instance_path)
    return 0


def _report(done: int, total: int, part: str, seconds: float) -> None:
    bar = "■" * done + "□" * (total - done)
    print(f"  {bar} {done}/{total} {part}（{seconds:.1f}秒）", flush=True)


def _wait_until_ready(app, port: int, children: list[subprocess.Popen], timeout: float = 60) -> bool:
    """True once /healthz answers 200 and an RQ worker has registered in Redis; False if a child exits first."""
    from rq import Worker

    deadline = time.monotonic() + timeout
    web = worker = False
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        if not web:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    web = response.status == 200
            except (OSError, urllib.error.URLError):
                pass
        if not worker:
            with app.app_context():
                worker = bool(Worker.all(connection=queue.connection()))
        if web and worker:
            return True
        time.sleep(0.3)
    return False


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
