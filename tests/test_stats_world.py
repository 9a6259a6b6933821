"""A tiny district built by hand, and cases with events at known local times,
for exact statistics tests (DESIGN.md §4)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert

from gridconsole.db import clock
from gridconsole.db.models import Case, CaseEvent, Category, Unit

# units
D, S1, S2, S3 = 1, 10, 11, 12
C1, C2 = 20, 21
G1 = 30
DEP, PG, POL, ST, DEP2 = 40, 41, 42, 43, 44
# categories: two top-level, three leaves
T1, L1, L2, T2, L3 = 1, 2, 3, 4, 5

UNITS = [
    (D, None, "district", None, "区", None, None),
    (S1, D, "street", None, "甲街道", None, None),
    (S2, D, "street", None, "乙镇", None, None),
    (S3, D, "street", None, "丙街道", None, None),
    (C1, S1, "community", None, "一社区", S1, None),
    (C2, S2, "community", None, "二村", S2, None),
    (G1, C1, "grid", "basic", "一社区第1网格", S1, C1),
    (DEP, D, "department", None, "区执法局", None, None),
    (PG, DEP, "grid", "professional", "执法专业网格", None, None),
    (POL, D, "department", None, "区公安分局", None, None),
    (ST, POL, "station", None, "乙镇派出所", S2, None),
    (DEP2, D, "department", None, "区水利局", None, None),
]
CATEGORIES = [(T1, None, "市容环境"), (L1, T1, "占道经营"), (L2, T1, "垃圾堆放"),
              (T2, None, "治安维稳"), (L3, T2, "噪音扰民")]


def L(text: str) -> datetime:
    """A local (Asia/Shanghai) time as aware UTC."""
    return clock.as_utc(datetime.fromisoformat(text).replace(tzinfo=clock.LOCAL_TZ))


async def build_world(db) -> None:
    async with db.write() as conn:
        await conn.execute(insert(Unit.__table__), [
            dict(id=i, parent_id=p, kind=k, grid_kind=g, code=f"u{i}", name=n, initials="",
                 street_id=s, community_id=c, active=True) for i, p, k, g, n, s, c in UNITS])
        await conn.execute(insert(Category.__table__), [
            dict(id=i, parent_id=p, code=f"c{i}", name=n, initials="", default_urgency="normal",
                 route="area") for i, p, n in CATEGORIES])


async def add_case(db, case_id: int, created: str, street: int, community: int, category: int,
                   channel: str = "hotline", phone: str | None = None,
                   events: list[tuple] = ()) -> None:
    """``events``: (action, local time, to_state, holder, due (local) or None, data);
    the case row ends as its events leave it (state, holder, times)."""
    at = L(created)
    state, first, holder, rows = "received", None, None, []
    rows.append(dict(case_id=case_id, seq=1, action="receive", at=at, from_state=None,
                     to_state="received", holder_unit_id=None, due_at=None, data=None))
    for seq, (action, when, to, holder, due, data) in enumerate(events, start=2):
        when = L(when)
        rows.append(dict(case_id=case_id, seq=seq, action=action, at=when, from_state=state,
                         to_state=to, holder_unit_id=holder,
                         due_at=L(due) if due else None, data=data))
        if action == "dispatch" and first is None:
            first = when
        state, at = to, when
    async with db.write() as conn:
        await conn.execute(insert(Case.__table__).values(
            id=case_id, channel=channel, source_ref=f"t{case_id}", category_id=category,
            urgency="normal", content="测试", street_id=street, community_id=community,
            reporter_phone=phone, state=state, holder_unit_id=holder, created_at=L(created),
            reported_at=L(created), first_dispatched_at=first, updated_at=at))
        await conn.execute(insert(CaseEvent.__table__), rows)


async def add_events(db, case_id: int, state: str, events: list[tuple]) -> None:
    """More events for an existing case (its last seq and state given by the caller)."""
    from sqlalchemy import func, select, update

    table = CaseEvent.__table__
    async with db.write() as conn:
        seq = await conn.scalar(select(func.max(table.c.seq)).where(table.c.case_id == case_id))
        for action, when, to, holder, due, data in events:
            seq += 1
            await conn.execute(insert(table).values(
                case_id=case_id, seq=seq, action=action, at=L(when), from_state=state,
                to_state=to, holder_unit_id=holder, due_at=L(due) if due else None, data=data))
            state = to
        await conn.execute(update(Case.__table__).where(Case.__table__.c.id == case_id)
                           .values(state=state, holder_unit_id=holder, updated_at=L(when)))


def dispatch(when: str, holder: int, sign_due: str, resolve_due: str, action="dispatch"):
    data = {"unit_id": holder, "sign_due": L(sign_due).isoformat(),
            "resolve_due": L(resolve_due).isoformat()}
    return (action, when, "dispatched", holder, sign_due, data)
