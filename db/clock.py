"""Time: stored in UTC, reported in Asia/Shanghai.  Tests move the clock."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
LOCAL_TZ_NAME = "Asia/Shanghai"

_source: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests, benchmarks); ``None`` restores the real one."""
    global _source
    _source = source or (lambda: datetime.now(timezone.utc))


def to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC, from naive-UTC (as stored) or any aware datetime."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
