"""结账: district bulletins are kept, so that each is counted from the log once.

A closed week, month or year (SETTLE after its end) keeps its bulletin.  A
running one keeps its tallies as of a moment at least SETTLE ago (db/stats.py
brings them up to date from the cases touched since).  Either is exact as of
its ``period_end``, the cut-off it counts history up to, and the triggers of
migration 0005 delete it as soon as that history changes: an event or a case
timestamped before the cut-off written, changed or deleted, a case re-keyed,
a unit or a category changed.  So whatever is kept equals a fresh count.  Two
things the triggers cannot see are handled here:

* A write committed while the bulletin was being computed: it is not kept if
  an event newer than those the computation started from is stamped before
  the cut-off (SQLite hands out event ids in commit order).
* On PostgreSQL ids are not handed out in commit order: there SETTLE stands
  guard, since a write stamped before the cut-off would have had to stay
  uncommitted that long.

Only district-wide bulletins are kept: an officer's scope follows the cases'
current holders, so a scoped bulletin of a past period can still move.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Text, cast, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from . import clock
from .engine import Database, Unavailable
from .models import CaseEvent, ReportSnapshot
from .nogc import without_gc
from .scope import Actor

SETTLE = timedelta(minutes=5)
kept, events = ReportSnapshot.__table__, CaseEvent.__table__


def keeps(actor: Actor) -> bool:
    """Whether ``actor``'s bulletins are kept: district-wide ones only."""
    return actor.scope_unit_id is None


class Seen(NamedTuple):
    """What a count started from: the newest event id, and when the row it
    may replace was kept (None: there was none)."""
    event_id: int
    kept_at: datetime | None


async def load(db: Database, kind: str, first: date, formulas: int) -> tuple[dict | None, Seen]:
    """What is kept for the period (None if nothing that will do), and what
    the count starts from: pass it to ``keep`` after counting."""
    async with db.read() as conn:
        row = (await conn.execute(
            select(kept.c.formulas, kept.c.computed_at, cast(kept.c.body, Text).label("body"))
            .where(kept.c.kind == kind, kept.c.first == first))).first()
        newest = await conn.scalar(select(func.coalesce(func.max(events.c.id), 0)))
    seen = Seen(newest, row.computed_at if row is not None else None)
    if row is not None and row.formulas == formulas:
        return _decoded(row.body), seen
    return None, seen


#: Megabytes of JSON for a running month: decoded here, not by the driver.
_decoded = without_gc(json.loads)


async def keep(db: Database, kind: str, first: date, end: datetime, formulas: int,
               body: dict, seen: Seen) -> None:
    """Keep what was counted up to ``end``, unless something it could not
    see was written meanwhile: an event newer than ``seen`` stamped before
    ``end``, or (the triggers having deleted it) the row it started from.  A
    database that cannot take the write now (busy, read-only) just means
    counting it again next time."""
    values = dict(kind=kind, first=first, period_end=end, formulas=formulas, extras=True,
                  computed_at=clock.now(), body=body)
    try:
        async with db.write() as conn:
            if await conn.scalar(select(exists().where(events.c.id > seen.event_id,
                                                       events.c.at < end))):
                return
            if seen.kept_at is not None and seen.kept_at != await conn.scalar(
                    select(kept.c.computed_at).where(kept.c.kind == kind, kept.c.first == first)):
                return
            insert = (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(kept)
            insert = insert.values(values)
            await conn.execute(insert.on_conflict_do_update(
                index_elements=[kept.c.kind, kept.c.first],
                set_={k: insert.excluded[k] for k in values if k not in ("kind", "first")}))
    except Unavailable:
        pass


async def forget(db: Database, kind: str, first: date) -> None:
    """Drop what is kept for one period (it is counted again when next asked for)."""
    async with db.write() as conn:
        await conn.execute(kept.delete().where(kept.c.kind == kind, kept.c.first == first))


async def kept_figure(db: Database, kind: str, firsts: list[date], formulas: int,
                      name: str) -> dict[date, float | None]:
    """One figure (``totals.<name>``) of the closed bulletins kept among the
    periods starting on ``firsts``, by first day.  Each body (a megabyte with
    its repeat complaints) is parsed once, in the database, for its totals."""
    totals = kept.c.body["report"]["totals"]
    async with db.read() as conn:
        rows = await conn.execute(
            select(kept.c.first, totals)
            .where(kept.c.kind == kind, kept.c.first.in_(firsts), kept.c.formulas == formulas))
        # A running period's row has tallies, no totals.
        return {first: found[name] for first, found in rows if found is not None}
