"""The one clock of Banso: UTC-aware now(), replaceable in tests (config CLOCK)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

JST = ZoneInfo("Asia/Tokyo")


def now() -> datetime:
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return datetime.now(timezone.utc)


def today_jst() -> date:
    return now().astimezone(JST).date()


def jst(year, month, day, hour=0, minute=0, second=0) -> datetime:
    """A moment given in Japan time, as an aware datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)
