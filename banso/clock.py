"""The one clock of Banso: UTC-aware now(), replaceable in tests (config CLOCK)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

JST = ZoneInfo("Asia/Tokyo")


def now() -> datetime:
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return datetime.now(timezone.utc)


class OffsetClock:
    """The real time moved by a fixed offset: the demo started at a chosen moment of the programme's year
    (`make run DEMO_AT=…`, config CLOCK from BANSO_CLOCK_OFFSET_SECONDS), time running on from there."""

    def __init__(self, seconds: float):
        self.offset = timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def today_jst() -> date:
    return now().astimezone(JST).date()


def jst(year, month, day, hour=0, minute=0, second=0) -> datetime:
    """A moment given in Japan time, as an aware datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


@contextmanager
def clock_at(moment: datetime):
    """Within the block the app's clock reads ``moment`` (the demo loader writes a past year as it happened)."""
    before = current_app.config.get("CLOCK")
    current_app.config["CLOCK"] = lambda: moment
    try:
        yield
    finally:
        current_app.config["CLOCK"] = before
