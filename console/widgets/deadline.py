"""Time left to a deadline, readable without colour: ▲ warning (黄牌),
✖ overdue (红牌)."""
from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from ...db import clock
from ...db.domain import HELD_STATES
from ...db.i18n import catalog, t
from ...db.lifecycle import warn_at


def span(delta: timedelta) -> str:
    """A compact duration: 45m, 5h, 3d."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return t("span.m", n=minutes)
    if minutes < 48 * 60:
        return t("span.h", n=minutes // 60)
    return t("span.d", n=minutes // 1440)


def age(created_at: datetime, now: datetime) -> str:
    return span(now - created_at)


def time_left(state: str, start: datetime | None, due: datetime | None, now: datetime) -> Text:
    """The resolve clock of a held case; other cases have none running."""
    if due is None or state not in HELD_STATES:
        return Text("—", style="dim")
    if now >= due:
        return Text(f"✖{t('deadline.overdue')}{span(now - due)}", style="bold red")
    left = span(due - now)
    if start is not None and now >= warn_at(start, due):
        return Text(f"▲{left}", style="bold yellow")
    return Text(f" {left}")


def local(moment: datetime | None) -> str:
    return clock.to_local(moment).strftime("%m-%d %H:%M") if moment else "—"


catalog({
    "span.m": ("{n}分", "{n}m"),
    "span.h": ("{n}时", "{n}h"),
    "span.d": ("{n}天", "{n}d"),
    "deadline.overdue": ("超", "late "),
})
