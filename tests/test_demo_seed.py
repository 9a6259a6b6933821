"""The demo district: its shape, its rhythm, and histories that replay."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from gridconsole.db.domain import Action, State
from gridconsole.db.engine import Database
from gridconsole.db.lifecycle import limits_for, replay
from gridconsole.db.models import Case, CaseEvent, Category, Operator, Person, Unit
from gridconsole.db.schema import upgrade
from gridconsole.db.demo.seed import seed_demo

from conftest import DEMO_KW

cases, events = Case.__table__, CaseEvent.__table__


async def test_district_has_the_seed_numbers(demo_db):
    async with demo_db.read() as conn:
        grids = dict((await conn.execute(
            select(Unit.grid_kind, func.count()).where(Unit.kind == "grid").group_by(Unit.grid_kind))).all())
        streets = (await conn.scalars(select(Unit.name).where(Unit.kind == "street").order_by(Unit.id))).all()
        full_time = await conn.scalar(select(func.count()).select_from(Person).where(
            Person.role == "grid_worker", Person.full_time.is_(True), Person.unit_id.in_(
                select(Unit.id).where(Unit.grid_kind == "basic"))))
        urban = await conn.scalar(select(func.count()).select_from(Unit).where(
            Unit.kind == "community", Unit.street_id.in_(
                select(Unit.id).where(Unit.name.in_(["潮海街道", "通济街道", "环秀街道", "北安街道", "龙山街道", "通济新区"])))))
    assert grids == {"basic": 2287, "functional": 19, "professional": 563}
    assert streets[:6] == ["潮海街道", "通济街道", "环秀街道", "北安街道", "龙山街道", "通济新区"]
    assert full_time == 514 and urban == 58


async def test_every_event_log_replays_to_its_case(demo_db):
    """Fold each case's events through lifecycle.step: the result is the case row."""
    async with demo_db.read() as conn:
        limits = {c.id: (c.sign_limit, c.resolve_limit) for c in (await conn.execute(select(Category))).all()}
        rows = (await conn.execute(select(cases))).mappings().all()
        log = defaultdict(list)
        for event in (await conn.execute(select(events).order_by(events.c.case_id, events.c.seq))).mappings():
            log[event["case_id"]].append(dict(event))
    fields = ("state", "holder_unit_id", "sign_due", "resolve_due", "resolved_at", "closed_at",
              "satisfaction", "closure_reason", "merged_into_id", "supervise_count",
              "return_count", "redo_count", "extended_days", "first_dispatched_at")
    checked = 0
    for row in rows:
        history = log[row["id"]]
        assert [e["seq"] for e in history] == list(range(1, row["version"] + 1))
        assert history[0]["action"] == Action.RECEIVE
        initial = dict(row) | dict(
            state=State.RECEIVED.value, holder_unit_id=None, holder_person_id=None,
            first_dispatched_at=None, dispatched_at=None, sign_due=None, resolve_due=None,
            signed_at=None, resolved_at=None, closed_at=None, satisfaction=None,
            closure_reason=None, result=None, merged_into_id=None, invalid_reason=None,
            supervise_count=0, return_count=0, redo_count=0, extended_days=0, escalate_count=0)
        rebuilt = replay(initial, history[1:], limits_for(row["urgency"], *limits[row["category_id"]]))
        assert {f: rebuilt[f] for f in fields} == {f: row[f] for f in fields}, row["id"]
        assert history[-1]["to_state"] == row["state"]
        checked += 1
    assert checked > 2000


async def test_mix_and_lifecycle_look_like_a_district(demo_db):
    async with demo_db.read() as conn:
        states = dict((await conn.execute(select(cases.c.state, func.count()).group_by(cases.c.state))).all())
        actions = dict((await conn.execute(select(events.c.action, func.count()).group_by(events.c.action))).all())
        channels = dict((await conn.execute(select(cases.c.channel, func.count()).group_by(cases.c.channel))).all())
    total = sum(states.values())
    assert states["closed"] > 0.85 * total
    for state in ("received", "dispatched", "in_progress", "resolved", "invalid", "merged"):
        assert states.get(state, 0) > 0, state
    for action in Action:
        if action is not Action.NOTE:
            assert actions.get(action.value, 0) > 0, action
    assert max(channels, key=channels.get) == "grid_app"


async def test_same_seed_same_data(db_url, tmp_path):
    """Two builds with the same seed and end time hold identical cases and events."""
    from conftest import _fresh_url

    snapshots = []
    for url in (db_url, _fresh_url(tmp_path)):
        db = Database(url)
        await upgrade(db)
        await seed_demo(db, **(DEMO_KW | dict(months=0.5)))
        async with db.read() as conn:
            case_rows = (await conn.execute(select(cases).order_by(cases.c.id))).all()
            event_rows = (await conn.execute(
                select(events.c.case_id, events.c.seq, events.c.action, events.c.at,
                       events.c.holder_unit_id, events.c.note).order_by(events.c.case_id, events.c.seq))).all()
            people = (await conn.execute(select(Person.name).order_by(Person.id))).scalars().all()
        await db.dispose()
        snapshots.append((case_rows, event_rows, people))
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0][0]) > 500


async def test_demo_operators_exist(demo_db):
    async with demo_db.read() as conn:
        roles = dict((await conn.execute(select(Operator.role, func.count()).group_by(Operator.role))).all())
    assert roles == {"district_officer": 1, "supervisor": 1, "viewer": 1, "street_officer": 16,
                     "dept_liaison": 15}
