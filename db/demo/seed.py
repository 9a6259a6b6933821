"""``gridconsole seed --demo``: a year of a Jimo-like district in minutes.

Cases are simulated in memory through ``lifecycle.step`` — the same rules the
console's workflow applies — and written in bulk, so every case's event log
replays to its state.  The same ``seed`` and ``until`` give the same data.
"""
from __future__ import annotations

import asyncio
import itertools
import math
import multiprocessing
import os
import random
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text

from .. import clock
from ..domain import Action, Channel, GridKind, PersonRole, Role, UnitKind
from ..bulk import insert_rows, sqlite_records
from ..engine import Database
from ..i18n import catalog
from ..lifecycle import Limit, Refused, limits_for, step
from ..models import Case, CaseAssist, CaseEvent, Category, Operator, Person, Unit
from ..passwords import hash_password
from ..textkey import initials
from ..workflow import new_case_row, receive_event
from . import district as D

Progress = Callable[[str, int, int], None]
CASES_PER_MONTH = 30_000
DEMO_PASSWORD = "gridconsole"


@dataclass
class World:
    """The reference data the case simulation draws from."""
    district: int = 0
    streets: list[dict] = field(default_factory=list)        # {id, name, communities:[...], station, operator}
    communities: list[dict] = field(default_factory=list)    # {id, name, street, grids:[ids], estates}
    departments: dict[str, int] = field(default_factory=dict)
    dept_operator: dict[int, int] = field(default_factory=dict)
    categories: list[dict] = field(default_factory=list)
    grid_worker: dict[int, tuple[int, str]] = field(default_factory=dict)
    district_operator: int = 0
    names: list[str] = field(default_factory=list)


async def seed_demo(db: Database, *, months: float = 12, seed: int = 1,
                    until: datetime | None = None, cases_per_month: int = CASES_PER_MONTH,
                    progress: Progress | None = None, workers: int | None = None) -> int:
    """Fill an empty gridconsole database; returns the number of cases.

    The history is cut into chunks of days, each simulated from its own
    random stream in a worker process (the machine's cores), while this
    process writes the finished chunks in order.
    """
    progress = progress or (lambda *_: None)
    async with db.read() as conn:
        if await conn.scalar(select(func.count()).select_from(Unit.__table__)):
            raise Refused("seed.not_empty")
    end = _until(until)
    start = end - timedelta(days=round(months * 365 / 12))
    world = World()
    async with db.write() as conn:
        await _build_world(conn, world, random.Random(seed), seed)
    chunks = _chunks(_plan_days(start, end, _case_count(start, end, cases_per_month)))
    total = sum(count for days in chunks for _, count in days)
    jobs = [(world, seed, index, days, base, end, db.is_sqlite)
            for index, (days, base) in enumerate(_with_bases(chunks))]
    made = 0
    progress("cases", 0, total)
    async for tables in _run_chunks(jobs, workers):
        async with db.write() as conn:
            for table, payload in tables:
                if db.is_sqlite:
                    if payload[1]:
                        await conn.exec_driver_sql(*payload)
                else:
                    await insert_rows(conn, table, payload)
        made += len(tables[0][1][1] if db.is_sqlite else tables[0][1])
        progress("cases", made, total)
    if not db.is_sqlite:
        async with db.write() as conn:
            for table in ("cases", "case_events", "units", "people", "operators", "categories"):
                await conn.execute(text(
                    "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                    "(SELECT coalesce(max(id), 1) FROM " + table + "))"), {"t": table})
    async with db.write() as conn:
        await conn.execute(text("ANALYZE"))
    return made


async def _run_chunks(jobs: list[tuple], workers: int | None):
    """The simulated chunks, in order: in worker processes, or here if ``workers=0``."""
    if workers == 0:
        for job in jobs:
            yield _simulate_chunk(*job)
        return
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = [loop.run_in_executor(pool, _simulate_chunk, *job) for job in jobs[:workers + 1]]
        queued = len(pending)
        while pending:
            tables = await pending.pop(0)
            if queued < len(jobs):  # keep the workers busy, but memory bounded
                pending.append(loop.run_in_executor(pool, _simulate_chunk, *jobs[queued]))
                queued += 1
            yield tables


def _until(until: datetime | None) -> datetime:
    """The end of the demo history: the given moment, else the current hour."""
    moment = clock.as_utc(until) if until else clock.now()
    return moment.replace(minute=0, second=0, microsecond=0)


def _simulate_chunk(world: World, seed: int, index: int, days, base: int, end: datetime,
                    sqlite: bool):
    """Worker process: one chunk of days, as rows ready to insert."""
    rng = random.Random(seed * 1_000_003 + index)
    cases_rows, event_rows, assist_rows = [], [], []
    for row, case_events, assists in _simulate(world, rng, days, base, end):
        cases_rows.append(row)
        event_rows.extend(case_events)
        assist_rows.extend(assists)
    out = [(Case.__table__, cases_rows), (CaseEvent.__table__, event_rows),
           (CaseAssist.__table__, assist_rows)]
    if sqlite:
        return [(table, sqlite_records(table, rows) if rows else ("", []))
                for table, rows in out]
    return out


# -- the district ---------------------------------------------------------------

async def _build_world(conn, world: World, rng: random.Random, seed: int) -> None:
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    world.names = list(dict.fromkeys(fake.name() for _ in range(6000)))
    units: list[dict] = []
    people: list[dict] = []

    def unit(kind, name, parent=None, grid_kind=None, street=None, community=None, code=None):
        uid = len(units) + 1
        units.append(dict(id=uid, parent_id=parent, kind=kind, grid_kind=grid_kind,
                          code=code or f"{kind[0].upper()}{uid:05d}", name=name,
                          initials=initials(name), street_id=street, community_id=community,
                          active=True))
        return uid

    def person(unit_id, role, full_time=False, on_duty=True):
        name = rng.choice(world.names)
        people.append(dict(id=len(people) + 1, unit_id=unit_id, name=name,
                           initials=initials(name), role=role, full_time=full_time,
                           phone=_phone(rng), on_duty=on_duty))
        return len(people), name

    world.district = unit(UnitKind.DISTRICT, D.DISTRICT, code="JM")
    urban = [s for s, is_urban in D.STREETS if is_urban]
    urban_per_street = _spread(D.URBAN_COMMUNITIES, len(urban), rng)
    rural_total = 560
    rural = [s for s, is_urban in D.STREETS if not is_urban]
    rural_per_street = _spread(rural_total, len(rural), rng)
    used_names: set[str] = set()
    for index, (street_name, is_urban) in enumerate(D.STREETS):
        sid = unit(UnitKind.STREET, street_name, world.district,
                   code=f"S{index + 1:02d}")
        units[-1]["street_id"] = sid
        street = dict(id=sid, name=street_name, communities=[], urban=is_urban)
        count = urban_per_street[urban.index(street_name)] if is_urban \
            else rural_per_street[rural.index(street_name)]
        names = list(D.NAMED_COMMUNITIES.get(street_name, []))
        while len(names) < count:
            name = _community_name(rng, is_urban)
            if name not in used_names:
                used_names.add(name)
                names.append(name)
        for name in names:
            cid = unit(UnitKind.COMMUNITY, name, sid, street=sid)
            units[-1]["community_id"] = cid
            estates = rng.sample(D.ESTATES, 3) if is_urban else [name]
            community = dict(id=cid, name=name, street=street, grids=[], estates=estates,
                             urban=is_urban)
            street["communities"].append(community)
            world.communities.append(community)
            person(cid, PersonRole.GRID_LEADER)
            person(cid, PersonRole.INSTRUCTOR)
        world.streets.append(street)
    # 2,287 basic grids: at least one per community, the rest by weight.
    # Urban communities are large (古城社区: 21,000 residents): many grids each.
    weights = [rng.uniform(6, 10) if c["urban"] else rng.uniform(0.6, 1.4) for c in world.communities]
    grids_per = _spread(D.BASIC_GRIDS - len(world.communities), len(world.communities), rng, weights)
    full_time_left = D.FULL_TIME_WORKERS
    for community, extra in zip(world.communities, grids_per):
        for n in range(1 + extra):
            street = community["street"]
            gid = unit(UnitKind.GRID, f"{community['name']}第{n + 1}网格", community["id"],
                       GridKind.BASIC, street["id"], community["id"])
            community["grids"].append(gid)
            full_time = community["urban"] and full_time_left > 0
            full_time_left -= full_time
            on_duty = rng.random() > 0.04
            world.grid_worker[gid] = person(gid, PersonRole.GRID_WORKER, full_time, on_duty)
            person(gid, PersonRole.BUILDING_LEADER)
            person(gid, PersonRole.UNIT_LEADER)
    per_zone = _spread(D.FUNCTIONAL_GRIDS, len(D.ZONES), rng)
    for index, (zone_name, grids) in enumerate(zip(D.ZONES, per_zone)):
        zid = unit(UnitKind.ZONE, zone_name, world.district, code=f"Z{index + 1:02d}")
        for n in range(grids):
            gid = unit(UnitKind.GRID, f"{zone_name}专属网格{n + 1}", zid, GridKind.FUNCTIONAL)
            world.grid_worker[gid] = person(gid, PersonRole.GRID_WORKER, True)
    weights = [w for _, _, w in D.DEPARTMENTS]
    per_dept = _spread(D.PROFESSIONAL_GRIDS, len(D.DEPARTMENTS), rng, weights)
    for (code, name, _), grids in zip(D.DEPARTMENTS, per_dept):
        did = unit(UnitKind.DEPARTMENT, name, world.district, code=f"D-{code}")
        world.departments[code] = did
        person(did, PersonRole.LIAISON, True)
        for n in range(grids):
            gid = unit(UnitKind.GRID, f"{name.removeprefix('区')}专业网格{n + 1}", did,
                       GridKind.PROFESSIONAL)
            world.grid_worker[gid] = person(gid, PersonRole.GRID_WORKER, True)
    police = world.departments["gaj"]
    for street in world.streets:
        short = street["name"].removesuffix("街道").removesuffix("镇")
        street["station"] = unit(UnitKind.STATION, f"{short}派出所", police,
                                 street=street["id"], code=f"P{street['id']:05d}")
    await conn.execute(insert(Unit.__table__), units)
    await conn.execute(insert(Person.__table__), people)
    await _categories(conn, world)
    await _operators(conn, world)


async def _categories(conn, world: World) -> None:
    rows = []
    for top, leaves in D.CATEGORIES:
        top_id = len(rows) + 1
        rows.append(dict(id=top_id, parent_id=None, code=f"top{top_id}", name=top,
                         initials=initials(top), default_urgency="normal", route="area",
                         route_unit_id=None, sign_limit=None, resolve_limit=None))
        for code, name, weight, urgency, route, dept, templates in leaves:
            cid = len(rows) + 1
            rows.append(dict(id=cid, parent_id=top_id, code=code, name=name,
                             initials=initials(name), default_urgency=urgency, route=route,
                             route_unit_id=world.departments.get(dept), sign_limit=None,
                             resolve_limit=None))
            world.categories.append(dict(
                id=cid, code=code, name=name, weight=weight, urgency=urgency, route=route,
                dept=world.departments.get(dept), templates=templates,
                limits=limits_for(urgency)))
    await conn.execute(insert(Category.__table__), rows)


async def _operators(conn, world: World) -> None:
    now = clock.now()
    password = hash_password(DEMO_PASSWORD, cost=2 ** 12)  # one hash shared: seeding stays fast
    rows = [dict(code="demo", name="区值班员（演示）", role=Role.DISTRICT_OFFICER, scope_unit_id=None),
            dict(code="duban", name="区督查员（演示）", role=Role.SUPERVISOR, scope_unit_id=None),
            dict(code="wall", name="指挥大屏", role=Role.VIEWER, scope_unit_id=None)]
    for index, street in enumerate(world.streets):
        rows.append(dict(code=f"street{index + 1:02d}", name=f"{street['name']}值班员",
                         role=Role.STREET_OFFICER, scope_unit_id=street["id"]))
    for code, name, _ in D.DEPARTMENTS:
        rows.append(dict(code=f"dept-{code}", name=f"{name}联络员", role=Role.DEPT_LIAISON,
                         scope_unit_id=world.departments[code]))
    for index, row in enumerate(rows):
        row.update(id=index + 1, password_hash=password, disabled=False, failed_logins=0,
                   locked_until=None, created_at=now)
    await conn.execute(insert(Operator.__table__), rows)
    world.district_operator = 1
    for index, street in enumerate(world.streets):
        street["operator"] = 4 + index
    base = 4 + len(world.streets)
    for index, (code, _, _) in enumerate(D.DEPARTMENTS):
        world.dept_operator[world.departments[code]] = base + index


def _spread(total: int, parts: int, rng: random.Random, weights=None) -> list[int]:
    """Split ``total`` into ``parts`` whole numbers, roughly by weight."""
    weights = weights or [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = total / sum(weights)
    out = [int(w * scale) for w in weights]
    for i in range(total - sum(out)):
        out[i % parts] += 1
    return out


def _community_name(rng: random.Random, urban: bool) -> str:
    if urban:
        return rng.choice(D.URBAN_PREFIXES) + rng.choice(D.URBAN_PREFIXES) + "社区"
    return rng.choice(D.VILLAGE_SYLLABLES) + rng.choice(D.VILLAGE_SYLLABLES) + "村"


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10 ** 9):09d}"


# -- the cases ------------------------------------------------------------------

HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 10, 7, 8, 11, 11, 10, 8, 6, 5, 4, 3, 2, 1]
WEEKDAY_WEIGHTS = [1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.7]
CALLBACK_CHANNELS = {"hotline", "help", "petition", "opinion", "town_call"}


def _month_factor(moment: datetime) -> float:
    return {7: 1.35, 8: 1.15, 6: 1.05, 1: 0.9, 2: 0.85}.get(clock.to_local(moment).month, 1.0)


def _case_count(start: datetime, end: datetime, per_month: int) -> int:
    days = (end - start).total_seconds() / 86400
    return int(per_month * 12 / 365 * days)


def _plan_days(start: datetime, end: datetime, total: int) -> list[tuple[datetime, int]]:
    """How many cases arrive on each day: weekly rhythm and seasons, no chance."""
    days = []
    day = start
    while day < end:
        days.append((day, WEEKDAY_WEIGHTS[clock.to_local(day).weekday()] * _month_factor(day)))
        day += timedelta(days=1)
    weight_sum = sum(w for _, w in days)
    plan = [(day, round(total * weight / weight_sum)) for day, weight in days]
    if plan:  # the last day is cut at the end time, in proportion
        last_day, count = plan[-1]
        plan[-1] = (last_day, int(count * min(1, (end - last_day) / timedelta(days=1))))
    return plan


def _chunks(plan: list[tuple[datetime, int]], size: int = 15) -> list[list[tuple[datetime, int]]]:
    return [plan[i:i + size] for i in range(0, len(plan), size)]


def _with_bases(chunks):
    base = 0
    for days in chunks:
        yield days, base
        base += sum(count for _, count in days)


def _arrivals(rng: random.Random, days, end: datetime):
    """Creation times within each day, with the daily rhythm."""
    hours = list(range(24))
    cumulative = list(itertools.accumulate(HOUR_WEIGHTS))
    for day, count in days:
        # The cut last day only draws hours before the end.
        limit = min(24, math.ceil((end - day).total_seconds() / 3600))
        stamps = sorted(
            day + timedelta(seconds=hour * 3600 + rng.randrange(3600))
            for hour in rng.choices(hours[:limit], cum_weights=cumulative[:limit], k=count))
        yield from (min(s, end - timedelta(seconds=1)) for s in stamps)


def _simulate(world: World, rng: random.Random, days, base: int, end: datetime):
    channels, channel_weights = zip(*D.CHANNELS.items())
    channel_weights = list(itertools.accumulate(channel_weights))
    category_weights = {flood: _category_weights(world.categories, flood) for flood in (False, True)}
    frequent_callers = [_phone(rng) for _ in range(400)]
    recent: dict[tuple[int, int], tuple[int, datetime]] = {}
    case_id = base
    for created in _arrivals(rng, days, end):
        case_id += 1
        flood = clock.to_local(created).month in (6, 7, 8)
        cat = rng.choices(world.categories, cum_weights=category_weights[flood])[0]
        community = rng.choice(world.communities)
        street = community["street"]
        grid = rng.choice(community["grids"])
        channel = rng.choices(channels, cum_weights=channel_weights)[0]
        estate = rng.choice(community["estates"])
        place = f"{community['name']}{estate}" if community["urban"] else community["name"]
        if channel == "grid_app":
            worker = world.grid_worker[grid]
            reporter, phone = worker[1], None
        else:
            reporter = rng.choice(world.names)
            phone = rng.choice(frequent_callers) if rng.random() < 0.05 else _phone(rng)
        urgency = cat["urgency"] if rng.random() < 0.85 else "normal"
        row = new_case_row(
            channel=Channel(channel), source_ref=f"{channel[:2].upper()}{case_id:08d}",
            category_id=cat["id"], urgency=urgency,
            content=rng.choice(cat["templates"]).format(place=place),
            address=f"{street['name']}{place}{rng.randint(1, 30)}号楼",
            street_id=street["id"], community_id=community["id"], grid_id=grid,
            reporter_name=reporter, reporter_phone=phone, reported_at=created,
            created_at=created, place_names=(street["name"], community["name"], estate))
        row["id"] = case_id
        case_events = [receive_event(case_id, row, None)]
        assists: list[dict] = []
        sim = _Sim(world, rng, row, case_events, assists, end, cat, street)
        key = (street["id"], cat["id"])  # callers about the same matter, same day
        parent = recent.get(key)
        sim.run(parent if parent and (created - parent[1]).days < 1 else None)
        if row["first_dispatched_at"] is not None and row["state"] != "merged":
            recent[key] = (case_id, created)
        yield row, case_events, assists


def _category_weights(categories, flood: bool) -> list[float]:
    weights = [c["weight"] * (8 if flood and c["code"] in D.FLOOD_CODES else 1) for c in categories]
    return list(itertools.accumulate(weights))


class _Sim:
    """Walks one case through its life until the demo's end time."""

    def __init__(self, world, rng, case, events, assists, end, cat, street):
        self.world, self.rng, self.case, self.events = world, rng, case, events
        self.assists, self.end, self.cat, self.street = assists, end, cat, street
        self.limits: tuple[Limit, Limit] = limits_for(case["urgency"])
        self.at = case["created_at"]

    def act(self, action: Action, delay_h: float, operator: int | None = None, **params) -> bool:
        at = self.at + timedelta(hours=max(delay_h, 1 / 60))
        if at >= self.end:
            return False
        up, event = step(self.case, action, at, params, self.limits)
        self.case.update(up)
        self.case["version"] += 1
        self.case["updated_at"] = at
        event.update(case_id=self.case["id"], seq=self.case["version"],
                     operator_id=operator or self.world.district_operator)
        self.events.append(event)
        self.at = at
        return True

    def holder_operator(self) -> int:
        holder = self.case["holder_unit_id"]
        if holder in self.world.dept_operator:
            return self.world.dept_operator[holder]
        if holder == self.street["station"]:
            return self.world.dept_operator[self.world.departments["gaj"]]
        return self.street["operator"]

    def recommended(self) -> int:
        route = self.cat["route"]
        if route == "department":
            return self.cat["dept"]
        if route == "station":
            return self.street["station"]
        return self.case["community_id"]

    def hours(self, median: float, spread: float = 0.8) -> float:
        return self.rng.lognormvariate(math.log(median), spread)

    def run(self, parent: tuple[int, datetime] | None) -> None:
        rng, urgency = self.rng, self.case["urgency"]
        triage = {"critical": 0.1, "urgent": 0.4, "normal": 1.5}[urgency]
        roll = rng.random()
        if roll < 0.025:
            self.act(Action.INVALIDATE, self.hours(triage), reason="重复来电或诉求不属于受理范围")
            return
        if parent and roll < 0.045:
            self.act(Action.MERGE, self.hours(triage), parent_id=parent[0],
                     note="同一地点同类诉求，合并办理")
            return
        if self.case["channel"] in ("hotline", "help") and roll < 0.14:
            if self.act(Action.DIRECT, self.hours(0.3), result="已电话答复市民，政策解释清楚",
                        closure_reason="solved"):
                self.callback()
            return
        if not self.act(Action.DISPATCH, self.hours(triage), unit_id=self.recommended()):
            return
        if rng.random() < 0.04:
            # Within a day: always inside the two-working-day return window.
            if not self.act(Action.RETURN, min(self.hours(3), 23), self.holder_operator(),
                            reason="不属于本单位职责，请重新派单"):
                return
            other = self.street["id"] if self.cat["route"] != "area" else self.world.departments["zhzf"]
            if not self.act(Action.DISPATCH, self.hours(0.5), unit_id=other):
                return
        if not self.sign():
            return
        holder = self.case["holder_unit_id"]
        community = next((c for c in self.street["communities"] if c["id"] == holder), None)
        if community and rng.random() < 0.2:
            if not self.act(Action.SUBDISPATCH, self.hours(1), self.holder_operator(),
                            unit_id=self.case["grid_id"], note="下派网格员现场处置") \
                    or not self.sign():
                return
        area_holder = self.case["holder_unit_id"] in (self.case["community_id"], self.case["grid_id"])
        if rng.random() < 0.03 and area_holder:  # 网格吹哨: to the street, or to a department
            lead = self.street["id"] if rng.random() < 0.5 else self.world.departments["zhzf"]
            assist = [self.world.departments["scj"]] if lead != self.street["id"] else []
            if not self.act(Action.ESCALATE, self.hours(4), self.holder_operator(),
                            unit_id=lead, assist_ids=assist, note="问题复杂，吹哨请求支援"):
                return
            self.assists.extend(dict(case_id=self.case["id"], unit_id=a) for a in assist)
            if not self.sign():
                return
        if rng.random() < 0.04 and not self.act(Action.SUPERVISE, self.hours(8),
                                                 note="群众反映强烈，请加快办理"):
            return
        if rng.random() < 0.03 and self.case["urgency"] == "normal":
            if not self.act(Action.EXTEND, self.hours(24), days=rng.randint(2, 5),
                            note="需协调多部门，申请延期"):
                return
        if not self.resolve():
            return
        if self.callback() == "unsatisfied" and rng.random() < 0.4:
            if self.act(Action.REDO, self.hours(6), reason="群众不满意，重新办理") and self.resolve():
                self.callback()

    def sign(self) -> bool:
        median = {"critical": 0.2, "urgent": 0.8, "normal": 5}[self.case["urgency"]]
        return self.act(Action.SIGN, self.hours(median, 0.9), self.holder_operator())

    def resolve(self) -> bool:
        urgency = self.case["urgency"]
        median = {"critical": 1.0, "urgent": 10, "normal": 40}[urgency]
        due = self.case["resolve_due"]
        delay = self.hours(median, 0.7)
        roll = self.rng.random()
        if roll < 0.015:  # a stuck case: long overdue, and at the end often still open
            delay *= 15
        elif roll < 0.92:  # most units finish in time
            delay = min(delay, max((due - self.at).total_seconds() / 3600 * 0.95, 0.05))
        reason = self.rng.choices(["solved", "answered", "untrue", "not_ours"], [85, 9, 4, 2])[0]
        return self.act(Action.RESOLVE, delay, self.holder_operator(),
                        result="已现场处置完毕，群众认可", closure_reason=reason)

    def callback(self) -> str | None:
        if self.case["channel"] not in CALLBACK_CHANNELS and self.rng.random() < 0.5:
            # Not every grid-app case needs a callback: the center closes it.
            return "closed" if self.act(Action.CALLBACK, self.hours(20), satisfaction="satisfied") else None
        choice = self.rng.choices(["satisfied", "basically", "unsatisfied", "unreachable"],
                                  [80, 11, 5, 4])[0]
        return choice if self.act(Action.CALLBACK, self.hours(24), satisfaction=choice) else None


catalog({
    "seed.not_empty": ("数据库中已有数据，演示数据只能写入空库",
                       "The database already holds data; the demo can only seed an empty one"),
})
