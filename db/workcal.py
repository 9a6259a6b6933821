"""Working days by the official PRC calendar (holidays and make-up workdays).

chinese-calendar knows the years the State Council has published.  A year it
does not cover falls back to Monday–Friday, and ``uncovered_years`` says which
years did so, so the console can show a warning instead of a silent guess.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from .clock import LOCAL_TZ, as_utc, to_local

_uncovered: set[int] = set()


@lru_cache(maxsize=None)
def _year_flags(year: int) -> tuple[bool, ...]:
    """One flag per day of the year: is it a working day?"""
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    try:
        return tuple(chinese_calendar.is_workday(first + timedelta(d)) for d in range(days))
    except NotImplementedError:
        _uncovered.add(year)
        return tuple((first + timedelta(d)).weekday() < 5 for d in range(days))


def is_workday(day: date) -> bool:
    return _year_flags(day.year)[day.timetuple().tm_yday - 1]


def uncovered_years() -> list[int]:
    """Years consulted so far that fell back to Monday–Friday."""
    return sorted(_uncovered)


def calendar_covers(year: int) -> bool:
    _year_flags(year)
    return year not in _uncovered


@lru_cache(maxsize=65536)
def _target_day(day: date, days: int) -> tuple[date, bool]:
    """The day ``days`` working days after ``day``; True if the clock restarts at 00:00."""
    if is_workday(day):
        while days > 0:
            day += timedelta(1)
            days -= is_workday(day)
        return day, False
    while days > 0:  # the end of the n-th working day after the rest day
        day += timedelta(1)
        days -= is_workday(day)
    return day + timedelta(1), True


def add_workdays(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` working days, as aware UTC.

    On a working day the clock keeps its time of day: Friday 10:00 plus one
    working day is the next working day at 10:00.  Started on a rest day, the
    clock starts at 00:00 of the next working day, so one working day ends at
    the end of that day.
    """
    local = to_local(start)
    day, midnight = _target_day(local.date(), days)
    return as_utc(datetime.combine(day, time(0) if midnight else local.time(), LOCAL_TZ))
