"""gunicorn's settings for Banso (`gunicorn wsgi:app` reads this file): /metrics sums every worker's counts through
prometheus_client's multiprocess mode, whose directory is set here — before the app is imported — and emptied at
start; a worker that exits has its live gauges dropped.

prometheus_client is imported here, when the master reads this file, not when a worker exits: ``child_exit`` runs in
the master's SIGCHLD handler, and two workers ending together (an upgrade, a restart) entered an import that the first
had not finished — a partly imported package, and the master stopped on an ImportError."""
import os
import shutil
import tempfile

_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"banso-metrics-{os.getuid()}"))

from prometheus_client import multiprocess  # noqa: E402  (after the directory is set: the library reads it on import)

# The app is loaded once, by the master, and made warm there (banso.settle); the workers are forked from it. An upgrade
# (USR2) starts a new master that loads the new code; HUP restarts the workers on the code already loaded.
preload_app = True


def on_starting(server):
    shutil.rmtree(_dir, ignore_errors=True)
    os.makedirs(_dir, exist_ok=True)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
