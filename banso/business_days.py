"""The government's business days (行政機関の休日に関する法律): not a Saturday or Sunday, not a national holiday
(jpholiday), not the year-end closure 12/29–1/3. Inquiries' due dates, the help desk's timers and a new phase's
schedule count in them."""
from __future__ import annotations

from datetime import date, timedelta

import jpholiday


def is_business_day(day: date) -> bool:
    year_end = (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)
    return day.weekday() < 5 and not jpholiday.is_holiday(day) and not year_end


def add_business_days(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def on_or_after(day: date) -> date:
    """``day`` if it is a business day, else the next one."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day
