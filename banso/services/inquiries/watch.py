"""What the inquiry pages show live, kept a few seconds or minutes in Redis (never in the database): who else has an
inquiry open or is writing a reply to it, and how the worker's last fetch of the mailbox went (worker/mailbox.py
writes it; an outage shows on the mailbox page, not only in the worker's log). Without Redis the pages show
nothing of either and work on."""
from __future__ import annotations

import json
import time
from datetime import datetime

import redis
from flask import current_app

from banso import queue
from banso.clock import now

PRESENCE_SECONDS = 25  # a page polls every 10 s: two missed polls and the viewer is gone
MAILBOX_STATUS = "banso:mailbox:last"


def presence(inquiry_id: int, user, replying: bool) -> list[dict]:
    """Record that ``user`` has the inquiry open (and whether they are writing a reply); return the others who do.
    Without Redis nobody is shown (the reply's own check still stops a crossed reply)."""
    key = f"banso:presence:{inquiry_id}"
    moment = time.time()
    try:
        connection = queue.connection()
        connection.hset(key, str(user.id), json.dumps({"name": user.name, "replying": replying, "at": moment}, ensure_ascii=False))
        connection.expire(key, PRESENCE_SECONDS * 4)
        entries = connection.hgetall(key)
    except redis.RedisError:
        return []
    others = []
    for user_id, raw in entries.items():
        entry = json.loads(raw)
        if int(user_id) != user.id and moment - entry["at"] <= PRESENCE_SECONDS:
            others.append(entry)
    return sorted(others, key=lambda e: (not e["replying"], e["name"]))


# --- the mailbox ----------------------------------------------------------------------------------------------------

def mailbox_configured() -> bool:
    """Whether the worker fetches the inquiries' mailbox (INQUIRY_IMAP_HOST is set)."""
    return bool(current_app.config.get("INQUIRY_IMAP_HOST"))


def record_mailbox_status(ok: bool, detail: str) -> None:
    """The last fetch's outcome, for the mailbox page (an outage shows there, not only in the worker's log)."""
    try:
        queue.connection().set(MAILBOX_STATUS, json.dumps({"at": now().isoformat(), "ok": ok, "detail": detail[:300]}, ensure_ascii=False))
    except redis.RedisError:
        pass


def last_mailbox_status() -> dict | None:
    try:
        found = queue.connection().get(MAILBOX_STATUS)
    except redis.RedisError:
        return None
    if found is None:
        return None
    status = json.loads(found)
    status["at"] = datetime.fromisoformat(status["at"])
    return status
