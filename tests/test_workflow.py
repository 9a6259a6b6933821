"""The workflow core: every legal and illegal transition, scope, role, and
stale row versions, against a real database (SQLite or PostgreSQL)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from gridconsole.db import clock, workflow as wf
from gridconsole.db.domain import TRANSITIONS, Action, Channel, State, Urgency
from gridconsole.db.engine import Database
from gridconsole.db.lifecycle import Refused
from gridconsole.db.models import AuditEntry, Case, CaseEvent, Unit

from conftest import later

cases, events, units = Case.__table__, CaseEvent.__table__, Unit.__table__


async def _row(db, case_id):
    async with db.read() as conn:
        return (await conn.execute(select(cases).where(cases.c.id == case_id))).mappings().one()


async def _events(db, case_id):
    async with db.read() as conn:
        return (await conn.execute(select(events).where(events.c.case_id == case_id)
                                   .order_by(events.c.seq))).mappings().all()


async def _unit(db, kind, **where):
    query = select(units).where(units.c.kind == kind)
    for key, value in where.items():
        query = query.where(units.c[key] == value)
    async with db.read() as conn:
        return (await conn.execute(query.order_by(units.c.id).limit(1))).mappings().one()


async def _new_case(db, officer, urgency=Urgency.NORMAL, street_name="潮海街道") -> int:
    street = await _unit(db, "street", name=street_name)
    community = await _unit(db, "community", parent_id=street["id"])
    grid = await _unit(db, "grid", parent_id=community["id"])
    async with db.read() as conn:
        category = await conn.scalar(select(func.min(Case.category_id)))
    return await wf.receive(
        db, officer, channel=Channel.HOTLINE, source_ref=uuid.uuid4().hex,
        category_id=category, urgency=urgency, content="小区门口占道经营", address="潮海街道古城社区",
        street_id=street["id"], community_id=community["id"], grid_id=grid["id"],
        reporter_name="李女士", reporter_phone="13812345678")


async def _bring_to(db, officer, state: State) -> int:
    """A fresh case walked to ``state`` through legal actions."""
    case_id = await _new_case(db, officer)
    community = (await _row(db, case_id))["community_id"]
    steps = {
        State.RECEIVED: [],
        State.DISPATCHED: [(wf.dispatch, dict(unit_id=community))],
        State.IN_PROGRESS: [(wf.dispatch, dict(unit_id=community)), (wf.sign, {})],
        State.RESOLVED: [(wf.dispatch, dict(unit_id=community)), (wf.sign, {}),
                         (wf.resolve, dict(result="已清理", closure_reason="solved"))],
        State.CLOSED: [(wf.dispatch, dict(unit_id=community)), (wf.sign, {}),
                       (wf.resolve, dict(result="已清理", closure_reason="solved")),
                       (wf.callback, dict(satisfaction="satisfied"))],
        State.INVALID: [(wf.invalidate, dict(reason="不属于受理范围"))],
        State.MERGED: [],
    }[state]
    if state is State.MERGED:
        parent = await _bring_to(db, officer, State.DISPATCHED)
        steps = [(wf.merge, dict(parent_id=parent))]
    for function, params in steps:
        await function(db, officer, case_id, **params)
    assert (await _row(db, case_id))["state"] == state
    return case_id


async def _params(db, officer, case_id, action: Action) -> dict:
    row = await _row(db, case_id)
    street = row["street_id"]
    dept = await _unit(db, "department")
    return {
        Action.DISPATCH: dict(unit_id=row["community_id"]),
        Action.DIRECT: dict(result="已电话答复"),
        Action.INVALIDATE: dict(reason="重复"),
        Action.MERGE: dict(parent_id=await _bring_to(db, officer, State.DISPATCHED)),
        Action.SIGN: {},
        Action.RETURN: dict(reason="非本单位职责"),
        Action.SUBDISPATCH: dict(unit_id=row["grid_id"]),
        Action.ESCALATE: dict(unit_id=street if row["holder_unit_id"] != street else dept["id"]),
        Action.EXTEND: dict(days=2),
        Action.SUPERVISE: dict(note="请加快"),
        Action.RESOLVE: dict(result="已处置", closure_reason="solved"),
        Action.REDO: dict(reason="群众不满意"),
        Action.CALLBACK: dict(satisfaction="basically"),
        Action.NOTE: dict(note="已电话联系"),
    }[action]


_FUNCTIONS = {Action.DISPATCH: wf.dispatch, Action.DIRECT: wf.direct, Action.INVALIDATE: wf.invalidate,
              Action.MERGE: wf.merge, Action.SIGN: wf.sign, Action.RETURN: wf.return_case,
              Action.SUBDISPATCH: wf.subdispatch, Action.ESCALATE: wf.escalate,
              Action.EXTEND: wf.extend, Action.SUPERVISE: wf.supervise, Action.RESOLVE: wf.resolve,
              Action.REDO: wf.redo, Action.CALLBACK: wf.callback, Action.NOTE: wf.note}
CASES = [(action, state) for action in _FUNCTIONS for state in State]


@pytest.mark.parametrize("action,state", CASES, ids=[f"{a.value}-from-{s.value}" for a, s in CASES])
async def test_every_transition(demo_db, officer, action, state):
    """Legal: the state moves as DESIGN.md §3 says, with exactly one event.
    Illegal: refused, and nothing at all is written to the case."""
    case_id = await _bring_to(demo_db, officer, state)
    before, log_before = await _row(demo_db, case_id), await _events(demo_db, case_id)
    params = await _params(demo_db, officer, case_id, action)
    sources, target = TRANSITIONS[action]
    if state not in sources:
        with pytest.raises(Refused):
            await _FUNCTIONS[action](demo_db, officer, case_id, **params)
        assert await _row(demo_db, case_id) == before
        assert len(await _events(demo_db, case_id)) == len(log_before)
        return
    change = await _FUNCTIONS[action](demo_db, officer, case_id, **params)
    after, log_after = await _row(demo_db, case_id), await _events(demo_db, case_id)
    assert after["state"] == (target or state)
    assert change.version == after["version"] == before["version"] + 1
    assert len(log_after) == len(log_before) + 1
    last = log_after[-1]
    assert (last["action"], last["from_state"], last["to_state"], last["seq"]) == (
        action.value, state.value, after["state"], after["version"])
    assert last["operator_id"] == officer.id


async def test_dispatch_sets_deadlines_by_working_days(demo_db, officer):
    case_id = await _new_case(demo_db, officer)  # clock: Friday 2026-11-20 10:00 +08:00
    row = await _row(demo_db, case_id)
    await wf.dispatch(demo_db, officer, case_id, unit_id=row["community_id"])
    row = await _row(demo_db, case_id)
    local = clock.to_local
    assert local(row["sign_due"]).strftime("%Y-%m-%d %H:%M") == "2026-11-23 10:00"  # Monday
    assert local(row["resolve_due"]).strftime("%Y-%m-%d %H:%M") == "2026-11-27 10:00"


async def test_critical_case_deadlines_in_hours(demo_db, officer):
    case_id = await _new_case(demo_db, officer, urgency=Urgency.CRITICAL)
    row = await _row(demo_db, case_id)
    await wf.dispatch(demo_db, officer, case_id, unit_id=row["community_id"])
    row = await _row(demo_db, case_id)
    assert (row["sign_due"] - clock.now()).total_seconds() == 30 * 60
    assert (row["resolve_due"] - clock.now()).total_seconds() == 2 * 3600


async def test_extensions_total_at_most_ten_working_days(demo_db, officer):
    case_id = await _bring_to(demo_db, officer, State.IN_PROGRESS)
    await wf.extend(demo_db, officer, case_id, days=6)
    with pytest.raises(Refused, match="10"):
        await wf.extend(demo_db, officer, case_id, days=5)
    await wf.extend(demo_db, officer, case_id, days=4)
    assert (await _row(demo_db, case_id))["extended_days"] == 10


async def test_return_only_within_two_working_days(demo_db, officer):
    case_id = await _bring_to(demo_db, officer, State.DISPATCHED)
    later(days=5)  # Friday → Wednesday: three working days later
    with pytest.raises(Refused):
        await wf.return_case(demo_db, officer, case_id, reason="非本单位职责")


async def test_reasons_and_results_are_required(demo_db, officer):
    case_id = await _new_case(demo_db, officer)
    for call in (lambda: wf.invalidate(demo_db, officer, case_id, reason="  "),
                 lambda: wf.direct(demo_db, officer, case_id, result="")):
        with pytest.raises(Refused):
            await call()
    assert (await _row(demo_db, case_id))["version"] == 1


async def test_subdispatch_goes_down_and_escalate_goes_up(demo_db, officer):
    case_id = await _bring_to(demo_db, officer, State.IN_PROGRESS)
    row = await _row(demo_db, case_id)
    with pytest.raises(Refused):  # the street is above the community, not below
        await wf.subdispatch(demo_db, officer, case_id, unit_id=row["street_id"])
    await wf.subdispatch(demo_db, officer, case_id, unit_id=row["grid_id"])
    other_street = await _unit(demo_db, "street", name="灵山镇")
    with pytest.raises(Refused):  # another street is not above this grid
        await wf.escalate(demo_db, officer, case_id, unit_id=other_street["id"])
    dept = await _unit(demo_db, "department")
    await wf.escalate(demo_db, officer, case_id, unit_id=row["street_id"], assist_ids=[dept["id"]])
    assert (await _row(demo_db, case_id))["holder_unit_id"] == row["street_id"]


async def test_stale_version_is_refused_and_names_who_changed_it(demo_db, officer):
    case_id = await _new_case(demo_db, officer)
    seen = (await _row(demo_db, case_id))["version"]
    supervisor = await wf.load_actor(demo_db, "duban")
    await wf.supervise(demo_db, supervisor, case_id, note="请尽快", version=seen)
    with pytest.raises(Refused) as refusal:
        await wf.invalidate(demo_db, officer, case_id, reason="重复", version=seen)
    assert "duban" in str(refusal.value) and "督办" in str(refusal.value)
    row = await _row(demo_db, case_id)
    assert row["state"] == State.RECEIVED and row["supervise_count"] == 1


async def test_two_sessions_one_wins(demo_db, demo_url, officer):
    """Two connections act on the same version: exactly one wins, nothing is lost."""
    other = Database(demo_url)
    try:
        case_id = await _new_case(demo_db, officer)
        seen = (await _row(demo_db, case_id))["version"]
        first = await wf.note(demo_db, officer, case_id, note="第一", version=seen)
        with pytest.raises(Refused):
            await wf.note(other, officer, case_id, note="第二", version=seen)
        notes = [e["note"] for e in await _events(demo_db, case_id)]
        assert notes.count("第一") == 1 and "第二" not in notes
        assert first.version == seen + 1
    finally:
        await other.dispose()


async def test_scope_and_role_refusals_are_audited(demo_db, officer):
    case_id = await _new_case(demo_db, officer, street_name="潮海街道")
    row = await _row(demo_db, case_id)
    await wf.dispatch(demo_db, officer, case_id, unit_id=row["community_id"])
    async with demo_db.read() as conn:
        codes = dict((await conn.execute(select(Unit.name, Unit.id).where(Unit.kind == "street"))).all())
    own = await wf.load_actor(demo_db, "street01")  # 潮海街道: the first street
    assert own.scope_unit_id == codes["潮海街道"]
    foreign = await wf.load_actor(demo_db, "street12")
    with pytest.raises(Refused):
        await wf.sign(demo_db, foreign, case_id)
    viewer = await wf.load_actor(demo_db, "wall")
    with pytest.raises(Refused):
        await wf.sign(demo_db, viewer, case_id)
    await wf.sign(demo_db, own, case_id)
    async with demo_db.read() as conn:
        audit = (await conn.execute(select(AuditEntry.operator_code, AuditEntry.ok)
                                    .where(AuditEntry.case_id == case_id)
                                    .order_by(AuditEntry.id))).all()
    assert ("street12", False) in audit and ("wall", False) in audit and ("street01", True) in audit
