"""`make run`: database, demo data, embedded Redis, the worker and the web server together.

Ctrl-C stops them all. Running it again reuses the database and demo data."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from flask_migrate import upgrade

from banso import create_app, queue


def _stop(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)  # stop the children on a plain `kill` too
    app = create_app()
    port = int(os.environ.get("BANSO_PORT", "5000"))
    if app.config["EMBEDDED_REDIS"]:
        queue.start_embedded_redis(app.instance_path)
    with app.app_context():
        upgrade()
        if app.config["LOAD_DEMO_DATA"]:
            from banso import demo
            from banso.extensions import db

            if not demo.is_loaded():
                print("デモデータを読み込んでいます…", flush=True)
                demo.load()
                db.session.commit()

    env = dict(os.environ, FLASK_APP="banso:create_app")
    children = [
        subprocess.Popen([sys.executable, "-m", "worker"], env=env),
        subprocess.Popen([sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(port)], env=env),
    ]
    from banso.demo import DEMO_PASSWORD, DEMO_USERS

    print(f"\nBanso を起動しました: http://127.0.0.1:{port}\n", flush=True)
    if app.config["LOAD_DEMO_DATA"]:
        print(f"デモ用サインイン（パスワードはすべて {DEMO_PASSWORD}）:")
        for email, name, role in DEMO_USERS[:4]:
            print(f"  {role.label:<10} {email}")
        print("\n停止するには Ctrl-C を押してください。\n", flush=True)

    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if app.config["EMBEDDED_REDIS"]:
            queue.stop_embedded_redis(app.instance_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
