"""Values and pages kept in Redis under the revisions of the tables they were read from.

Every statement the database runs passes through ``_statement`` below: a write (INSERT, UPDATE, DELETE, or a WITH
that holds one) notes the tables it names, and each commit adds one to those tables' revisions in Redis (a hash per
database) after the commit, so a reader never pairs old rows with a new revision. A value or a page computed while
recording keeps the revisions, as they stood before it read, of every table its statements named. It is served again
only while all of them are unchanged: a write by any path — a service, a bulk UPDATE, the worker, a CLI command —
makes it stale without anyone declaring what depends on what.

What is never kept: a page whose request wrote anything (an audited view writes its audit row on every view: PUB-2),
showed held results to the secretariat, showed a message (shown once) or gave the session its form key, or did not
answer 200 with HTML; and while a message waits in the session, the page is rendered to show it. A kept page is keyed by the signed-in user (their session version: a role change or a sign-out is
another key), their session's form key, the address with its query, the htmx headers and the current minute (so
"overdue" and the hold's release time are never more than a minute late); access is checked before the cache is
asked, by the decorators above ``kept_page``.

Without Redis nothing is kept: every value is computed and every page rendered, as before. Writes made while Redis
does not answer are counted when it answers again, before the process that made them serves anything kept; another
process may serve a value kept before the outage until then (that process's next request) or its expiry (an hour).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from contextvars import ContextVar
from functools import lru_cache, wraps

import redis
from flask import current_app, g, has_app_context, has_request_context, make_response, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger("banso")

VALUE_SECONDS = 3600
PAGE_SECONDS = 120  # the minute is in a page's key; this only lets Redis drop it

_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "TRUNCATE", "CREATE", "ALTER", "DROP", "COPY"})
_WRITE_IN_WITH = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.I)

# Tables written by this thread's transaction, not yet counted; the sets recording the tables read.
_written: ContextVar[frozenset] = ContextVar("banso_written", default=frozenset())
_reading: ContextVar[tuple] = ContextVar("banso_reading", default=())


@lru_cache(maxsize=4096)
def _tables_in(statement: str) -> frozenset:
    return frozenset(m.lower() for m in _table_names().findall(statement))


@lru_cache(maxsize=1)
def _table_names() -> re.Pattern:
    from banso.extensions import db

    names = sorted(db.metadata.tables, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I)


def _is_write(statement: str) -> bool:
    head = statement.lstrip()[:8].upper()
    verb = head.split(maxsplit=1)[0] if head.strip() else ""
    if verb == "WITH":
        return bool(_WRITE_IN_WITH.search(statement))
    return verb in _WRITES


@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn, cursor, statement, parameters, context, executemany):
    if _is_write(statement):
        tables = _tables_in(statement)
        if tables:
            _written.set(_written.get() | tables)
        if has_request_context():
            g.banso_wrote = True
    elif _reading.get():
        _note_read(_tables_in(statement))


def _note_read(tables) -> None:
    for recording in _reading.get():
        recording.update(tables)


# --- counting the writes ------------------------------------------------------------------------------------------

def _hash_key() -> str:
    app = current_app._get_current_object()
    key = app.extensions.get("banso_revisions_key")
    if key is None:
        from banso.extensions import db

        url = db.engine.url.render_as_string(hide_password=True)
        key = app.extensions["banso_revisions_key"] = f"banso:rev:{hashlib.sha1(url.encode()).hexdigest()[:12]}"
    return key


# Tables written while Redis did not answer: counted when it answers again (this process's next commit or kept read);
# until then this process serves nothing kept. Redis is not asked again for RETRY_SECONDS after a failure.
_uncounted: set[str] = set()
_retry_at = 0.0
RETRY_SECONDS = 5


def _count(tables) -> bool:
    """Count the tables (and any left uncounted); False while Redis does not answer."""
    global _retry_at
    if not has_app_context():
        return True
    tables = set(tables) | _uncounted
    if not tables:
        return True
    if time.monotonic() < _retry_at:
        _uncounted.update(tables)
        return False
    from banso import queue

    try:
        pipe = queue.connection().pipeline(transaction=False)
        for table in tables:
            pipe.hincrby(_hash_key(), table, 1)
        pipe.execute()
    except redis.RedisError:
        _uncounted.update(tables)
        _retry_at = time.monotonic() + RETRY_SECONDS
        log.error("書込みの記録をRedisに残せませんでした（%s）: 応答が戻りしだい記録します", ", ".join(sorted(tables)))
        return False
    _uncounted.difference_update(tables)
    return True


def forget_uncounted() -> None:
    """Redis was emptied (the tests, between two): nothing is left to count."""
    global _retry_at
    _uncounted.clear()
    _retry_at = 0.0


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.in_nested_transaction():
        return
    tables = _written.get()
    _written.set(frozenset())
    _count(tables)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        _written.set(frozenset())


def count_all() -> None:
    """Every table changed at once outside Banso (a restore with pg_restore, SQL by hand): nothing kept from before is
    served again (``flask banso forget-kept``)."""
    from banso.extensions import db

    _count(set(db.metadata.tables))


class _Slot:
    """One kept thing in Redis: what was found under its key (if still valid) and the revisions it was read against,
    asked in one round trip."""

    def __init__(self, key: str):
        from banso import queue

        self.key = key
        self.conn = queue.connection()
        pipe = self.conn.pipeline(transaction=False)
        pipe.get(key)
        pipe.hgetall(_hash_key())
        found, revisions = pipe.execute()  # RedisError: the caller computes instead
        self.revisions = {k.decode(): int(v) for k, v in revisions.items()}
        entry = json.loads(found) if found is not None else None
        valid = entry is not None and all(self.revisions.get(t, 0) == n for t, n in entry["tables"].items())
        self.entry = entry if valid else None

    def keep(self, tables, payload: dict, seconds: int) -> None:
        entry = {"tables": {t: self.revisions.get(t, 0) for t in tables}, **payload}
        try:
            self.conn.set(self.key, json.dumps(entry, ensure_ascii=False), ex=seconds)
        except redis.RedisError:
            pass


class _Recording:
    def __init__(self):
        self.tables: set[str] = set()

    def __enter__(self):
        self._token = _reading.set(_reading.get() + (self.tables,))
        return self

    def __exit__(self, *exc):
        _reading.reset(self._token)


# --- values ------------------------------------------------------------------------------------------------------

def _scope() -> str:
    """The hold's scope the value is computed under (PUB-2): the secretariat's figures are never served to others."""
    from banso.policies import hold

    scope = hold.current_scope()
    if scope is None or scope.everything:
        return "all"
    return hashlib.sha1(repr((scope.released_phases, scope.own_teams)).encode()).hexdigest()[:12]


def kept(name: str, compute, *, seconds: int = VALUE_SECONDS):
    """``compute()`` (anything JSON can hold), kept under the revisions of the tables it read and the viewer's scope of
    the hold. Not kept when this transaction has written one of them and not committed yet (it might roll back)."""
    if not current_app.config["VALUES_KEPT"] or not _count(()):
        return compute()
    try:
        slot = _Slot(f"{_hash_key()}:v:{name}:{_scope()}")
    except redis.RedisError:
        return compute()
    if slot.entry is not None:
        _note_read(slot.entry["tables"])
        return slot.entry["value"]
    with _Recording() as recording:
        value = compute()
    if not recording.tables & _written.get():
        slot.keep(recording.tables, {"value": value}, seconds)
    return value


# --- pages -------------------------------------------------------------------------------------------------------

def _page_key() -> str:
    from flask_login import current_user

    from banso.clock import now

    parts = [current_user.get_id() if current_user.is_authenticated else "", session.get("csrf_token", ""),
             request.full_path, getattr(current_user, "phase_choice", None) or {},  # the phase a page without ?phase= shows
             request.headers.get("HX-Request", ""), request.headers.get("HX-Target", ""),
             request.headers.get("HX-Boosted", ""), request.headers.get("HX-History-Restore-Request", ""),
             now().strftime("%Y%m%d%H%M")]
    return f"{_hash_key()}:p:{hashlib.sha256(json.dumps(parts).encode()).hexdigest()}"


def _storable(response, form_key) -> bool:
    """Not a page that showed a message (it is shown once), made the session its form key (another session of the same
    user would be sent a key it does not hold), wrote anything or showed held results (see the module's note)."""
    from banso.policies import hold

    return (response.status_code == 200 and response.mimetype == "text/html" and not response.is_streamed
            and not g.get("banso_wrote") and session.get("csrf_token") == form_key and "Set-Cookie" not in response.headers
            and not hold.confidential_seen())


# What a request reads before its view, and a kept page depends on all the same: the signed-in user, and the hold's
# scope (the released phases, an officer's own teams).
_READ_BEFORE_THE_VIEW = frozenset({"users", "publications", "team_memberships", "officers", "teams"})


def kept_page(view):
    """A list page served from Redis while nothing it read has changed (see the module's note). Put it below the
    access decorators: they run on every request."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if (request.method != "GET" or not current_app.config["PAGES_KEPT"] or session.get("_flashes")
                or not _count(())):  # a message waits to be shown: this page is rendered with it, and not kept
            return view(*args, **kwargs)
        try:
            slot = _Slot(_page_key())
        except redis.RedisError:
            return view(*args, **kwargs)
        if slot.entry is not None:
            response = make_response(slot.entry["body"])
            response.headers["X-Banso-Kept"] = "hit"
            return response
        form_key = session.get("csrf_token")
        with _Recording() as recording:
            response = make_response(view(*args, **kwargs))
        if _storable(response, form_key):
            slot.keep(recording.tables | _READ_BEFORE_THE_VIEW, {"body": response.get_data(as_text=True)}, PAGE_SECONDS)
        return response

    return wrapped
