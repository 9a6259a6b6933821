"""Grid status (网格态势): per-node figures of the area tree, for the grid screen
and ``gridconsole grids``.

Three branches, each summing exactly up its own tree:

* **Area** (属地): district → street/town → community/village → basic grid.  A
  case counts where it happened (``street_id`` / ``community_id`` /
  ``grid_id``).  Cases placed at a level but not below it (no street yet, no
  community, no grid) form a "not placed" pseudo-child, so children always sum
  to their parent.
* **Departments** (部门): a case counts for the unit holding it
  (``holder_unit_id``).  A department's figure is the cases held by the
  department itself (its "本级" pseudo-child) plus those held by its
  professional grids and stations; cases a department only assists (协办) are
  not counted, so no case is counted twice.
* **Functional areas** (功能区): a case counts for the functional-area grid it
  happened in; otherwise for the zone or zone grid holding it.

Figures come from aggregate queries (two per level: open cases, and cases
created in the last 14 days), restricted by the operator's scope; no case row
is ever loaded.  Children are queried only when a node opens.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.util import ClauseAdapter

from . import clock
from .casefilter import CaseFilter
from .domain import HELD_STATES, OPEN_STATES, GridKind, PersonRole, UnitKind
from .engine import Database
from .i18n import catalog, t
from .models import Case, Person, Unit
from .scope import Actor, case_scope, unit_scope

cases, units, people = Case.__table__, Unit.__table__, Person.__table__

DAYS = 14
#: A node: (what it is, its unit).  "area" and "held" are units of the area
#: tree and of the holder branches; "rest" is the not-placed part of an area,
#: "self" the part a department or zone holds itself; "zones" and
#: "departments" are the two branch heads (no unit).
Ref = tuple[str, int | None]
ZONES: Ref = ("zones", None)
DEPARTMENTS: Ref = ("departments", None)

_OPEN = [s.value for s in OPEN_STATES]
_HELD = [s.value for s in HELD_STATES]
#: The case column that places a case in an area unit of each kind.
_AREA_COLUMN = {UnitKind.STREET: cases.c.street_id, UnitKind.COMMUNITY: cases.c.community_id,
                UnitKind.GRID: cases.c.grid_id}
#: The kind of the children of an area unit, and the case column they group by.
_BELOW = {UnitKind.DISTRICT: UnitKind.STREET, UnitKind.STREET: UnitKind.COMMUNITY,
          UnitKind.COMMUNITY: UnitKind.GRID}


@dataclass(frozen=True)
class Figures:
    open: int = 0
    new_today: int = 0
    overdue: int = 0          # held (dispatched, in progress) and past the resolve deadline
    supervised: int = 0       # open and supervised (督办) at least once
    oldest: datetime | None = None  # creation time of the oldest open case
    daily: tuple[int, ...] = (0,) * DAYS  # cases created per local day, the last is today
    unstaffed: int = 0        # grids below (or this grid) without a grid worker on duty

    def __add__(self, other: Figures) -> Figures:
        oldest = min((d for d in (self.oldest, other.oldest) if d is not None), default=None)
        return Figures(self.open + other.open, self.new_today + other.new_today,
                       self.overdue + other.overdue, self.supervised + other.supervised,
                       oldest, tuple(a + b for a, b in zip(self.daily, other.daily)),
                       self.unstaffed + other.unstaffed)

    def __bool__(self) -> bool:
        return bool(self.open or self.overdue or self.unstaffed or any(self.daily))

    def age(self, now: datetime | None = None) -> timedelta | None:
        return None if self.oldest is None else (now or clock.now()) - self.oldest


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for f in figures:
        result = result + f
    return result


@dataclass(frozen=True)
class Node:
    ref: Ref
    name: str
    kind: str                 # a UnitKind value, or "rest", "self", "zones", "departments"
    figures: Figures
    leaf: bool
    order: int = 0            # the natural order (the district's own order of units)
    grid_kind: str | None = None
    #: The drill-down into the queue; None for a branch head.
    case_filter: CaseFilter | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Worker:
    id: int
    name: str
    role: PersonRole
    on_duty: bool
    full_time: bool
    load: int                 # open cases of the worker's unit, or held by the worker


def day_starts(now: datetime) -> list[datetime]:
    """The starts (UTC) of the last ``DAYS`` local days, today last, and tomorrow."""
    midnight = clock.to_local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return [clock.as_utc(midnight + timedelta(days=i)) for i in range(1 - DAYS, 2)]


async def _figures(conn: AsyncConnection, actor: Actor, key: ColumnElement,
                   where: ColumnElement[bool] | None, now: datetime) -> dict[object, Figures]:
    """Figures grouped by ``key`` over the cases matching ``where``, in scope."""
    scope = case_scope(actor)
    extra = [where] if where is not None else []
    # Materialized first: otherwise SQLite walks a whole (key, state) index in key
    # order to spare a sort, rather than look up the few open cases by state.
    open_cases = select(key.label("k"), cases.c.state, cases.c.resolve_due,
                        cases.c.supervise_count, cases.c.created_at) \
        .where(cases.c.state.in_(_OPEN), scope, *extra).cte("open_cases") \
        .prefix_with("MATERIALIZED")
    o = open_cases.c
    open_rows = await conn.execute(
        select(o.k, func.count(),
               func.count().filter(and_(o.state.in_(_HELD), o.resolve_due < now)),
               func.count().filter(o.supervise_count > 0), func.min(o.created_at))
        .group_by(o.k))
    starts = day_starts(now)
    # The last 14 days' cases first, by the creation index, then grouped: given
    # the key's filter directly, SQLite would walk every case a department ever
    # held (seconds at a million cases) to find the recent ones.
    window = select(cases.c.id, cases.c.created_at, cases.c.holder_unit_id, cases.c.street_id,
                    cases.c.community_id, cases.c.grid_id) \
        .where(cases.c.created_at >= starts[0], cases.c.created_at < starts[-1], scope) \
        .cte("recent_cases").prefix_with("MATERIALIZED")
    on_window = ClauseAdapter(window).traverse
    created, recent_key = window.c.created_at, on_window(key)
    recent_rows = await conn.execute(
        select(recent_key.label("k"), *[func.count().filter(and_(created >= a, created < b))
                                        for a, b in zip(starts, starts[1:])])
        .where(*[on_window(e) for e in extra]).group_by(recent_key))
    found: dict[object, Figures] = {}
    for k, n, overdue, supervised, oldest in open_rows:
        found[k] = Figures(open=n, overdue=overdue, supervised=supervised, oldest=oldest)
    for k, *daily in recent_rows:
        found[k] = replace(found.get(k, Figures()), new_today=daily[-1], daily=tuple(daily))
    return found


async def _unstaffed(conn: AsyncConnection, actor: Actor) -> list:
    """Grids in scope without a grid worker on duty (a few dozen rows)."""
    on_duty = exists().where(people.c.unit_id == units.c.id,
                             people.c.role == PersonRole.GRID_WORKER.value,
                             people.c.on_duty.is_(True))
    rows = await conn.execute(
        select(units.c.id, units.c.parent_id, units.c.street_id, units.c.community_id)
        .where(units.c.kind == UnitKind.GRID.value, units.c.active.is_(True), ~on_duty,
               unit_scope(actor)))
    return rows.all()


def _count_by(rows, attr: str) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        counts[getattr(row, attr)] += 1
    return counts


async def _units(conn: AsyncConnection, actor: Actor, *where) -> list:
    return (await conn.execute(
        select(units.c.id, units.c.kind, units.c.grid_kind, units.c.name, units.c.parent_id)
        .where(units.c.active.is_(True), unit_scope(actor), *where)
        .order_by(units.c.id))).all()


def _zone_attribution() -> ColumnElement:
    """The unit a case counts for in the functional-area branch."""
    functional = select(units.c.id).where(units.c.grid_kind == GridKind.FUNCTIONAL.value)
    return case((cases.c.grid_id.in_(functional), cases.c.grid_id),
                else_=cases.c.holder_unit_id)


def _held_key(branch: str) -> ColumnElement:
    return _zone_attribution() if branch == UnitKind.ZONE else cases.c.holder_unit_id


def _filter(ref: Ref, name: str, kind: str, grid_kind: str | None) -> CaseFilter | None:
    what, unit = ref
    if what in ("zones", "departments"):
        return None
    if what == "area" or kind in (UnitKind.ZONE, UnitKind.DEPARTMENT) \
            or grid_kind == GridKind.FUNCTIONAL:
        return CaseFilter(area_id=unit, title=name)
    return CaseFilter(holder_unit_id=unit, title=name)


def _node(ref: Ref, row, figures: Figures, leaf: bool) -> Node:
    return Node(ref, row.name, row.kind, figures, leaf, row.id, row.grid_kind,
                _filter(ref, row.name, row.kind, row.grid_kind))


def _pseudo(what: str, parent, figures: Figures) -> Node:
    """The not-placed (rest) or held-by-itself (self) part of the unit ``parent``."""
    name = t(f"grid.{what}")
    title = f"{parent.name} · {name}"
    # The queue has no "placed in no community" filter: a rest node opens its
    # whole parent area.
    flt = CaseFilter(area_id=parent.id, title=title) if what == "rest" \
        else CaseFilter(holder_unit_id=parent.id, title=title)
    return Node((what, parent.id), name, what, figures, True, 1 << 62, None, flt)


# -- children of each kind of node ----------------------------------------------

async def _area_children(conn, actor, parent, now, unstaffed) -> list[Node]:
    unit, kind = parent.id, UnitKind(parent.kind)
    below = _BELOW[kind]
    if kind == UnitKind.DISTRICT:
        where, structure = None, units.c.kind == below.value
    else:
        where = _AREA_COLUMN[kind] == unit
        structure = and_(units.c.kind == below.value, units.c.parent_id == unit)
    if below == UnitKind.GRID:
        structure = and_(structure, units.c.grid_kind == GridKind.BASIC.value)
    figures = await _figures(conn, actor, _AREA_COLUMN[below], where, now)
    counts = _count_by(unstaffed, {UnitKind.STREET: "street_id", UnitKind.COMMUNITY: "community_id",
                                   UnitKind.GRID: "id"}[below])
    nodes = []
    for row in await _units(conn, actor, structure):
        f = replace(figures.pop(row.id, Figures()), unstaffed=counts.get(row.id, 0))
        nodes.append(_node(("area", row.id), row, f, below == UnitKind.GRID))
    # Anything left (no lower unit, or one outside the operator's tree) is not placed.
    rest = total(figures.values())
    if rest:
        nodes.append(_pseudo("rest", parent, rest))
    return nodes


async def _branch_children(conn, actor, branch: UnitKind, now, unstaffed) -> list[Node]:
    """The departments, or the zones, each the sum over what it and its units hold."""
    heads = await _units(conn, actor, units.c.kind == branch.value)
    members = await _units(conn, actor, units.c.parent_id.in_([h.id for h in heads]))
    owner = {h.id: h.id for h in heads} | {m.id: m.parent_id for m in members}
    key = _held_key(branch)
    figures = await _figures(conn, actor, key, key.in_(list(owner)), now)
    sums: dict[int, Figures] = defaultdict(Figures)
    for unit, f in figures.items():
        sums[owner[unit]] = sums[owner[unit]] + f
    counts = _count_by(unstaffed, "parent_id")
    return [_node(("held", h.id), h, replace(sums[h.id], unstaffed=counts.get(h.id, 0)), False)
            for h in heads]


async def _held_children(conn, actor, head, now, unstaffed) -> list[Node]:
    """A department's or zone's own units (grids, stations), and what it holds itself."""
    members = await _units(conn, actor, units.c.parent_id == head.id)
    key = _held_key(head.kind)
    figures = await _figures(conn, actor, key, key.in_([head.id] + [m.id for m in members]), now)
    counts = _count_by(unstaffed, "id")
    nodes = [_node(("held", m.id), m, replace(figures.get(m.id, Figures()),
                                               unstaffed=counts.get(m.id, 0)), True)
             for m in members]
    own = figures.get(head.id)
    if own:
        nodes.insert(0, _pseudo("self", head, own))
    return nodes


async def _unit_row(conn, actor, unit_id: int):
    rows = await _units(conn, actor, units.c.id == unit_id)
    return rows[0] if rows else None


async def _children(conn, actor, ref: Ref, now, unstaffed) -> list[Node]:
    what, unit = ref
    if ref == ZONES:
        return await _branch_children(conn, actor, UnitKind.ZONE, now, unstaffed)
    if ref == DEPARTMENTS:
        return await _branch_children(conn, actor, UnitKind.DEPARTMENT, now, unstaffed)
    row = await _unit_row(conn, actor, unit) if unit is not None else None
    if row is None or what not in ("area", "held"):
        return []
    if what == "area":
        if row.kind not in _BELOW:
            return []
        return await _area_children(conn, actor, row, now, unstaffed)
    if row.kind not in (UnitKind.ZONE, UnitKind.DEPARTMENT):
        return []
    return await _held_children(conn, actor, row, now, unstaffed)


async def _leaf(conn, actor, row, now, unstaffed) -> Node:
    """A top node without children (an operator scoped to a station or a grid)."""
    if row.grid_kind == GridKind.BASIC:
        what, key = "area", cases.c.grid_id
    else:
        what = "held"
        key = _held_key(UnitKind.ZONE if row.grid_kind == GridKind.FUNCTIONAL
                        else UnitKind.DEPARTMENT)
    f = (await _figures(conn, actor, key, key == row.id, now)).get(row.id, Figures())
    return _node((what, row.id), row, replace(f, unstaffed=_count_by(unstaffed, "id").get(row.id, 0)),
                 True)


def _has_children(row) -> bool:
    return row.kind in _BELOW or row.kind in (UnitKind.ZONE, UnitKind.DEPARTMENT)


# -- the public interface ---------------------------------------------------------

async def open_tree(db: Database, actor: Actor, now: datetime | None = None,
                    ) -> tuple[list[Node], dict[Ref, list[Node]]]:
    """The top nodes the operator sees, and the children of each: a top node's
    figures are the sum of its children's."""
    now = now or clock.now()
    async with db.read() as conn:
        unstaffed = await _unstaffed(conn, actor)
        if actor.scope_unit_id is None:
            district = (await _units(conn, actor, units.c.kind == UnitKind.DISTRICT.value))[0]
            tops: list[tuple[Ref, object]] = [(("area", district.id), district),
                                              (ZONES, None), (DEPARTMENTS, None)]
        else:
            row = await _unit_row(conn, actor, actor.scope_unit_id)
            if not _has_children(row):
                return [await _leaf(conn, actor, row, now, unstaffed)], {}
            tops = [(("area" if row.kind in _BELOW else "held", row.id), row)]
        roots, children = [], {}
        for ref, row in tops:
            kids = await _children(conn, actor, ref, now, unstaffed)
            children[ref] = kids
            figures = total(k.figures for k in kids)
            if row is None:
                name = t(f"grid.{ref[0]}")
                roots.append(Node(ref, name, ref[0], figures, False, len(roots)))
            else:
                roots.append(_node(ref, row, figures, False))
    return roots, children


async def children(db: Database, actor: Actor, ref: Ref,
                   now: datetime | None = None) -> list[Node]:
    """The children of ``ref`` with their figures, in the district's order."""
    async with db.read() as conn:
        return await _children(conn, actor, ref, now or clock.now(), await _unstaffed(conn, actor))


async def workers(db: Database, actor: Actor, unit_id: int) -> list[Worker]:
    """The people attached to a unit (grid worker, building and unit leaders of a
    grid; grid leader and instructor of a community; a department's liaison),
    with their open load: open cases of the unit, or held by them personally."""
    async with db.read() as conn:
        row = await _unit_row(conn, actor, unit_id)
        if row is None:
            return []
        staff = (await conn.execute(
            select(people.c.id, people.c.name, people.c.role, people.c.on_duty,
                   people.c.full_time)
            .where(people.c.unit_id == unit_id).order_by(people.c.id))).all()
        if not staff:
            return []
        column = _AREA_COLUMN.get(row.kind) if row.grid_kind != GridKind.PROFESSIONAL else None
        mine = or_(column == unit_id, cases.c.holder_unit_id == unit_id) \
            if column is not None else cases.c.holder_unit_id == unit_id
        ids = [p.id for p in staff]
        loads = await conn.execute(
            select(cases.c.holder_person_id, mine.label("mine"), func.count())
            .where(cases.c.state.in_(_OPEN), case_scope(actor),
                   or_(mine, cases.c.holder_person_id.in_(ids)))
            .group_by(cases.c.holder_person_id, mine))
        of_unit, personal = 0, defaultdict(int)
        for person, is_mine, n in loads:
            if is_mine:
                of_unit += n
            else:
                personal[person] += n
    return [Worker(p.id, p.name, PersonRole(p.role), bool(p.on_duty), bool(p.full_time),
                   of_unit + personal[p.id]) for p in staff]


async def path_to(db: Database, actor: Actor, unit_id: int) -> list[Ref]:
    """The nodes from a top node down to ``unit_id`` (empty: not in the tree)."""
    async with db.read() as conn:
        row = await _unit_row(conn, actor, unit_id)
        if row is None:
            return []
        full = (await conn.execute(
            select(units.c.kind, units.c.parent_id, units.c.street_id, units.c.community_id,
                   units.c.grid_kind).where(units.c.id == unit_id))).one()
        parent = None
        if full.parent_id is not None:
            parent = (await conn.execute(
                select(units.c.kind, units.c.parent_id).where(units.c.id == full.parent_id))).one()
        district = await conn.scalar(
            select(units.c.id).where(units.c.kind == UnitKind.DISTRICT.value).limit(1))
    kind = full.kind
    if kind == UnitKind.DISTRICT or (kind == UnitKind.GRID and full.grid_kind == GridKind.BASIC) \
            or kind in (UnitKind.STREET, UnitKind.COMMUNITY):
        chain = [district, full.street_id, full.community_id, unit_id]
        path = [("area", u) for u in dict.fromkeys(u for u in chain if u is not None)]
    elif kind in (UnitKind.ZONE, UnitKind.DEPARTMENT):
        path = [ZONES if kind == UnitKind.ZONE else DEPARTMENTS, ("held", unit_id)]
    else:
        head = ZONES if parent is not None and parent.kind == UnitKind.ZONE else DEPARTMENTS
        path = [head, ("held", full.parent_id), ("held", unit_id)]
    if actor.scope_unit_id is None:
        return path
    for top in (("area", actor.scope_unit_id), ("held", actor.scope_unit_id)):
        if top in path:
            return path[path.index(top):]
    return []


async def find_area(db: Database, actor: Actor, name: str) -> list[int]:
    """Units the operator sees whose name or code is ``name``."""
    async with db.read() as conn:
        rows = await _units(conn, actor, or_(units.c.name == name, units.c.code == name))
    return [r.id for r in rows]


async def node_and_children(db: Database, actor: Actor, unit_id: int | None,
                            now: datetime | None = None) -> tuple[Node | None, list[Node]]:
    """A unit (default: the operator's top area) and its children, for the shell."""
    now = now or clock.now()
    roots, kids = await open_tree(db, actor, now)
    if unit_id is None:
        return roots[0], kids.get(roots[0].ref, [])
    path = await path_to(db, actor, unit_id)
    nodes = {r.ref: r for r in roots}
    for ref in path:
        if ref not in nodes:
            break
        below = kids.get(ref)
        if below is None:
            below = await children(db, actor, ref, now) if not nodes[ref].leaf else []
            kids[ref] = below
        nodes.update((n.ref, n) for n in below)
    target = path[-1] if path else None
    if target not in nodes:
        return None, []
    return nodes[target], kids.get(target, [])


catalog({
    "grid.rest": ("未落到下级", "Not placed below"),
    "grid.self": ("本级", "Held itself"),
    "grid.zones": ("功能区", "Functional areas"),
    "grid.departments": ("区直部门", "Departments"),
})
