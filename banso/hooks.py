"""Everything Banso runs around its queries and commits, installed in one place: ``install()`` is called by
``create_app`` (the web, the worker, the CLI and the tests all build the app), never at import.

| when                                   | what                                                                        | function                                          |
|----------------------------------------|-----------------------------------------------------------------------------|---------------------------------------------------|
| every ORM statement of a request       | PUB-2: the hold's criteria added; SQL text or Core on a held table refused  | policies/hold.apply_hold                          |
| a team, a trip, a matched application loaded | noted, for the end-of-request audit and the page's watermark (PUB-2)  | policies/hold.team_loaded / trip_loaded / application_loaded |
| before a flush in a request            | TEAM-3: a closed team's records refuse changes                               | services/closing.refuse_changes_to_closed_records |
| after the outermost commit             | the notifications and jobs asked for in the transaction are queued          | services/notifications.enqueue_after_commit, queue.run_after_commit |
| after a rollback                       | and forgotten                                                               | services/notifications.forget_on_rollback, queue.forget_after_rollback |
| a SAVEPOINT on SQLite                  | the transaction is begun first (a form's one-time key rolls back with it)   | extensions.sqlite_savepoint_inside_the_transaction |

A new hook is added here, to ``HOOKS``, and nowhere else: ``tests/test_hooks.py`` fails on an ``event.listen`` or
``listens_for`` anywhere else in the application.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from banso import extensions, queue
from banso.models import Application, Team, TripRequest
from banso.policies import hold
from banso.services import closing, notifications

HOOKS = [
    (Session, "do_orm_execute", hold.apply_hold),
    (Team, "load", hold.team_loaded),
    (TripRequest, "load", hold.trip_loaded),
    (Application, "load", hold.application_loaded),
    (Session, "before_flush", closing.refuse_changes_to_closed_records),
    (Session, "after_commit", notifications.enqueue_after_commit),
    (Session, "after_soft_rollback", notifications.forget_on_rollback),
    (Session, "after_commit", queue.run_after_commit),
    (Session, "after_soft_rollback", queue.forget_after_rollback),
    (Engine, "savepoint", extensions.sqlite_savepoint_inside_the_transaction),
]


def install() -> None:
    """Listen to every hook once, however many apps a process builds."""
    for target, name, function in HOOKS:
        if not event.contains(target, name, function):
            event.listen(target, name, function)


def installed() -> list[tuple[str, str, str]]:
    """(target, event, function) of each hook now listening: what the tests and a reader can list."""
    return [(getattr(target, "__name__", str(target)), name, f"{function.__module__}.{function.__name__}")
            for target, name, function in HOOKS if event.contains(target, name, function)]
