"""The queue's queries on the demo district: keyset pages, search, view
counts, the holder recommendation and repeat complaints."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.domain import OPEN_STATES, Action
from gridconsole.db.models import Case, Unit
from gridconsole.db.queue import (
    SORTS, VIEWS, Sort, detail, holder_choices, page, view_counts,
)
from gridconsole.db.textkey import initials
from gridconsole.db.workflow import load_actor, receive

cases, units = Case.__table__, Unit.__table__


async def test_keyset_pages_walk_every_open_case_once(demo_db, officer):
    async with demo_db.read() as conn:
        expected = await conn.scalar(select(func.count()).select_from(cases).where(
            cases.c.state.in_([s.value for s in OPEN_STATES])))
    f = CaseFilter()
    for sort in (Sort(column, descending) for column in SORTS for descending in (False, True)):
        seen = []
        rows = await page(demo_db, officer, f, sort, limit=70)
        while rows:
            seen += [r["id"] for r in rows]
            rows = await page(demo_db, officer, f, sort, after=rows[-1]["key"], limit=70)
        assert len(seen) == len(set(seen)) == expected, sort
        middle = await page(demo_db, officer, f, sort, limit=140)
        back = await page(demo_db, officer, f, sort, before=middle[70]["key"], limit=70)
        again = await page(demo_db, officer, f, sort, start=middle[70]["key"], limit=70)
        assert [r["id"] for r in back] == [r["id"] for r in middle[:70]], sort
        assert [r["id"] for r in again] == [r["id"] for r in middle[70:]], sort


async def test_default_order_is_overdue_first_then_deadline(demo_db, officer):
    rows = await page(demo_db, officer, CaseFilter(), limit=500)
    held = [r["resolve_due"] for r in rows if r["state"] in ("dispatched", "in_progress")]
    assert held == sorted(held)
    first_unheld = next(i for i, r in enumerate(rows) if r["state"] not in ("dispatched", "in_progress"))
    assert all(r["state"] not in ("dispatched", "in_progress") for r in rows[first_unheld:])


async def test_search_by_chinese_pinyin_initials_and_id(demo_db, officer):
    case = (await page(demo_db, officer, VIEWS["in_progress"], limit=1))[0]
    found = lambda text: page(demo_db, officer, CaseFilter(text=text), limit=500)
    assert case["id"] in [r["id"] for r in await found(str(case["id"]))]
    assert case["id"] in [r["id"] for r in await found(case["content"][2:6])]
    place = case["community"]
    assert case["id"] in [r["id"] for r in await found(initials(place))]
    from pypinyin import lazy_pinyin
    assert case["id"] in [r["id"] for r in await found("".join(lazy_pinyin(place)))]
    assert await found("%") == [] or all("%" in r["content"] for r in await found("%"))
    assert await found("没有这种内容zzqx") == []


async def test_view_counts_match_the_pages(demo_db, officer):
    counts = await view_counts(demo_db, officer)
    for name, f in VIEWS.items():
        assert len(await page(demo_db, officer, f, limit=5000)) == counts[name], name


async def test_holders_ranked_by_responsibility_then_load(demo_db, officer):
    case = (await page(demo_db, officer, VIEWS["received"], limit=1))[0]
    choices = await holder_choices(demo_db, officer, case["id"])
    assert choices[0].tier == 0 and all(c.reason for c in choices)
    keys = [(c.tier, c.open_load, not c.on_duty) for c in choices]
    assert keys == sorted(keys)
    below = await holder_choices(demo_db, officer, case["id"], Action.SUBDISPATCH)
    assert below == []  # nobody holds a received case yet
    async with demo_db.read() as conn:
        dept = (await conn.execute(select(units.c.id, units.c.name).where(
            units.c.kind == "department").limit(1))).one()
    narrowed = await holder_choices(demo_db, officer, case["id"], text=dept.name[1:4])
    assert dept.id in [c.unit_id for c in narrowed]


@pytest.mark.parametrize("held_by", ["grid", "department"])
async def test_escalation_offers_only_units_the_workflow_accepts(demo_db, officer, held_by):
    """吹哨 goes up the holder's chain or to a department or police station:
    the picker offers nothing else (a department's case once offered its
    street), and the first it offers is accepted."""
    from gridconsole.db.workflow import ancestors, escalate

    async with demo_db.read() as conn:
        case_id, holder = (await conn.execute(
            select(cases.c.id, cases.c.holder_unit_id)
            .join(units, units.c.id == cases.c.holder_unit_id)
            .where(cases.c.state == "in_progress", units.c.kind == held_by).limit(1))).one()
        above = set(await ancestors(conn, holder))
    choices = await holder_choices(demo_db, officer, case_id, Action.ESCALATE, limit=1000)
    assert choices
    assert all(c.kind in ("department", "station") or c.unit_id in above for c in choices)
    await escalate(demo_db, officer, case_id, unit_id=choices[0].unit_id)


async def test_repeat_complaints_from_the_same_phone(demo_db, officer):
    like = (await page(demo_db, officer, VIEWS["in_progress"], limit=1))[0]
    ids = [await receive(demo_db, officer, channel="hotline", source_ref=f"R-{n}",
                         category_id=like["category_id"], urgency="normal",
                         content=f"重复来电 {n}", reporter_phone="13900001111",
                         street_id=like["street_id"], community_id=like["community_id"])
           for n in range(3)]
    found = await detail(demo_db, officer, ids[-1])
    assert {c["id"] for c in found.same_phone} == set(ids[:-1])
    assert set(ids[:-1]) <= {c["id"] for c in found.same_place}


async def test_a_street_officer_pages_only_its_street(demo_db):
    street = await load_actor(demo_db, "street03")
    rows = await page(demo_db, street, CaseFilter(include_closed=True), Sort("id", True), limit=300)
    async with demo_db.read() as conn:
        outside = await conn.scalar(select(func.count()).select_from(cases).where(
            cases.c.id.in_([r["id"] for r in rows]), cases.c.street_id != street.scope_unit_id,
            cases.c.holder_unit_id.not_in(select(units.c.id).where(
                units.c.street_id == street.scope_unit_id))))
    assert rows and outside == 0
