"""The inquiries' mailbox (INQ-1), the worker's own loop: fetched over IMAP every minute, so a reply nobody uploads is
still tracked. The pages read how the last fetch went from banso/services/inquiries/watch.py.

Each message is taken in (``inquiries.take_in``: threading, attachments, bounces) and committed, and only then
marked seen and moved to the processed folder. A crash before the commit leaves the message where it was (taken
in again next time); a crash after it leaves a message already recorded, which the next fetch recognises by its
Message-ID (or the original's hash) and only moves. So nothing is lost and nothing is taken twice. One fetch runs
at a time across workers (a lock in Redis); should two meet anyway, the second stops at the unique key.

IMAPClient (not the standard imaplib) because it parses the server's answers (UIDs, FETCH items, folder names in
modified UTF-7) and speaks MOVE and UIDPLUS, which is what we would otherwise write by hand."""
from __future__ import annotations

import logging
import ssl
import uuid
from dataclasses import dataclass, field

import redis
from flask import current_app
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import IntegrityError

from banso import queue
from banso.extensions import db
from banso.services import inquiries

log = logging.getLogger(__name__)
LOCK = "banso:mailbox:fetch"
SEEN = b"\\Seen"


def connect() -> IMAPClient:
    """A signed-in connection as configured: IMAPS, STARTTLS, or plain (only to this machine)."""
    config = current_app.config
    security = (config["INQUIRY_IMAP_SECURITY"] or "ssl").lower()
    host = config["INQUIRY_IMAP_HOST"]
    context = ssl.create_default_context(cafile=config.get("INQUIRY_IMAP_CA_FILE") or None)
    port = config["INQUIRY_IMAP_PORT"] or (993 if security == "ssl" else 143)
    if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("INQUIRY_IMAP_SECURITY=none はこのマシン上のメールサーバーにだけ使えます（ssl か starttls を設定してください）")
    client = IMAPClient(host, port=port, ssl=security == "ssl", ssl_context=context, timeout=30)
    if security == "starttls":
        client.starttls(context)
    client.login(config["INQUIRY_IMAP_USER"], config["INQUIRY_IMAP_PASSWORD"] or "")
    return client


@dataclass
class Fetched:
    taken: dict[str, int] = field(default_factory=dict)  # outcome → messages
    moved_again: int = 0  # recorded before (a crash after the commit): only moved now
    left: int = 0  # failed this time; still in the mailbox for the next fetch
    skipped: bool = False  # another worker is fetching

    @property
    def count(self) -> int:
        return sum(self.taken.values())


def fetch(limit: int | None = None) -> Fetched:
    """Take in up to ``limit`` messages of the configured folder, oldest first (the rest wait for the next minute)."""
    config = current_app.config
    limit = limit or config["INQUIRY_IMAP_BATCH"]
    token = uuid.uuid4().hex
    if not _lock(token):
        return Fetched(skipped=True)
    result = Fetched()
    try:
        client = connect()
        try:
            processed = config["INQUIRY_IMAP_PROCESSED_FOLDER"]
            if not client.folder_exists(processed):
                client.create_folder(processed)
            client.select_folder(config["INQUIRY_IMAP_FOLDER"])
            uids = sorted(client.search(["NOT", "DELETED"]))[:limit]
            sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
            for uid in uids:
                _take(client, uid, sizes.get(uid, {}).get(b"RFC822.SIZE", 0), processed, result)
        finally:
            try:
                client.logout()
            except (IMAPClientError, OSError):
                pass
    finally:
        _unlock(token)
    return result


def _take(client: IMAPClient, uid: int, size: int, processed: str, result: Fetched) -> None:
    too_large = size > current_app.config["INQUIRY_MAIL_MAX_BYTES"]
    item = b"BODY[HEADER]" if too_large else b"BODY[]"
    raw = client.fetch([uid], ["BODY.PEEK[HEADER]" if too_large else "BODY.PEEK[]"]).get(uid, {}).get(item)
    if raw is None:
        return  # expunged meanwhile by someone else
    try:
        taken = inquiries.take_in(raw, source="imap", actor=None, too_large=too_large)
        db.session.commit()
        result.taken[taken.outcome] = result.taken.get(taken.outcome, 0) + 1
    except (inquiries.AlreadyTaken, IntegrityError):
        db.session.rollback()
        result.moved_again += 1
    except Exception:  # the database is away, or a fault of ours: the message stays for the next fetch
        db.session.rollback()
        log.exception("メールボックスのメッセージ（UID %s）を取り込めませんでした。次回もう一度取り込みます", uid)
        result.left += 1
        return
    # Only once the commit stands: seen, and out of the folder we fetch.
    client.add_flags([uid], [SEEN])
    if client.has_capability("MOVE"):
        client.move([uid], processed)
    else:
        client.copy([uid], processed)
        client.delete_messages([uid])
        client.uid_expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()


def _lock(token: str) -> bool:
    """One fetch at a time across workers. Without Redis the fetch goes on: the unique key still stops a double."""
    try:
        return bool(queue.connection().set(LOCK, token, nx=True, ex=600))
    except redis.RedisError:
        return True


def _unlock(token: str) -> None:
    try:
        connection = queue.connection()
        if connection.get(LOCK) == token.encode():
            connection.delete(LOCK)
    except redis.RedisError:
        pass
