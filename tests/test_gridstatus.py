"""Grid status figures against the case table itself, node by node."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from gridconsole.db import clock, gridstatus
from gridconsole.db.gridstatus import DEPARTMENTS, ZONES, Figures, total
from gridconsole.db.models import Case, Category, Person, Unit
from gridconsole.db.workflow import load_actor, receive, supervise

OPEN = {"received", "dispatched", "in_progress", "resolved"}
HELD = {"dispatched", "in_progress"}


async def case_rows(db):
    c = Case.__table__.c
    async with db.read() as conn:
        return (await conn.execute(select(
            c.id, c.state, c.street_id, c.community_id, c.grid_id, c.holder_unit_id,
            c.created_at, c.resolve_due, c.supervise_count))).all()


async def unit_rows(db):
    async with db.read() as conn:
        return {u.id: u for u in (await conn.execute(select(Unit.__table__))).all()}


async def unstaffed_grids(db) -> set[int]:
    u, p = Unit.__table__.c, Person.__table__.c
    async with db.read() as conn:
        grids = set((await conn.scalars(select(u.id).where(u.kind == "grid"))).all())
        staffed = set((await conn.scalars(select(p.unit_id).where(
            p.role == "grid_worker", p.on_duty.is_(True)))).all())
    return grids - staffed


def expected(rows, now) -> Figures:
    """The figures of a set of cases, computed here from the rows themselves."""
    midnight = clock.to_local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [clock.as_utc(midnight - timedelta(days=13 - i)) for i in range(15)]
    open_rows = [r for r in rows if r.state in OPEN]
    daily = tuple(sum(1 for r in rows if days[i] <= r.created_at < days[i + 1]) for i in range(14))
    return Figures(
        open=len(open_rows), new_today=daily[-1],
        overdue=sum(1 for r in rows if r.state in HELD and r.resolve_due is not None
                    and r.resolve_due < now),
        supervised=sum(1 for r in open_rows if r.supervise_count > 0),
        oldest=min((r.created_at for r in open_rows), default=None), daily=daily)


def same(node, rows, now, unstaffed: int) -> None:
    want = Figures(**{**expected(rows, now).__dict__, "unstaffed": unstaffed})
    assert node.figures == want, node.name


async def test_area_branch_matches_the_case_table_and_sums_up(demo_db, officer):
    now = clock.now()
    rows, units, idle = await case_rows(demo_db), await unit_rows(demo_db), await unstaffed_grids(demo_db)
    roots, kids = await gridstatus.open_tree(demo_db, officer)
    assert [r.ref for r in roots][1:] == [ZONES, DEPARTMENTS]
    district = roots[0]
    same(district, rows, now, len(idle))
    assert district.figures.new_today > 0 and district.figures.overdue > 0
    streets = kids[district.ref]
    assert len([s for s in streets if s.kind == "street"]) == 16
    assert total(s.figures for s in streets) == district.figures
    by = {name: defaultdict(list) for name in ("street_id", "community_id", "grid_id")}
    for r in rows:
        for name, groups in by.items():
            groups[getattr(r, name)].append(r)
    idle_in = {name: defaultdict(int) for name in ("street_id", "community_id")}
    for g in idle:
        for name, counts in idle_in.items():
            counts[getattr(units[g], name)] += 1
    grids_checked = 0
    for street in streets:
        sid = street.ref[1]
        same(street, by["street_id"][sid], now, idle_in["street_id"][sid])
        communities = await gridstatus.children(demo_db, officer, street.ref)
        assert total(c.figures for c in communities) == street.figures
        for index, community in enumerate(communities):
            cid = community.ref[1]
            same(community, by["community_id"][cid], now, idle_in["community_id"][cid])
            if index % 8:  # the grids of every eighth community: all take half a minute
                continue
            grids = await gridstatus.children(demo_db, officer, community.ref)
            assert total(g.figures for g in grids) == community.figures
            for grid in grids:
                gid = grid.ref[1]
                assert grid.kind == "grid" and grid.leaf
                same(grid, by["grid_id"][gid], now, int(gid in idle))
                grids_checked += 1
    assert grids_checked > 250


async def test_departments_count_what_they_and_their_units_hold(demo_db, officer):
    now = clock.now()
    rows, units, idle = await case_rows(demo_db), await unit_rows(demo_db), await unstaffed_grids(demo_db)
    roots, kids = await gridstatus.open_tree(demo_db, officer)
    departments = kids[DEPARTMENTS]
    assert len(departments) == 15
    assert roots[2].figures == total(d.figures for d in departments)
    by_holder = defaultdict(list)
    for r in rows:
        by_holder[r.holder_unit_id].append(r)
    for dept in departments:
        did = dept.ref[1]
        mine = [u for u in units.values() if u.parent_id == did]
        same(dept, by_holder[did] + [r for u in mine for r in by_holder[u.id]], now,
             sum(1 for u in mine if u.id in idle))
        below = await gridstatus.children(demo_db, officer, dept.ref)
        assert total(b.figures for b in below) == dept.figures
        for node in below:
            if node.kind == "self":
                same(node, by_holder[did], now, 0)
            else:
                same(node, by_holder[node.ref[1]], now, int(node.ref[1] in idle))
    police = next(d for d in departments if d.name == "区公安分局")
    stations = [n for n in await gridstatus.children(demo_db, officer, police.ref)
                if n.kind == "station"]
    assert len(stations) == 16 and sum(s.figures.open for s in stations) > 0
    assert stations[0].case_filter.holder_unit_id == stations[0].ref[1]


async def test_functional_areas_list_their_grids(demo_db, officer):
    _, kids = await gridstatus.open_tree(demo_db, officer)
    zones = kids[ZONES]
    assert len(zones) == 5
    grids = [g for z in zones for g in await gridstatus.children(demo_db, officer, z.ref)
             if g.kind == "grid"]
    assert len(grids) == 19 and all(g.grid_kind == "functional" for g in grids)


async def test_a_street_officer_sees_only_the_street(demo_db):
    actor = await load_actor(demo_db, "street01")
    now = clock.now()
    rows = await case_rows(demo_db)
    roots, kids = await gridstatus.open_tree(demo_db, actor)
    assert [r.ref for r in roots] == [("area", actor.scope_unit_id)]
    same(roots[0], [r for r in rows if r.street_id == actor.scope_unit_id], now,
         roots[0].figures.unstaffed)
    assert total(c.figures for c in kids[roots[0].ref]) == roots[0].figures
    assert await gridstatus.path_to(demo_db, actor, 1) == []  # the district is above them


async def test_workers_and_their_load(demo_db, officer):
    rows = await case_rows(demo_db)
    c = Case.__table__.c
    async with demo_db.read() as conn:
        grid = await conn.scalar(select(c.grid_id).where(c.state.in_(OPEN)).limit(1))
        personal = dict((await conn.execute(select(c.holder_person_id, c.grid_id).where(
            c.state.in_(OPEN), c.holder_person_id.is_not(None)))).all())
    staff = await gridstatus.workers(demo_db, officer, grid)
    assert {w.role for w in staff} == {"grid_worker", "building_leader", "unit_leader"}
    of_grid = {r.id for r in rows if r.state in OPEN and (r.grid_id == grid or r.holder_unit_id == grid)}
    for w in staff:
        assert w.load == len(of_grid) + sum(1 for p, g in personal.items() if p == w.id and g != grid)


async def test_paths_lead_to_every_kind_of_unit(demo_db, officer):
    units = await unit_rows(demo_db)
    grid = next(u for u in units.values() if u.grid_kind == "basic")
    assert await gridstatus.path_to(demo_db, officer, grid.id) == [
        ("area", 1), ("area", grid.street_id), ("area", grid.community_id), ("area", grid.id)]
    professional = next(u for u in units.values() if u.grid_kind == "professional")
    assert await gridstatus.path_to(demo_db, officer, professional.id) == [
        DEPARTMENTS, ("held", professional.parent_id), ("held", professional.id)]
    functional = next(u for u in units.values() if u.grid_kind == "functional")
    assert await gridstatus.path_to(demo_db, officer, functional.id) == [
        ZONES, ("held", functional.parent_id), ("held", functional.id)]


async def test_supervising_shows_at_once(demo_db, officer):
    c = Case.__table__.c
    async with demo_db.read() as conn:
        case_id, street = (await conn.execute(select(c.id, c.street_id).where(
            c.state == "in_progress", c.supervise_count == 0).limit(1))).one()
    before = {n.ref: n.figures for n in (await gridstatus.open_tree(demo_db, officer))[1][("area", 1)]}
    await supervise(demo_db, officer, case_id, note="督办")
    after = {n.ref: n.figures for n in (await gridstatus.open_tree(demo_db, officer))[1][("area", 1)]}
    assert after[("area", street)].supervised == before[("area", street)].supervised + 1


async def test_cases_placed_nowhere_below_form_a_rest_node(demo_db, officer):
    async with demo_db.read() as conn:
        category = await conn.scalar(select(Category.__table__.c.id).where(
            Category.__table__.c.parent_id.is_not(None)).limit(1))
    await receive(demo_db, officer, channel="hotline", source_ref="GS-REST-1", category_id=category,
                  urgency="normal", content="地址不详", address="不详")
    roots, kids = await gridstatus.open_tree(demo_db, officer)
    rest = kids[roots[0].ref][-1]
    assert rest.kind == "rest" and rest.figures.open == 1 and rest.figures.new_today == 1
    assert rest.case_filter.area_id == roots[0].ref[1] and "即墨区" in rest.case_filter.title
    assert total(k.figures for k in kids[roots[0].ref]) == roots[0].figures
