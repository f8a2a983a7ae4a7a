"""gunicorn's settings for Banso (`gunicorn wsgi:app` reads this file): /metrics sums every worker's counts through
prometheus_client's multiprocess mode, whose directory is set here — before the app is imported — and emptied at
start; a worker that exits has its live gauges dropped."""
import os
import shutil
import tempfile

_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"banso-metrics-{os.getuid()}"))


def on_starting(server):
    shutil.rmtree(_dir, ignore_errors=True)
    os.makedirs(_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
