"""The queue's queries: pages of cases, view counts, one case in full, and the
holders to suggest for it.

Every query applies ``case_scope``; lists are keyset pages of Core rows (never
the whole table, never ORM objects), so they stay fast on a million cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement, and_, case, false, func, literal, or_, select, tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from . import clock
from .casefilter import CaseFilter
from .domain import ESCALATION_KINDS, HELD_STATES, OPEN_STATES, URGENCY_RANK, Action, State, UnitKind
from .engine import Database
from .i18n import catalog, t
from .models import (
    Case, CaseAssist, CaseEvent, Category, Operator, Person, Unit, UTCDateTime,
)
from .scope import Actor, case_scope, unit_scope
from .text import strip_controls
from .workflow import ancestors

cases, events, units = Case.__table__, CaseEvent.__table__, Unit.__table__
categories, people, operators = Category.__table__, Person.__table__, Operator.__table__
assists = CaseAssist.__table__

PAGE = 100
TEXT_CHARS = 120           # the table shows a short text: never fetch 10,000 characters
REPEAT_DAYS = 30
REPEAT_MIN = 3             # same community + category this often in 30 days: a hotspot
_FAR = datetime(9999, 1, 1)

street_u, community_u, grid_u, holder_u = (units.alias(n) for n in ("st", "co", "gr", "ho"))
_held = cases.c.state.in_([s.value for s in HELD_STATES])


def _due_key() -> ColumnElement:
    """Deadline of a held case; other cases (no clock running) sort after them."""
    return func.coalesce(case((_held, cases.c.resolve_due)), literal(_FAR, UTCDateTime))


#: sort name -> key expressions (never NULL, so the keyset compares cleanly)
SORTS: dict[str, Any] = {
    "due": lambda: [_due_key()],
    "id": lambda: [],
    "age": lambda: [cases.c.created_at],
    "urgency": lambda: [case({u.value: r for u, r in URGENCY_RANK.items()},
                             value=cases.c.urgency, else_=9)],
    "channel": lambda: [cases.c.channel],
    "category": lambda: [categories.c.name],
    "text": lambda: [func.substr(cases.c.content, 1, 40)],
    "place": lambda: [func.coalesce(street_u.c.name, ""), func.coalesce(community_u.c.name, "")],
    "holder": lambda: [func.coalesce(holder_u.c.name, "")],
    "state": lambda: [cases.c.state],
}


@dataclass(frozen=True)
class Sort:
    column: str = "due"
    descending: bool = False


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


#: Longer searches look for their first this many characters: SQLite refuses a
#: LIKE pattern over 50,000 bytes, and no stored field is that long anyway.
SEARCH_MAX = 10_000


def search_clause(text: str) -> ColumnElement[bool]:
    """Case id, content, address, reporter, and the pinyin / initials key.
    Matched as stored: without control characters (db/text.py)."""
    q = strip_controls(text).strip()[:SEARCH_MAX]
    pattern = _like(q)
    clauses = [cases.c.content.like(pattern, escape="\\"),
               cases.c.address.like(pattern, escape="\\"),
               cases.c.reporter_name.like(pattern, escape="\\")]
    if q.isascii():
        clauses.append(cases.c.search_key.like(_like(q.lower().replace(" ", "")), escape="\\"))
    if q.isdecimal() and len(q) < 18:  # not isdigit(): '²' is a digit but no number
        clauses.append(cases.c.id == int(q))
    return or_(*clauses)


def filter_clause(actor: Actor, f: CaseFilter, now: datetime | None = None) -> ColumnElement[bool]:
    now = now or clock.now()
    where: list[ColumnElement[bool]] = [case_scope(actor)]
    if f.states:
        where.append(cases.c.state.in_(f.states))
    elif not f.include_closed:
        where.append(cases.c.state.in_([s.value for s in OPEN_STATES]))
    if f.channels:
        where.append(cases.c.channel.in_(f.channels))
    if f.urgencies:
        where.append(cases.c.urgency.in_(f.urgencies))
    if f.category_ids:
        ids = list(f.category_ids)
        where.append(cases.c.category_id.in_(select(categories.c.id).where(
            or_(categories.c.id.in_(ids), categories.c.parent_id.in_(ids)))))
    if f.area_id is not None:
        a = f.area_id
        below = select(units.c.id).where(or_(units.c.id == a, units.c.parent_id == a))
        where.append(or_(cases.c.street_id == a, cases.c.community_id == a,
                         cases.c.grid_id == a, cases.c.holder_unit_id.in_(below)))
    if f.holder_unit_id is not None:
        where.append(cases.c.holder_unit_id == f.holder_unit_id)
    if f.overdue_only:
        where.append(and_(_held, cases.c.resolve_due < now))
    if f.unassigned_only:
        where.append(cases.c.holder_unit_id.is_(None))
    if f.supervised_only:
        where.append(cases.c.supervise_count > 0)
    if f.created_from is not None:
        where.append(cases.c.created_at >= f.created_from)
    if f.created_to is not None:
        where.append(cases.c.created_at < f.created_to)
    if f.phone:
        where.append(cases.c.reporter_phone == f.phone)
    if f.case_ids:
        where.append(cases.c.id.in_(list(f.case_ids)))
    if f.text.strip():
        where.append(search_clause(f.text))
    return and_(*where)


def _list_columns() -> list:
    return [cases.c.id, cases.c.version, cases.c.created_at, cases.c.urgency, cases.c.channel,
            cases.c.state, cases.c.category_id, categories.c.name.label("category"),
            func.substr(cases.c.content, 1, TEXT_CHARS).label("content"),
            street_u.c.name.label("street"), community_u.c.name.label("community"),
            cases.c.holder_unit_id, holder_u.c.name.label("holder"),
            cases.c.first_dispatched_at, cases.c.dispatched_at, cases.c.sign_due,
            cases.c.resolve_due, cases.c.supervise_count, cases.c.street_id,
            cases.c.community_id, cases.c.grid_id]


def _joined(query):
    # Outer joins only (every case has a category): SQLite then always drives
    # from cases and their state index, never from a small lookup table.
    return (query.select_from(cases)
            .outerjoin(categories, categories.c.id == cases.c.category_id)
            .outerjoin(street_u, street_u.c.id == cases.c.street_id)
            .outerjoin(community_u, community_u.c.id == cases.c.community_id)
            .outerjoin(holder_u, holder_u.c.id == cases.c.holder_unit_id))


async def page(db: Database, actor: Actor, f: CaseFilter, sort: Sort = Sort(), *,
               after: tuple | None = None, before: tuple | None = None,
               start: tuple | None = None, last: bool = False, limit: int = PAGE) -> list[dict]:
    """One keyset page in display order.  ``after``/``before`` are the ``key``
    of a row (exclusive); ``start`` is inclusive (a refresh of what is shown);
    ``last``: the last ``limit`` rows of the view (the keyset read from the
    other end).  Each row carries its ``key``."""
    async with db.read() as conn:
        return await page_on(conn, actor, f, sort, after=after, before=before,
                             start=start, last=last, limit=limit)


async def page_on(conn: AsyncConnection, actor: Actor, f: CaseFilter, sort: Sort = Sort(), *,
                  after: tuple | None = None, before: tuple | None = None,
                  start: tuple | None = None, last: bool = False,
                  limit: int = PAGE) -> list[dict]:
    keys = [*SORTS[sort.column](), cases.c.id]
    if conn.dialect.name == "sqlite" and not f.include_closed:
        # The open states are a few percent of the table: SQLite would otherwise
        # walk an index in sort order over every closed case to fill a page.
        # A unary + keeps the value but hides the index from ORDER BY.
        keys = [UnaryExpression(k, operator=custom_op("+"), type_=k.type) for k in keys]
    labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
    query = _joined(select(*_list_columns(), *labelled)).where(filter_clause(actor, f))
    backwards = before is not None or last
    forward = sort.descending == backwards  # compare upward in key space?
    bound = before if before is not None else (None if last else
                                               (after if after is not None else start))
    if bound is not None:
        mine = tuple_(*keys)
        theirs = tuple_(*[literal(v, k.type) for k, v in zip(keys, bound)])
        inclusive = start is not None and after is None and not backwards
        if forward:
            query = query.where(mine >= theirs if inclusive else mine > theirs)
        else:
            query = query.where(mine <= theirs if inclusive else mine < theirs)
    order = [k.asc() if forward else k.desc() for k in keys]
    rows = (await conn.execute(query.order_by(*order).limit(limit))).mappings().all()
    out = []
    for row in rows:
        item = {k: v for k, v in row.items() if not (k[0] == "k" and k[1:].isdigit())}
        item["key"] = tuple(row[f"k{i}"] for i in range(len(keys)))
        out.append(item)
    return out[::-1] if backwards else out


async def rows_by_id(db: Database, actor: Actor, f: CaseFilter, sort: Sort,
                     ids: list[int] | tuple[int, ...]) -> dict[int, tuple[dict, bool]]:
    """These cases as ``page`` gives them (with their ``key``), read by primary
    key in one query, each with whether it still matches the filter.
    Cases out of scope (or gone) are left out.  The queue refreshes the rows
    it acted on with this, at once, before it re-reads the page."""
    if not ids:
        return {}
    keys = [*SORTS[sort.column](), cases.c.id]
    labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
    matches = case((filter_clause(actor, f), True), else_=False).label("matches")
    query = _joined(select(*_list_columns(), *labelled, matches)).where(
        cases.c.id.in_(list(ids)), case_scope(actor))
    async with db.read() as conn:
        rows = (await conn.execute(query)).mappings().all()
    out = {}
    for row in rows:
        item = {k: v for k, v in row.items()
                if k != "matches" and not (k[0] == "k" and k[1:].isdigit())}
        item["key"] = tuple(row[f"k{i}"] for i in range(len(keys)))
        out[item["id"]] = (item, bool(row["matches"]))
    return out


# -- saved views ----------------------------------------------------------------

#: view name -> the filter it applies (titles are translated at display time)
VIEWS: dict[str, CaseFilter] = {
    "received": CaseFilter(states=(State.RECEIVED.value,)),
    "dispatched": CaseFilter(states=(State.DISPATCHED.value,)),
    "in_progress": CaseFilter(states=(State.IN_PROGRESS.value,)),
    "overdue": CaseFilter(overdue_only=True),
    "supervised": CaseFilter(supervised_only=True),
    "open": CaseFilter(),
}


async def view_counts(db: Database, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    state = cases.c.state
    query = select(
        func.count().filter(state == State.RECEIVED.value),
        func.count().filter(state == State.DISPATCHED.value),
        func.count().filter(state == State.IN_PROGRESS.value),
        func.count().filter(and_(_held, cases.c.resolve_due < now)),
        func.count().filter(cases.c.supervise_count > 0),
        func.count(),
    ).where(state.in_([s.value for s in OPEN_STATES]), case_scope(actor))
    async with db.read() as conn:
        values = (await conn.execute(query)).one()
    return dict(zip(VIEWS, values))


async def arrivals(db: Database, actor: Actor, above_id: int | None) -> tuple[int, list[int]]:
    """The newest case id in scope, and the critical cases received above
    ``above_id`` (those ring the bell once)."""
    async with db.read() as conn:
        newest = await conn.scalar(select(func.max(cases.c.id)).where(case_scope(actor))) or 0
        if above_id is None:
            return newest, []
        critical = (await conn.scalars(select(cases.c.id).where(
            cases.c.id > above_id, cases.c.urgency == "critical",
            cases.c.state == State.RECEIVED.value, case_scope(actor))
            .order_by(cases.c.id))).all()
    return newest, list(critical)


async def filter_choices(db: Database, actor: Actor) -> dict[str, list[tuple[str, int]]]:
    """The categories and streets the filter form offers."""
    async with db.read() as conn:
        cats = (await conn.execute(select(categories.c.name, categories.c.id,
                                          categories.c.parent_id)
                                   .order_by(categories.c.id))).all()
        streets = (await conn.execute(select(units.c.name, units.c.id).where(
            units.c.kind == UnitKind.STREET.value, unit_scope(actor)).order_by(units.c.id))).all()
    return {"category": [(("  " if r.parent_id else "") + r.name, r.id) for r in cats],
            "street": [tuple(r) for r in streets]}


# -- one case ---------------------------------------------------------------------

@dataclass
class Detail:
    case: dict
    events: list[dict]
    assists: list[str]
    parent: dict | None
    merged: list[dict]
    same_phone: list[dict]
    same_place: list[dict]


async def detail(db: Database, actor: Actor, case_id: int) -> Detail | None:
    """Every field of a case, its timeline and the cases related to it."""
    grid_person = people.alias("hp")
    query = (select(cases, categories.c.name.label("category"),
                    street_u.c.name.label("street"), community_u.c.name.label("community"),
                    grid_u.c.name.label("grid"), holder_u.c.name.label("holder"),
                    grid_person.c.name.label("holder_person"))
             .select_from(cases)
             .join(categories, categories.c.id == cases.c.category_id)
             .outerjoin(street_u, street_u.c.id == cases.c.street_id)
             .outerjoin(community_u, community_u.c.id == cases.c.community_id)
             .outerjoin(grid_u, grid_u.c.id == cases.c.grid_id)
             .outerjoin(holder_u, holder_u.c.id == cases.c.holder_unit_id)
             .outerjoin(grid_person, grid_person.c.id == cases.c.holder_person_id)
             .where(cases.c.id == case_id, case_scope(actor)))
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        timeline = (await conn.execute(
            select(events.c.seq, events.c.action, events.c.at, events.c.from_state,
                   events.c.to_state, events.c.note, events.c.due_at,
                   operators.c.name.label("who"), operators.c.code.label("who_code"),
                   units.c.name.label("holder"))
            .outerjoin(operators, operators.c.id == events.c.operator_id)
            .outerjoin(units, units.c.id == events.c.holder_unit_id)
            .where(events.c.case_id == case_id).order_by(events.c.seq))).mappings().all()
        helpers = (await conn.scalars(
            select(units.c.name).join(assists, assists.c.unit_id == units.c.id)
            .where(assists.c.case_id == case_id).order_by(units.c.id))).all()
        brief = [cases.c.id, cases.c.state, cases.c.created_at,
                 func.substr(cases.c.content, 1, TEXT_CHARS).label("content")]
        scope = case_scope(actor)
        parent = None
        if row["merged_into_id"] is not None:
            parent = (await conn.execute(select(*brief).where(
                cases.c.id == row["merged_into_id"], scope))).mappings().first()
        merged = (await conn.execute(select(*brief).where(
            cases.c.merged_into_id == case_id, scope).order_by(cases.c.id).limit(20))
        ).mappings().all()
        window = and_(cases.c.created_at >= row["created_at"] - timedelta(days=REPEAT_DAYS),
                      cases.c.created_at <= row["created_at"] + timedelta(days=REPEAT_DAYS),
                      cases.c.id != case_id, scope)
        same_phone = []
        if row["reporter_phone"]:
            same_phone = (await conn.execute(select(*brief).where(
                cases.c.reporter_phone == row["reporter_phone"], window)
                .order_by(cases.c.created_at.desc()).limit(10))).mappings().all()
        same_place = []
        if row["community_id"] is not None:
            same_place = (await conn.execute(select(*brief).where(
                cases.c.category_id == row["category_id"],
                cases.c.community_id == row["community_id"], window)
                .order_by(cases.c.created_at.desc()).limit(10))).mappings().all()
            if len(same_place) + 1 < REPEAT_MIN:
                same_place = []
    return Detail(dict(row), [dict(e) for e in timeline], list(helpers),
                  dict(parent) if parent else None, [dict(m) for m in merged],
                  [dict(c) for c in same_phone], [dict(c) for c in same_place])


async def unit_by_ref(db: Database, ref: str) -> int | None:
    """A unit given by its id or its code (the CLI's ``--unit``)."""
    ref = ref.strip()
    clause = units.c.code == ref
    if ref.isdigit():
        clause = or_(clause, units.c.id == int(ref))
    async with db.read() as conn:
        return await conn.scalar(select(units.c.id).where(clause).order_by(units.c.id).limit(1))


# -- holder recommendation ----------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    unit_id: int
    name: str
    kind: str
    tier: int           # 0 responsible, 1 the area around it, 2 departments, 3 the rest
    open_load: int
    on_duty: bool
    reason: str


_TIER_KEYS = {0: "queue.tier.responsible", 1: "queue.tier.area", 2: "queue.tier.department",
              3: "queue.tier.other"}
_HOLDER_KINDS = [k.value for k in UnitKind if k is not UnitKind.DISTRICT]


async def holder_choices(db: Database, actor: Actor, case_id: int, action: Action = Action.DISPATCH,
                         text: str = "", limit: int = 60) -> list[Candidate]:
    """The units that may take the case, best first: responsibility (属地 or the
    routed department), then fewest open cases, then someone on duty."""
    async with db.read() as conn:
        row = (await conn.execute(
            select(cases.c.street_id, cases.c.community_id, cases.c.grid_id,
                   cases.c.holder_unit_id, categories.c.route, categories.c.route_unit_id)
            .join(categories, categories.c.id == cases.c.category_id)
            .where(cases.c.id == case_id, case_scope(actor)))).mappings().first()
        if row is None:
            return []
        tiers = await _tiers(conn, row, action)
        pool = select(units.c.id, units.c.name, units.c.kind).where(
            units.c.active.is_(True), units.c.kind.in_(_HOLDER_KINDS),
            units.c.id != func.coalesce(row["holder_unit_id"], -1))
        if action is Action.SUBDISPATCH:
            pool = pool.where(_below(row["holder_unit_id"]))
        elif action is Action.ESCALATE:  # the workflow's rule: upward, or to a department
            pool = pool.where(or_(units.c.kind.in_(ESCALATION_KINDS),
                                  units.c.id.in_(await ancestors(conn, row["holder_unit_id"]))))
        q = text.strip()
        if q:
            pool = pool.where(or_(units.c.name.like(_like(q), escape="\\"),
                                  units.c.initials.like(_like(q.lower()), escape="\\")))
        elif action is not Action.SUBDISPATCH:
            pool = pool.where(units.c.id.in_(list(tiers) or [-1]))
        found = (await conn.execute(pool.order_by(units.c.id).limit(2000))).all()
        ids = [r.id for r in found]
        load = dict((await conn.execute(
            select(cases.c.holder_unit_id, func.count())
            .where(cases.c.holder_unit_id.in_(ids), _held)
            .group_by(cases.c.holder_unit_id))).all()) if ids else {}
        duty = set((await conn.scalars(
            select(people.c.unit_id).where(people.c.unit_id.in_(ids), people.c.on_duty.is_(True))
            .distinct())).all()) if ids else set()
    out = []
    for r in found:
        tier = tiers.get(r.id, 1 if action is Action.SUBDISPATCH else 3)
        n, here = load.get(r.id, 0), r.id in duty
        reason = " · ".join([t(_TIER_KEYS[tier]), t("queue.reason.load", n=n),
                             t("queue.reason.duty" if here else "queue.reason.off")])
        out.append(Candidate(r.id, r.name, r.kind, tier, n, here, reason))
    out.sort(key=lambda c: (c.tier, c.open_load, not c.on_duty, c.unit_id))
    return out[:limit]


def _below(holder: int | None) -> ColumnElement[bool]:
    if holder is None:
        return false()
    return or_(units.c.parent_id == holder, units.c.street_id == holder,
               units.c.community_id == holder)


async def _tiers(conn: AsyncConnection, row, action: Action) -> dict[int, int]:
    """unit id -> responsibility tier for this case and action."""
    tiers: dict[int, int] = {}

    def put(unit_id, tier):
        if unit_id is not None and unit_id not in tiers:
            tiers[unit_id] = tier

    departments = (await conn.scalars(select(units.c.id).where(
        units.c.kind == UnitKind.DEPARTMENT.value).order_by(units.c.id))).all()
    station = None
    if row["street_id"] is not None:
        station = await conn.scalar(select(units.c.id).where(
            units.c.kind == UnitKind.STATION.value, units.c.street_id == row["street_id"]))
    if action is Action.ESCALATE:
        for above in await ancestors(conn, row["holder_unit_id"]):  # the district is no holder kind
            put(above, 0)
    routed = {"department": row["route_unit_id"], "station": station}.get(row["route"])
    put(routed or row["community_id"], 0)
    for unit_id in (row["community_id"], row["grid_id"], row["street_id"], station):
        put(unit_id, 1)
    for unit_id in departments:
        put(unit_id, 2)
    return tiers


catalog({
    "queue.tier.responsible": ("责任单位", "responsible"),
    "queue.tier.area": ("属地", "local area"),
    "queue.tier.department": ("职能部门", "department"),
    "queue.tier.other": ("其他单位", "other unit"),
    "queue.reason.load": ("在办{n}件", "{n} open"),
    "queue.reason.duty": ("有人在岗", "on duty"),
    "queue.reason.off": ("无人在岗", "nobody on duty"),
})
