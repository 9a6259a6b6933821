"""Headline figures every screen shows: open cases, overdue, waiting for triage."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from . import clock
from .domain import HELD_STATES, OPEN_STATES, State
from .engine import Database
from .models import Case
from .scope import Actor, case_scope

cases = Case.__table__


@dataclass(frozen=True)
class Headline:
    open: int
    overdue: int
    received: int
    at: datetime


async def headline(db: Database, actor: Actor, now: datetime | None = None) -> Headline:
    now = now or clock.now()
    scope = case_scope(actor)
    held = cases.c.state.in_([s.value for s in HELD_STATES])
    query = select(
        func.count(),
        func.count().filter(and_(held, cases.c.resolve_due < now)),
        func.count().filter(cases.c.state == State.RECEIVED.value),
    ).where(cases.c.state.in_([s.value for s in OPEN_STATES]), scope)
    async with db.read() as conn:
        total, overdue, received = (await conn.execute(query)).one()
    return Headline(total, overdue, received, now)
