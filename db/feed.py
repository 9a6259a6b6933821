"""A simulated live feed: new cases at the demo district's rhythm, and field
units moving existing ones along (dispatch, sign, resolve, return, escalate).

Every change goes through db/workflow with a real operator: the district
officer receives and dispatches; the holder's own operator (the street's duty
officer, the department's liaison) signs, resolves, returns and escalates.
So the log the feed leaves replays like any other.  The console runs
``run_feed`` as a worker with ``--demo``; ``gridconsole feed`` runs it alone.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from . import clock, workflow
from .demo import district as D
from .demo.seed import HOUR_WEIGHTS
from .domain import Action, Channel, Role, State, UnitKind
from .engine import Database
from .i18n import catalog
from .lifecycle import Refused
from .models import Case, Category, Operator, Unit
from .scope import Actor

cases, units, categories, operators = (Case.__table__, Unit.__table__, Category.__table__,
                                       Operator.__table__)
RECENT = 60  # the feed works on the newest cases of a state: the ones on screen
TEMPLATES = {code: templates for _, leaves in D.CATEGORIES
             for code, _, _, _, _, _, templates in leaves}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


@dataclass(frozen=True)
class Step:
    """One thing the feed did (or tried: ``refused`` holds why not)."""
    action: Action
    case_id: int | None
    operator: str
    refused: str | None = None


@dataclass
class FeedStats:
    done: Counter = field(default_factory=Counter)
    refused: int = 0


@dataclass
class _World:
    center: Actor
    actors: dict[int, Actor]        # scope unit id -> its operator
    units: dict[int, dict]
    communities: list[dict]
    categories: list[dict]
    departments: list[int]


async def _world(db: Database) -> _World:
    async with db.read() as conn:
        ops = (await conn.execute(
            select(operators, units.c.kind.label("scope_kind"))
            .outerjoin(units, units.c.id == operators.c.scope_unit_id)
            .where(operators.c.disabled.is_(False)).order_by(operators.c.id))).mappings().all()
        unit_rows = (await conn.execute(select(units.c.id, units.c.kind, units.c.name,
                                               units.c.parent_id, units.c.street_id)
                                        .where(units.c.active))).mappings().all()
        parents = set((await conn.execute(select(categories.c.parent_id)
                                          .where(categories.c.parent_id.is_not(None)))).scalars())
        cats = (await conn.execute(select(categories))).mappings().all()
    actor = {row["id"]: Actor(row["id"], row["code"], row["name"], Role(row["role"]),
                              row["scope_unit_id"], row["scope_kind"]) for row in ops}
    centers = [a for a in actor.values() if a.role is Role.DISTRICT_OFFICER]
    if not centers:
        raise Refused("feed.no_center")
    center = next((a for a in centers if a.code == "demo"), centers[0])
    by_id = {row["id"]: dict(row) for row in unit_rows}
    grids: dict[int, list[int]] = {}
    for row in unit_rows:
        if row["kind"] == UnitKind.GRID and row["parent_id"] in by_id:
            grids.setdefault(row["parent_id"], []).append(row["id"])
    communities = [dict(row, grids=grids.get(row["id"], []),
                        street=by_id.get(row["street_id"], {}).get("name", ""))
                   for row in unit_rows if row["kind"] == UnitKind.COMMUNITY]
    if not communities:
        raise Refused("feed.no_district")
    leaves = [dict(row) for row in cats if row["id"] not in parents]
    return _World(center, {a.scope_unit_id: a for a in actor.values()
                           if a.scope_unit_id is not None and a.role in
                           (Role.STREET_OFFICER, Role.DEPT_LIAISON)},
                  by_id, communities, leaves,
                  [uid for uid, row in by_id.items() if row["kind"] == UnitKind.DEPARTMENT])


class _Feed:
    def __init__(self, db: Database, world: _World, rng: random.Random) -> None:
        self.db, self.world, self.rng = db, world, rng
        channels, weights = zip(*D.CHANNELS.items())
        self.channels, self.channel_weights = [Channel(c) for c in channels], weights

    async def step(self) -> Step:
        hour = clock.to_local(clock.now()).hour
        # Calls come in with the day's rhythm; the rest of the time units work cases.
        if self.rng.random() < 0.2 + 0.3 * HOUR_WEIGHTS[hour] / max(HOUR_WEIGHTS):
            return await self.receive()
        state = self.rng.choices([State.RECEIVED, State.DISPATCHED, State.IN_PROGRESS],
                                 [3, 4, 3])[0]
        async with self.db.read() as conn:
            rows = (await conn.execute(
                select(cases.c.id, cases.c.version, cases.c.holder_unit_id, cases.c.street_id,
                       cases.c.community_id, cases.c.category_id)
                .where(cases.c.state == state.value).order_by(cases.c.id.desc())
                .limit(RECENT))).mappings().all()
        if not rows:
            return await self.receive()
        return await self.move(state, dict(self.rng.choice(rows)))

    async def receive(self) -> Step:
        world, rng = self.world, self.rng
        community = rng.choice(world.communities)
        category = rng.choice(world.categories)
        channel = rng.choices(self.channels, self.channel_weights)[0]
        place = community["name"]
        template = rng.choice(TEMPLATES.get(category["code"], ["{place}" + category["name"]]))
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        phone = None if channel is Channel.GRID_APP else f"1{rng.choice('3578')}{rng.randrange(10 ** 9):09d}"
        case_id = await workflow.receive(
            self.db, world.center, channel=channel, source_ref=f"FEED-{uuid.uuid4().hex[:16]}",
            category_id=category["id"], urgency=category["default_urgency"],
            content=template.format(place=place),
            address=f"{community['street']}{place}{rng.randint(1, 30)}号楼",
            street_id=community["street_id"], community_id=community["id"],
            grid_id=rng.choice(community["grids"]) if community["grids"] else None,
            reporter_name=name, reporter_phone=phone,
            place_names=(community["street"], community["name"]))
        return Step(Action.RECEIVE, case_id, world.center.code)

    async def move(self, state: State, case: dict) -> Step:
        rng, world = self.rng, self.world
        if state is State.RECEIVED:
            action, actor = Action.DISPATCH, world.center
            target = self.recommended(case)
            params = dict(unit_id=target)
            if target is None:
                return Step(action, case["id"], actor.code, refused="no holder")
        else:
            actor = self.holder_operator(case["holder_unit_id"])
            roll = rng.random()
            if state is State.DISPATCHED:
                action = Action.SIGN if roll < 0.8 else Action.RETURN if roll < 0.9 else Action.ESCALATE
            else:
                action = Action.RESOLVE if roll < 0.85 else Action.ESCALATE
            params = {
                Action.SIGN: {},
                Action.RETURN: dict(reason="不属于本单位职责，请重新派单"),
                Action.RESOLVE: dict(result="已现场处置完毕，群众认可", closure_reason="solved"),
                Action.ESCALATE: dict(unit_id=self.above(case), note="问题复杂，吹哨请求支援"),
            }[action]
        try:
            await workflow.perform(self.db, actor, case["id"], action,
                                   version=case["version"], **params)
        except Refused as refusal:  # another terminal got there first, a window closed…
            return Step(action, case["id"], actor.code, refused=str(refusal))
        return Step(action, case["id"], actor.code)

    def recommended(self, case: dict) -> int | None:
        category = next((c for c in self.world.categories if c["id"] == case["category_id"]), None)
        if category and category["route"] == "department" and category["route_unit_id"]:
            return category["route_unit_id"]
        if category and category["route"] == "station":
            station = next((uid for uid, u in self.world.units.items()
                            if u["kind"] == UnitKind.STATION and u["street_id"] == case["street_id"]), None)
            if station:
                return station
        return case["community_id"] or case["street_id"]

    def holder_operator(self, holder: int | None) -> Actor:
        """The operator who answers for ``holder``: its own, its street's, its parent's."""
        unit = self.world.units.get(holder) or {}
        for candidate in (holder, unit.get("street_id"), unit.get("parent_id")):
            if candidate in self.world.actors:
                return self.world.actors[candidate]
        return self.world.center  # 代办: the center records it on the unit's behalf

    def above(self, case: dict) -> int:
        """Whom a holder blows the whistle to: its street, else a department."""
        holder = self.world.units.get(case["holder_unit_id"]) or {}
        if holder.get("kind") in (UnitKind.COMMUNITY, UnitKind.GRID) and holder.get("street_id"):
            return holder["street_id"]
        others = [d for d in self.world.departments if d != case["holder_unit_id"]]
        return self.rng.choice(others)


async def run_feed(db: Database, rate: float = 30, duration: float | None = None,
                   stop_event: asyncio.Event | None = None, *, seed: int | None = None,
                   on_step: Callable[[Step], None] | None = None) -> FeedStats:
    """``rate`` steps a minute for ``duration`` seconds (forever if None), or
    until ``stop_event`` is set.  Returns what was done."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    feed = _Feed(db, await _world(db), random.Random(seed))
    stats = FeedStats()
    stop_event = stop_event or asyncio.Event()
    interval = 60 / rate
    end = None if duration is None else time.monotonic() + duration
    while not stop_event.is_set():
        started = time.monotonic()
        if end is not None and started >= end:
            break
        step = await feed.step()
        if step.refused:
            stats.refused += 1
        else:
            stats.done[step.action] += 1
        if on_step:
            on_step(step)
        pause = interval - (time.monotonic() - started)
        if end is not None:
            pause = min(pause, end - time.monotonic())
        if pause > 0:
            try:
                await asyncio.wait_for(stop_event.wait(), pause)
            except asyncio.TimeoutError:
                pass
    return stats


catalog({
    "feed.no_center": ("数据库中没有区值班员账号，模拟数据流无法受理工单",
                       "No district duty officer in the database: the feed cannot receive cases"),
    "feed.no_district": ("数据库中没有社区：请先 gridconsole seed --demo",
                         "No communities in the database: run gridconsole seed --demo first"),
})
