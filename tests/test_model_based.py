"""Model-based test of the workflow (issue 9, part 1).

A hypothesis state machine sends random sequences of every action, by random
operators (district officer, supervisor, wall viewer, street officers in and
out of scope, department liaisons) with valid and invalid parameters, against
a real database (a private copy of the demo district; SQLite or PostgreSQL).

The expected outcome of each action is computed here in plain Python from the
raw rows -- visibility, role, transition table, target units, reasons, time
windows -- without db/scope.py or db/workflow.py.  After every step:

* the action succeeded exactly when the model found nothing to refuse, and a
  refusal names one of the reasons the model found (so no illegal transition
  and no out-of-scope action is ever accepted);
* a success bumped the version by one and appended exactly one event
  (seq == version, by the operator); a refusal left the case and its log
  untouched and was written to the audit trail (ok = false);
* every touched case's event log has seq 1..version and replays through
  lifecycle.replay to its state, holder and deadlines;
* at the end of each sequence every case of the sequence replays, and the
  headline figures (open, overdue, received) and the grid tree's figures
  (district, and the streets the sequence acted in: open, overdue,
  supervised) equal a direct SQL count.

Counts: ``GRIDCONSOLE_HEAVY=1`` runs the documented full run (200 sequences of
50 steps); the default is sized for CI.
"""
from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy import and_, func, select

from gridconsole.db import clock, gridstatus, stats, workflow as wf
from gridconsole.db.domain import (
    HELD_STATES, OPEN_STATES, ROLE_ACTIONS, TRANSITIONS, Action, Channel, ClosureReason, Satisfaction, State, Urgency,
    allowed_actions,
)
from gridconsole.db.engine import Database
from gridconsole.db.lifecycle import Refused, limits_for, replay
from gridconsole.db.models import AuditEntry, Case, CaseAssist, CaseEvent, Category, Unit
from gridconsole.db.overview import headline
from gridconsole.db.workcal import add_workdays

from conftest import DEMO_UNTIL

cases, events, units = Case.__table__, CaseEvent.__table__, Unit.__table__
assists, audit, categories = CaseAssist.__table__, AuditEntry.__table__, Category.__table__

HEAVY = bool(os.environ.get("GRIDCONSOLE_HEAVY"))
EXAMPLES = 200 if HEAVY else 20
STEPS = 50 if HEAVY else 25

#: street01 works in 潮海街道 (unit 2): cases there are in its scope, cases in
#: 灵山镇 (street12's) are not; dept-zhzf / dept-gaj see what they hold.
OPERATORS = ["demo", "duban", "wall", "street01", "street12", "dept-zhzf", "dept-gaj"]
STREETS = ["潮海街道", "灵山镇"]
ACTIONS = [a for a in Action if a is not Action.RECEIVE]
NOWHERE = 10 ** 8  # a unit / case id that does not exist

DEPARTMENTS = ("department", "station")
RESET = dict(state=State.RECEIVED.value, holder_unit_id=None, holder_person_id=None,
             first_dispatched_at=None, dispatched_at=None, sign_due=None, resolve_due=None,
             signed_at=None, resolved_at=None, closed_at=None, satisfaction=None,
             closure_reason=None, result=None, merged_into_id=None, invalid_reason=None,
             supervise_count=0, return_count=0, redo_count=0, extended_days=0, escalate_count=0)
REPLAYED = ("state", "holder_unit_id", "holder_person_id", "dispatched_at", "sign_due",
            "resolve_due", "signed_at", "resolved_at", "closed_at", "satisfaction",
            "closure_reason", "result", "merged_into_id", "invalid_reason", "supervise_count",
            "return_count", "redo_count", "extended_days", "escalate_count", "first_dispatched_at")

TOTALS = {"actions": 0, "succeeded": 0, "refused": 0}


class World:
    """The static part of the district, read once per test: units, operators, limits."""

    def __init__(self, loop, db):
        self.loop, self.db = loop, db

    async def load(self):
        async with self.db.read() as conn:
            self.units = {r.id: r for r in (await conn.execute(select(units))).all()}
            self.limits = {r.id: (r.sign_limit, r.resolve_limit)
                           for r in (await conn.execute(select(categories))).all()}
            self.category = await conn.scalar(select(func.min(cases.c.category_id)))
        self.actors = {code: await wf.load_actor(self.db, code) for code in OPERATORS}
        self.streets = {u.name: u for u in self.units.values() if u.kind == "street"}
        self.district = next(u.id for u in self.units.values() if u.kind == "district")
        self.departments = sorted(u.id for u in self.units.values() if u.kind == "department")
        self.stations = sorted(u.id for u in self.units.values() if u.kind == "station")
        self.children = {}
        for u in self.units.values():
            self.children.setdefault(u.parent_id, []).append(u.id)
        self.areas = {}
        for name in STREETS:
            street = self.streets[name].id
            community = min(self.children[street], key=lambda i: (self.units[i].kind != "community", i))
            grid = min(self.children[community])
            self.areas[name] = (street, community, grid)

    def ancestors(self, unit_id):
        chain, current = [], unit_id
        while current is not None:
            row = self.units.get(current)
            current = row.parent_id if row else None
            if current is not None:
                chain.append(current)
        return chain


def visible(world: World, actor, case: dict, assist_units: set[int]) -> bool:
    """DESIGN.md's 按需鉴权共享, in plain Python (not db/scope.py)."""
    scope = actor.scope_unit_id
    if scope is None:
        return True
    holder = world.units.get(case["holder_unit_id"])
    if actor.scope_kind == "street":
        return case["street_id"] == scope or (holder is not None and holder.street_id == scope)
    mine = {u for u in world.units if scope in (u, world.units[u].parent_id)}
    return (case["holder_unit_id"] in mine or case["grid_id"] in mine
            or bool(assist_units & mine))


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def expected_refusals(world: World, actor, case: dict, action: Action, params: dict,
                      assist_units: set[int], parent: dict | None, parent_assists: set[int],
                      now) -> set[str]:
    """Every reason the workflow may give for refusing this action (empty: it must succeed)."""
    why = set()
    if not visible(world, actor, case, assist_units):
        why.add("refused.scope")
    if action not in ROLE_ACTIONS[actor.role]:
        why.add("refused.role")
    state = State(case["state"])
    if state not in TRANSITIONS[action][0]:
        why.add("refused.transition")
    holder = case["holder_unit_id"]
    if action in (Action.DISPATCH, Action.SUBDISPATCH, Action.ESCALATE):
        target = world.units.get(params["unit_id"])
        if target is None or not target.active or target.kind == "district":
            why.add("refused.no_unit")
        else:
            if action is Action.SUBDISPATCH and holder not in world.ancestors(target.id):
                why.add("refused.not_below")
            if action is Action.ESCALATE:
                if target.kind not in DEPARTMENTS and target.id not in world.ancestors(holder):
                    why.add("refused.not_above")
                for assist in params.get("assist_ids") or ():
                    unit = world.units.get(assist)
                    if unit is None:
                        why.add("refused.no_unit")
                    elif unit.kind not in DEPARTMENTS:
                        why.add("refused.assist_not_department")
            if action is not Action.DISPATCH and target.id == holder:
                why.add("refused.same_holder")
    elif action is Action.MERGE:
        if parent is None or not visible(world, actor, parent, parent_assists):
            why.add("refused.no_case")
        elif parent["state"] in (State.MERGED, State.INVALID):
            why.add("refused.merge_target")
        if params["parent_id"] == case["id"]:
            why.add("refused.merge_self")
    required = {Action.DIRECT: "result", Action.INVALIDATE: "reason", Action.RETURN: "reason",
                Action.RESOLVE: "result", Action.REDO: "reason", Action.NOTE: "note"}
    if action in required and blank(params.get(required[action])):
        why.add("refused.missing")
    if (action is Action.RETURN and case["dispatched_at"] is not None
            and now > add_workdays(case["dispatched_at"], 2)):
        why.add("refused.return_window")
    if action is Action.EXTEND and (params["days"] < 1 or case["extended_days"] + params["days"] > 10):
        why.add("refused.extension")
    if action is Action.REDO and holder is None:
        why.add("refused.redo_no_holder")
    return why


class Workflow(RuleBasedStateMachine):
    world: World  # set by the test

    @initialize()
    def fresh_cases(self):
        clock.set_clock(lambda: clock.as_utc(DEMO_UNTIL))
        self.pool: list[int] = []
        self.run = self.world.loop.run_until_complete
        for name in STREETS * 2:
            self.pool.append(self.run(self._receive(name)))
        self.touched = set(self.pool)

    async def _receive(self, street_name):
        street, community, grid = self.world.areas[street_name]
        return await wf.receive(
            self.world.db, self.world.actors["demo"], channel=Channel.HOTLINE,
            source_ref=f"mb-{uuid.uuid4().hex}", category_id=self.world.category,
            urgency=Urgency.NORMAL, content="楼道堆物", address=street_name,
            street_id=street, community_id=community, grid_id=grid)

    @rule(street=st.sampled_from(STREETS))
    def receive(self, street):
        if len(self.pool) < 8:
            self.pool.append(self.run(self._receive(street)))

    @rule(hours=st.sampled_from([1, 5, 30, 80]))
    def time_passes(self, hours):
        now = clock.now() + timedelta(hours=hours)
        clock.set_clock(lambda: now)

    @rule(data=st.data())
    def act(self, data):
        world, db = self.world, self.world.db
        case_id = data.draw(st.sampled_from(self.pool), label="case")
        case, assist_units, log_before, audit_before = self.run(self._snapshot(case_id))
        # Half the time an operator who may act on the case and an action its
        # state allows (so cases travel far), else anything by anyone.
        code = data.draw(st.sampled_from(["demo"] * 5 + OPERATORS), label="operator")
        action = data.draw(st.one_of(st.sampled_from(allowed_actions(State(case["state"]))),
                                     st.sampled_from(ACTIONS)), label="action")
        params = self._params(data, case, action)
        parent, parent_assists = (None, set())
        if action is Action.MERGE and params["parent_id"] != NOWHERE:
            parent, parent_assists, _, _ = self.run(self._snapshot(params["parent_id"]))
        actor = world.actors[code]
        why = expected_refusals(world, actor, case, action, params, assist_units,
                                parent, parent_assists, clock.now())
        versioned = data.draw(st.booleans(), label="versioned")
        TOTALS["actions"] += 1
        try:
            change = self.run(wf.perform(db, actor, case_id, action,
                                         version=case["version"] if versioned else None, **params))
        except Refused as refusal:
            TOTALS["refused"] += 1
            assert why, f"{code} {action} on {case['state']} refused ({refusal}) but the model allows it"
            assert refusal.key in why, f"{code} {action}: refused for {refusal.key}, model says {why}"
            after, _, log_after, audit_after = self.run(self._snapshot(case_id))
            assert after == case, "a refused action changed the case"
            assert log_after == log_before, "a refused action wrote an event"
            assert audit_after == audit_before + 1, "a refusal was not written to the audit trail"
            return
        TOTALS["succeeded"] += 1
        assert not why, f"{code} {action} on a {case['state']} case accepted despite {why}"
        after, _, log_after, _ = self.run(self._snapshot(case_id))
        sources, target = TRANSITIONS[action]
        assert after["state"] == (target or State(case["state"])) == change.state
        assert after["version"] == case["version"] + 1 == change.version
        assert log_after[:-1] == log_before and len(log_after) == len(log_before) + 1
        last = log_after[-1]
        assert (last["seq"], last["action"], last["operator_id"], last["from_state"], last["to_state"]) == (
            after["version"], action.value, actor.id, case["state"], after["state"])
        if action in (Action.DISPATCH, Action.SUBDISPATCH, Action.ESCALATE):
            assert after["holder_unit_id"] == params["unit_id"]
        if action is Action.RETURN:
            assert after["holder_unit_id"] is None and after["resolve_due"] is None
        self.check_replay(after, log_after)
        if action is Action.MERGE:
            assert after["merged_into_id"] == params["parent_id"]
            self.check_replay(*self.run(self._snapshot(params["parent_id"]))[::2])

    def _params(self, data, case, action: Action) -> dict:
        world = self.world
        street, community, grid = case["street_id"], case["community_id"], case["grid_id"]
        holder = case["holder_unit_id"]
        other = next(a for a in world.areas.values() if a[0] != street)
        text = data.draw(st.sampled_from(["已处理", "请核实 [b]x[/b]", "同意", "已电话答复", "  ", ""]), label="text")
        if action is Action.DISPATCH:
            unit = data.draw(st.sampled_from(
                [community, community, grid, street, other[1], world.departments[0],
                 world.stations[0], world.district, NOWHERE]), label="unit")
            return dict(unit_id=unit, note=None)
        if action is Action.SUBDISPATCH:
            below = world.children.get(holder) or [grid]
            unit = data.draw(st.sampled_from(
                [below[0], below[-1], grid, community, street, other[2], holder or grid,
                 world.departments[1]]), label="unit")
            return dict(unit_id=unit, note=None)
        if action is Action.ESCALATE:
            above = world.ancestors(holder) if holder else [street]
            unit = data.draw(st.sampled_from(
                [above[0], street, world.departments[0], world.stations[1], other[0],
                 holder or street, world.district]), label="unit")
            assist = data.draw(st.sampled_from(
                [[], [], [world.departments[2]], [community], [NOWHERE]]), label="assist")
            return dict(unit_id=unit, assist_ids=assist, note=None)
        if action is Action.MERGE:
            parent = data.draw(st.sampled_from(self.pool + [NOWHERE]), label="parent")
            return dict(parent_id=parent, note=None)
        if action is Action.EXTEND:
            return dict(days=data.draw(st.sampled_from([1, 2, 3, 6, 0, 11]), label="days"), note=None)
        if action is Action.DIRECT:
            return dict(result=text, closure_reason=data.draw(st.sampled_from(list(ClosureReason))))
        if action is Action.RESOLVE:
            return dict(result=text, closure_reason=data.draw(st.sampled_from(list(ClosureReason))))
        if action is Action.CALLBACK:
            return dict(satisfaction=data.draw(st.sampled_from(list(Satisfaction))), note=None)
        if action in (Action.INVALIDATE, Action.RETURN, Action.REDO):
            return dict(reason=text)
        if action in (Action.SUPERVISE, Action.NOTE, Action.SIGN):
            return dict(note=text)
        raise AssertionError(action)

    async def _snapshot(self, case_id):
        """The case row, its assisting units, its log and its count of audited refusals."""
        async with self.world.db.read() as conn:
            row = (await conn.execute(select(cases).where(cases.c.id == case_id))).mappings().first()
            helped = set((await conn.scalars(select(assists.c.unit_id)
                                              .where(assists.c.case_id == case_id))).all())
            log = [dict(r) for r in (await conn.execute(
                select(events).where(events.c.case_id == case_id).order_by(events.c.seq))).mappings()]
            refused = await conn.scalar(select(func.count()).select_from(audit).where(
                audit.c.case_id == case_id, audit.c.ok == False))  # noqa: E712
        return (dict(row) if row else None), helped, log, refused

    def check_replay(self, row, history):
        assert [e["seq"] for e in history] == list(range(1, row["version"] + 1)), row["id"]
        assert history[0]["action"] == Action.RECEIVE
        assert history[-1]["to_state"] == row["state"]
        limits = limits_for(row["urgency"], *self.world.limits[row["category_id"]])
        rebuilt = replay(dict(row) | RESET, history[1:], limits)
        assert {f: rebuilt[f] for f in REPLAYED} == {f: row[f] for f in REPLAYED}, row["id"]

    def teardown(self):
        if not hasattr(self, "pool"):
            return
        for case_id in self.pool:
            self.check_replay(*self.run(self._snapshot(case_id))[::2])
        self.run(self._check_headline())
        self.run(self._check_statistics())

    async def _check_statistics(self):
        """The running week's bulletin counts what direct SQL counts: cases
        received (in all and per street), supervisions, and overdue cases."""
        now = clock.now()
        week = stats.Period.containing("week", now)
        report = await stats.compute(self.world.db, self.world.actors["demo"], week, now=now)
        in_week = and_(cases.c.created_at >= week.start, cases.c.created_at < now)
        async with self.world.db.read() as conn:
            received = dict((await conn.execute(select(cases.c.street_id, func.count())
                                                .where(in_week).group_by(cases.c.street_id))).all())
            supervised = await conn.scalar(select(func.count()).select_from(events).where(
                events.c.action == Action.SUPERVISE.value, events.c.at >= week.start,
                events.c.at < now))
            overdue = await conn.scalar(select(func.count()).select_from(cases).where(
                cases.c.state.in_([s.value for s in HELD_STATES]), cases.c.resolve_due < now))
        totals = report.totals
        assert (totals["received"], totals["supervised"], totals["overdue_open"]) == \
            (sum(received.values()), supervised, overdue)
        for unit in report.ranked("street") + report.apart("street"):
            assert unit["received"] == received.get(unit["unit_id"], 0), unit["unit"]

    async def _check_headline(self):
        """The header figures and the grid tree's figures equal direct SQL."""
        now = clock.now()
        actor = self.world.actors["demo"]
        numbers = await headline(self.world.db, actor)
        roots, kids = await gridstatus.open_tree(self.world.db, actor)
        async with self.world.db.read() as conn:
            rows = (await conn.execute(select(
                cases.c.street_id, cases.c.state, cases.c.resolve_due,
                cases.c.supervise_count))).all()
        open_states = {s.value for s in OPEN_STATES}
        held = {s.value for s in HELD_STATES}

        def figures(selected):
            live = [r for r in selected if r.state in open_states]
            return (len(live), sum(1 for r in live if r.state in held and r.resolve_due < now),
                    sum(1 for r in live if r.supervise_count > 0))

        open_, overdue, _ = figures(rows)
        received = sum(1 for r in rows if r.state == State.RECEIVED.value)
        assert (numbers.open, numbers.overdue, numbers.received) == (open_, overdue, received)
        district = roots[0]
        assert district.figures.open == open_ and district.figures.overdue == overdue
        for name in STREETS:
            sid = self.world.streets[name].id
            node = next(n for n in kids[district.ref] if n.ref[1] == sid)
            f = node.figures
            assert (f.open, f.overdue, f.supervised) == figures([r for r in rows if r.street_id == sid]), name


def test_random_operators_random_actions(demo_url):
    """Random action sequences: the model and the database always agree."""
    loop = asyncio.new_event_loop()
    db = Database(demo_url)
    try:
        world = World(loop, db)
        loop.run_until_complete(world.load())
        Workflow.world = world
        run_state_machine_as_test(Workflow, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
            derandomize=not HEAVY,  # CI: the same sequences every run; the full run explores
            suppress_health_check=list(HealthCheck)))
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()
    print(f"\nmodel-based: {TOTALS['actions']} actions, {TOTALS['succeeded']} succeeded, "
          f"{TOTALS['refused']} refused as the model predicted; 0 illegal accepted")
    assert TOTALS["succeeded"] >= 5 and TOTALS["refused"] >= 5  # not vacuous
