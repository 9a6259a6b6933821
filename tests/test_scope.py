"""Scope holds for every role (按需鉴权共享): each read path returns only the
cases and units the role may see, and every action outside its role or area
is refused and audited.

The expected visibility is computed here in Python from the raw rows,
independently of db/scope.py.  To cover a new read path, add a function to
``CASE_READS`` (it returns the case ids the actor sees, or a count) and it
is checked for every role in ``ROLES``.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gridconsole.db import clock, workflow
from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.domain import HELD_STATES, OPEN_STATES, ROLE_ACTIONS, Action, State
from gridconsole.db.lifecycle import Refused
from gridconsole.db.models import AuditEntry, Case, CaseAssist, Unit
from gridconsole.db.gridstatus import open_tree
from gridconsole.db.overview import headline
from gridconsole.db.queue import Sort, detail, page, rows_by_id, view_counts
from gridconsole.db.scope import case_scope, unit_scope
from gridconsole.db.stats import Period, compute
from gridconsole.db.workflow import load_actor

cases, units, assists, audit = (Case.__table__, Unit.__table__, CaseAssist.__table__,
                                AuditEntry.__table__)

#: One operator of each role and kind of scope in the demo district.
ROLES = ["demo", "duban", "wall", "street01", "street05", "dept-zhzf", "dept-gaj"]


async def _world(db):
    async with db.read() as conn:
        unit_rows = (await conn.execute(select(units.c.id, units.c.parent_id, units.c.street_id,
                                               units.c.community_id))).all()
        case_rows = (await conn.execute(select(
            cases.c.id, cases.c.state, cases.c.street_id, cases.c.community_id, cases.c.grid_id,
            cases.c.holder_unit_id, cases.c.resolve_due))).all()
        assist_rows = (await conn.execute(select(assists.c.case_id, assists.c.unit_id))).all()
    return unit_rows, case_rows, assist_rows


def expected_cases(actor, unit_rows, case_rows, assist_rows) -> set[int]:
    """The cases the role may see, from DESIGN.md and the issue, in plain Python."""
    if actor.scope_unit_id is None:
        return {c.id for c in case_rows}
    scope = actor.scope_unit_id
    if actor.scope_kind == "street":  # its street, or held by a unit of its street
        mine = {u.id for u in unit_rows if u.street_id == scope}
        return {c.id for c in case_rows if c.street_id == scope or c.holder_unit_id in mine}
    # a department: held by / assisting it or a unit directly under it, or in its grids
    mine = {u.id for u in unit_rows if scope in (u.id, u.parent_id)}
    helped = {a.case_id for a in assist_rows if a.unit_id in mine}
    return {c.id for c in case_rows
            if c.holder_unit_id in mine or c.grid_id in mine or c.id in helped}


def expected_units(actor, unit_rows) -> set[int]:
    if actor.scope_unit_id is None:
        return {u.id for u in unit_rows}
    scope = actor.scope_unit_id
    if actor.scope_kind == "street":
        return {u.id for u in unit_rows if u.street_id == scope}
    return {u.id for u in unit_rows if scope in (u.id, u.parent_id)}


async def _scoped_case_ids(db, actor) -> set[int]:
    async with db.read() as conn:
        return set((await conn.scalars(select(cases.c.id).where(case_scope(actor)))).all())


async def _queue_ids(db, actor) -> set[int]:
    """Every page of the queue, every state (the statistics' drill-down filter)."""
    seen, after = set(), None
    while rows := await page(db, actor, CaseFilter(include_closed=True), after=after, limit=1000):
        seen |= {r["id"] for r in rows}
        after = rows[-1]["key"]
    return seen


async def _created_in(db, start, end) -> set[int]:
    async with db.read() as conn:
        return set((await conn.scalars(select(cases.c.id).where(
            cases.c.created_at >= start, cases.c.created_at < end))).all())


#: read path -> coroutine(db, actor) returning the case ids it shows.
CASE_READS = {
    "case_scope": _scoped_case_ids,
    "queue.page": _queue_ids,
}


@pytest.mark.parametrize("code", ROLES)
async def test_reads_show_only_the_roles_cases(demo_db, code):
    actor = await load_actor(demo_db, code)
    unit_rows, case_rows, assist_rows = await _world(demo_db)
    allowed = expected_cases(actor, unit_rows, case_rows, assist_rows)
    assert allowed, "every demo operator has cases to see"
    if actor.scope_unit_id is not None:
        assert len(allowed) < len(case_rows)
    for name, read in CASE_READS.items():
        assert await read(demo_db, actor) == allowed, name

    # The headline counts on every screen.
    now = clock.now()
    mine = [c for c in case_rows if c.id in allowed]
    held = {s.value for s in HELD_STATES}
    figures = await headline(demo_db, actor)
    assert figures.open == sum(c.state in {s.value for s in OPEN_STATES} for c in mine)
    assert figures.received == sum(c.state == State.RECEIVED for c in mine)
    assert figures.overdue == sum(c.state in held and c.resolve_due is not None
                                  and clock.as_utc(c.resolve_due) < now for c in mine)

    # The queue's saved views count what the headline counts.
    counts = await view_counts(demo_db, actor)
    assert (counts["open"], counts["received"]) == (figures.open, figures.received)

    # One case: its detail (and the cases it links to) only when in scope.
    outside = [c.id for c in case_rows if c.id not in allowed]
    if outside:
        assert await detail(demo_db, actor, outside[0]) is None
        assert await rows_by_id(demo_db, actor, CaseFilter(), Sort(), [outside[0]]) == {}
    for case_id in sorted(allowed)[:: max(1, len(allowed) // 15)]:
        found = await detail(demo_db, actor, case_id)
        linked = {c["id"] for c in found.same_phone + found.same_place + found.merged}
        linked |= {found.parent["id"]} if found.parent else set()
        assert linked <= allowed

    # The month's bulletin counts the role's cases only.
    month = Period.parse("2026-11")
    report = await compute(demo_db, actor, month)
    created = await _created_in(demo_db, month.start, now)
    assert report.totals["received"] == len(created & allowed)
    for repeat in report.repeat_complaints:
        assert set(repeat["case_ids"]) <= allowed
        assert repeat["kind"] != "phone" or "****" in repeat["key"]

    # The area tree: units, and the units the grid tree shows.
    expected = expected_units(actor, unit_rows)
    async with demo_db.read() as conn:
        seen_units = set((await conn.scalars(select(units.c.id).where(unit_scope(actor)))).all())
    assert seen_units == expected
    if actor.scope_unit_id is not None:
        roots, kids = await open_tree(demo_db, actor)
        shown = {n.ref[1] for n in roots + [k for ks in kids.values() for k in ks]
                 if isinstance(n.ref[1], int)}
        assert shown and shown <= expected


def _params(action: Action, other_case: int, unit_id: int) -> dict:
    """Arguments that would be well-formed for each workflow function."""
    return {
        Action.DISPATCH: dict(unit_id=unit_id), Action.DIRECT: dict(result="已答复"),
        Action.INVALIDATE: dict(reason="重复"), Action.MERGE: dict(parent_id=other_case),
        Action.SIGN: {}, Action.RETURN: dict(reason="非本单位"),
        Action.SUBDISPATCH: dict(unit_id=unit_id), Action.ESCALATE: dict(unit_id=unit_id),
        Action.EXTEND: dict(days=2), Action.SUPERVISE: dict(note="督办"),
        Action.RESOLVE: dict(result="已处理", closure_reason="solved"),
        Action.REDO: dict(reason="不满意"), Action.CALLBACK: dict(satisfaction="satisfied"),
        Action.NOTE: dict(note="备注"),
    }[action]


FUNCTIONS = {
    Action.DISPATCH: workflow.dispatch, Action.DIRECT: workflow.direct,
    Action.INVALIDATE: workflow.invalidate, Action.MERGE: workflow.merge,
    Action.SIGN: workflow.sign, Action.RETURN: workflow.return_case,
    Action.SUBDISPATCH: workflow.subdispatch, Action.ESCALATE: workflow.escalate,
    Action.EXTEND: workflow.extend, Action.SUPERVISE: workflow.supervise,
    Action.RESOLVE: workflow.resolve, Action.REDO: workflow.redo,
    Action.CALLBACK: workflow.callback, Action.NOTE: workflow.note,
}


async def _refusals(db, code: str) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(audit).where(
            audit.c.operator_code == code, audit.c.ok.is_(False)))


@pytest.mark.parametrize("code", ROLES)
async def test_actions_outside_role_or_scope_are_refused_and_audited(demo_db, code):
    actor = await load_actor(demo_db, code)
    unit_rows, case_rows, assist_rows = await _world(demo_db)
    allowed = expected_cases(actor, unit_rows, case_rows, assist_rows)
    inside = min(allowed)
    outside = [c.id for c in case_rows if c.id not in allowed]
    some_unit = max(u.id for u in unit_rows)
    before = await _versions(demo_db)
    attempts = 0
    assert set(FUNCTIONS) == set(Action) - {Action.RECEIVE}

    for action, function in FUNCTIONS.items():
        if outside:  # another area's case: refused whatever the role
            with pytest.raises(Refused) as refused:
                await function(demo_db, actor, outside[0], **_params(action, inside, some_unit))
            assert refused.value.key == "refused.scope", action
            attempts += 1
        if not actor.may(action):  # its own case, an action not of its role
            with pytest.raises(Refused) as refused:
                await function(demo_db, actor, inside, **_params(action, inside, some_unit))
            assert refused.value.key == "refused.role", action
            attempts += 1
    assert attempts == await _refusals(demo_db, code)
    assert attempts > 0 or code == "demo"  # the district officer may do all, everywhere
    assert await _versions(demo_db) == before, "a refused action changed nothing"


async def _versions(db) -> dict:
    async with db.read() as conn:
        return dict((await conn.execute(select(cases.c.id, cases.c.version))).all())


def test_role_table_matches_the_issue():
    """District officers dispatch, supervise, approve extensions and call back;
    street officers and liaisons act on held cases; supervisors supervise;
    the wall only reads."""
    assert {Action.DISPATCH, Action.SUPERVISE, Action.EXTEND, Action.CALLBACK} <= \
        ROLE_ACTIONS["district_officer"]
    assert ROLE_ACTIONS["supervisor"] == {Action.SUPERVISE, Action.NOTE}
    assert ROLE_ACTIONS["viewer"] == frozenset()
    for role in ("street_officer", "dept_liaison"):
        assert {Action.SIGN, Action.RESOLVE, Action.RETURN} <= ROLE_ACTIONS[role]
        assert not {Action.DISPATCH, Action.CALLBACK, Action.SUPERVISE} & ROLE_ACTIONS[role]
