"""Issue 32: every process-wide hook is installed in one place (banso/hooks.py), by the app factory, not at import."""
import re
from pathlib import Path

import banso
from banso import hooks


def test_the_app_installs_every_hook_once(app):
    assert hooks.installed() == [(getattr(t, "__name__", str(t)), n, f"{f.__module__}.{f.__name__}") for t, n, f in hooks.HOOKS]
    hooks.install()  # a second app in the same process adds nothing
    from sqlalchemy import event

    assert all(event.contains(t, n, f) for t, n, f in hooks.HOOKS)
    names = {name for _, name, _ in hooks.installed()}
    assert {"do_orm_execute", "before_flush", "after_commit", "after_soft_rollback", "load", "savepoint"} <= names


def test_no_hook_is_registered_anywhere_else():
    root = Path(banso.__file__).parent
    found = [f"{path.relative_to(root)}:{number}" for path in root.rglob("*.py") if path.name != "hooks.py"
             and "migrations" not in path.parts
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bevent\.(listen|listens_for)\(", line)]
    assert found == []


def test_every_job_the_app_enqueues_is_named_once_and_is_a_function_of_the_worker():
    """Issue 32: job names were strings in five files; they are named in banso/queue.Job alone."""
    from banso.queue import Job
    from worker import jobs

    names = {value for key, value in vars(Job).items() if key.isupper()}
    assert all(callable(getattr(jobs, name.rsplit(".", 1)[1], None)) for name in names) and len(names) >= 7
    root = Path(banso.__file__).parent
    spelled = [f"{path.relative_to(root)}:{number}" for path in root.rglob("*.py") if path.name != "queue.py"
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if '"worker.jobs.' in line]
    assert spelled == []
