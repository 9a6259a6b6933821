"""The queue driven from the keyboard on the demo district: every case key,
then the database is checked (state, holder, exactly one new event)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from gridconsole.console.app import GridConsole
from gridconsole.console.messages import FilterRequested
from gridconsole.console.screens.forms import ActionForm, HolderPicker
from gridconsole.console.screens.queue import QueueScreen
from gridconsole.db import clock
from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.engine import Database
from gridconsole.db.models import Case, CaseEvent, Unit
from gridconsole.db.queue import holder_choices
from gridconsole.db.workflow import load_actor, note

cases, events, units = Case.__table__, CaseEvent.__table__, Unit.__table__


async def console(url: str, code: str = "demo", watch: bool = False) -> GridConsole:
    db = Database(url)
    try:
        actor = await load_actor(db, code)
    finally:
        await db.dispose()
    app = GridConsole(url, actor, watch=watch)
    app.animation_level = "none"
    return app


async def until(pilot, condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


def queue(app) -> QueueScreen:
    return app.get_screen("queue") if not isinstance(app.screen, QueueScreen) else app.screen


async def show_only(app, pilot, case_id: int) -> None:
    """Drill down to one case and wait until it is selected, with its detail."""
    await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
    screen = app.screen
    screen.post_message(FilterRequested(CaseFilter(case_ids=(case_id,), include_closed=True)))
    await until(pilot, lambda: screen.order == [case_id] and screen.selected == case_id)


async def find(db, *where, used=()) -> dict:
    async with db.read() as conn:
        query = select(cases).where(*where, cases.c.id.not_in(list(used) or [-1]))
        return dict((await conn.execute(query.order_by(cases.c.id).limit(1))).mappings().one())


async def new_received(db, count: int) -> list[int]:
    """Fresh 待受理 cases (the demo history has only a couple), placed like a real one."""
    from gridconsole.db.workflow import receive

    like = await find(db, cases.c.community_id.is_not(None))
    officer = await load_actor(db, "demo")
    return [await receive(db, officer, channel="hotline", source_ref=f"T-{n}",
                          category_id=like["category_id"], urgency="normal",
                          content=f"测试工单 {n}", street_id=like["street_id"],
                          community_id=like["community_id"], grid_id=like["grid_id"])
            for n in range(count)]


async def state_of(db, case_id: int) -> tuple[dict, int]:
    async with db.read() as conn:
        row = dict((await conn.execute(select(cases).where(cases.c.id == case_id))).mappings().one())
        n = await conn.scalar(select(func.count()).select_from(events)
                              .where(events.c.case_id == case_id))
    return row, n


async def _held_by(db, kind: str, state: str, used) -> dict:
    return await find(db, cases.c.state == state, cases.c.holder_unit_id.in_(
        select(units.c.id).where(units.c.kind == kind)), used=used)


# key, how to find a case, what to type into the form (None: no form), check
SCENARIOS = {
    "a": (lambda db, used: find(db, cases.c.state == "received", used=used), None,
          lambda before, after: after["state"] == "dispatched" and after["holder_unit_id"]),
    "s": (lambda db, used: find(db, cases.c.state == "dispatched", used=used), None,
          lambda before, after: after["state"] == "in_progress"),
    "r": (lambda db, used: find(db, cases.c.state == "dispatched",
                                cases.c.dispatched_at > clock.now() - timedelta(hours=20), used=used),
          "wrong area", lambda before, after: after["state"] == "received"
          and after["holder_unit_id"] is None),
    "d": (lambda db, used: find(db, cases.c.state == "received", used=used), "answered by phone",
          lambda before, after: after["state"] == "resolved" and after["result"] == "answered by phone"),
    "x": (lambda db, used: find(db, cases.c.state == "received", used=used), "duplicate call",
          lambda before, after: after["state"] == "invalid"),
    "u": (lambda db, used: find(db, cases.c.state == "in_progress", used=used), "hurry",
          lambda before, after: after["supervise_count"] == before["supervise_count"] + 1
          and after["state"] == "in_progress"),
    "t": (lambda db, used: find(db, cases.c.state == "in_progress", cases.c.extended_days == 0,
                                used=used), "2",
          lambda before, after: after["extended_days"] == 2
          and after["resolve_due"] > before["resolve_due"]),
    "v": (lambda db, used: find(db, cases.c.state == "in_progress", used=used), "fixed",
          lambda before, after: after["state"] == "resolved" and after["closure_reason"] == "solved"),
    "o": (lambda db, used: find(db, cases.c.state == "resolved",
                                cases.c.holder_unit_id.is_not(None), used=used),
          "citizen unhappy", lambda before, after: after["state"] == "in_progress"
          and after["redo_count"] == before["redo_count"] + 1),
    "c": (lambda db, used: find(db, cases.c.state == "resolved", used=used), "",
          lambda before, after: after["state"] == "closed" and after["satisfaction"] == "satisfied"),
    "n": (lambda db, used: find(db, cases.c.state == "in_progress", used=used), "called the holder",
          lambda before, after: after["state"] == before["state"]),
    "e": (lambda db, used: _held_by(db, "community", "in_progress", used), "",
          lambda before, after: after["state"] == "dispatched"
          and after["holder_unit_id"] != before["holder_unit_id"]),
    "b": (lambda db, used: _held_by(db, "community", "dispatched", used), "",
          lambda before, after: after["state"] == "dispatched"
          and after["holder_unit_id"] != before["holder_unit_id"]),
}


async def test_every_key_changes_its_case_once(demo_url, demo_db):
    """One console session walks every key over a case in the right state."""
    await new_received(demo_db, 3)
    chosen, used = {}, []
    for key, (pick, _, _) in SCENARIOS.items():
        case = await pick(demo_db, used)
        used.append(case["id"])
        chosen[key] = (case, *await state_of(demo_db, case["id"]))
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        for key, (_, typed, _) in SCENARIOS.items():
            case, before, _ = chosen[key]
            version = (await state_of(demo_db, case["id"]))[0]["version"]
            await show_only(app, pilot, case["id"])
            await pilot.press(key)
            if key in "aeb":
                await until(pilot, lambda: isinstance(app.screen, HolderPicker)
                            and app.screen.choices)
                await pilot.press("enter")
            if typed is not None:
                await until(pilot, lambda: isinstance(app.screen, ActionForm))
                await pilot.press(*typed, "enter")
            screen = queue(app)
            await until(pilot, lambda: screen.rows.get(case["id"], {}).get("version")
                        == version + 1 and isinstance(app.screen, QueueScreen))
    for key, (_, _, check) in SCENARIOS.items():
        case, before, n_before = chosen[key]
        after, n_after = await state_of(demo_db, case["id"])
        assert check(before, after), (key, before, after)
        assert n_after == n_before + 1 and after["version"] == before["version"] + 1, key


async def test_merge_into_a_parent_case(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "received")
    parent = await find(demo_db, cases.c.state == "in_progress")
    before, n_before = await state_of(demo_db, case["id"])
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*str(parent["id"]), "enter")
        await until(pilot, lambda: app.screen.rows[case["id"]]["state"] == "merged")
    after, n_after = await state_of(demo_db, case["id"])
    assert after["merged_into_id"] == parent["id"] and n_after == n_before + 1


async def test_dispatch_takes_the_first_recommendation(demo_url, demo_db, officer):
    case = await find(demo_db, cases.c.state == "received")
    best = (await holder_choices(demo_db, officer, case["id"]))[0]
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.rows[case["id"]]["state"] == "dispatched")
    after, _ = await state_of(demo_db, case["id"])
    assert after["holder_unit_id"] == best.unit_id


async def test_picker_narrows_by_pinyin_initials(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "received")
    async with demo_db.read() as conn:
        target = (await conn.execute(select(units.c.id, units.c.initials).where(
            units.c.kind == "department").order_by(units.c.id).limit(1))).one()
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        await pilot.press(*target.initials)
        await until(pilot, lambda: app.screen.choices
                    and app.screen.choices[0].unit_id == target.id)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.rows[case["id"]]["state"] == "dispatched")
    after, _ = await state_of(demo_db, case["id"])
    assert after["holder_unit_id"] == target.id


async def test_escape_cancels_without_a_change(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "received")
    before = await state_of(demo_db, case["id"])
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"half typed", "escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.pause(0.2)
    assert await state_of(demo_db, case["id"]) == before


async def test_a_key_that_does_not_apply_is_hidden_and_does_nothing(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "received")
    before = await state_of(demo_db, case["id"])
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        shown = {b.binding.key for b in app.screen.active_bindings.values()
                 if b.enabled and b.binding.show}
        assert {"a", "d", "x", "m"} <= shown and not {"s", "v", "c", "o"} & shown
        await pilot.press("s", "v", "c", "o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, QueueScreen)
    assert await state_of(demo_db, case["id"]) == before


async def test_stale_version_is_refused_names_who_and_reloads(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "in_progress")
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        other = await load_actor(demo_db, "duban")
        await note(demo_db, other, case["id"], note="from another terminal")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("enter")
        screen = queue(app)
        await until(pilot, lambda: screen.rows[case["id"]]["version"] == case["version"] + 1
                    and app._notifications)
        messages = [n.message for n in app._notifications]
    after, _ = await state_of(demo_db, case["id"])
    assert after["supervise_count"] == case["supervise_count"]
    assert after["version"] == case["version"] + 1
    assert any("duban" in m for m in messages), messages


async def test_a_street_officer_sees_and_handles_only_its_street(demo_url, demo_db):
    officer = await load_actor(demo_db, "street01")
    outside = await find(demo_db, cases.c.state == "dispatched",
                         cases.c.street_id != officer.scope_unit_id,
                         cases.c.holder_unit_id.in_(select(units.c.id).where(
                             units.c.kind == "community")))
    app = await console(demo_url, "street01")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        async with demo_db.read() as conn:
            streets = set((await conn.scalars(select(cases.c.street_id).where(
                cases.c.id.in_(screen.order)))).all())
        assert streets == {officer.scope_unit_id}
        screen.post_message(FilterRequested(CaseFilter(case_ids=(outside["id"],))))
        await until(pilot, lambda: screen.base.case_ids == (outside["id"],))
        await until(pilot, lambda: screen.order == [])  # the page reloaded, empty
        assert screen.selected is None
        await pilot.press("s")
    assert (await state_of(demo_db, outside["id"]))[0]["version"] == outside["version"]


async def test_marked_cases_are_supervised_at_once(demo_url, demo_db):
    async with demo_db.read() as conn:
        ids = (await conn.scalars(select(cases.c.id).where(cases.c.state == "in_progress")
                                  .order_by(cases.c.id).limit(3))).all()
    before = {i: (await state_of(demo_db, i))[0]["supervise_count"] for i in ids}
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        screen.post_message(FilterRequested(CaseFilter(case_ids=tuple(ids))))
        await until(pilot, lambda: sorted(screen.order) == sorted(ids))
        await pilot.press("space", "space", "space")
        assert set(screen.marked) == set(ids)
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"weekly review", "enter")
        await until(pilot, lambda: not screen.marked and all(
            screen.rows[i]["supervise_count"] == before[i] + 1 for i in ids))
    for i in ids:
        assert (await state_of(demo_db, i))[0]["supervise_count"] == before[i] + 1


async def test_search_finds_by_id_and_chinese(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "in_progress")
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        await pilot.press("slash", *str(case["id"]), "enter")
        await until(pilot, lambda: screen.search == str(case["id"]) and screen.order
                    and case["id"] in screen.order)
        assert screen.focused is screen.table


async def test_paging_keeps_at_most_a_window(demo_url):
    app = await console(demo_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        screen.post_message(FilterRequested(CaseFilter(include_closed=True)))
        await until(pilot, lambda: len(screen.order) == 100
                    and screen.order == sorted(screen.order, reverse=True))  # newest first
        first = screen.order[0]
        for _ in range(20):
            await pilot.press("pagedown")
            await pilot.pause(0.05)
        await until(pilot, lambda: screen.more_before)
        assert len(screen.order) <= 200 and first not in screen.order
        assert screen.table.row_count == len(screen.order)
        for _ in range(60):  # a press while a page is on its way may stop at the edge
            if not screen.more_before and screen.table.cursor_row == 0:
                break
            await pilot.press("pageup")
            await pilot.pause(0.05)
        assert screen.order[0] == first and screen.selected == first


async def test_another_terminal_shows_up_keeping_the_cursor(demo_url, demo_db):
    """A case received elsewhere appears within 2 s; a critical one rings once."""
    from gridconsole.db.workflow import receive

    app = await console(demo_url, watch=True)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        await pilot.press("right_square_bracket")  # 待受理: where a new case lands
        await until(pilot, lambda: screen.view == "received" and len(screen.order) >= 2
                    and all(screen.rows[i]["state"] == "received" for i in screen.order))
        await pilot.press("space")
        await until(pilot, lambda: screen.selected == screen.order[1])
        chosen, marks = screen.selected, set(screen.marked)
        async with demo_db.read() as conn:
            category = await conn.scalar(select(Case.category_id).limit(1))
        officer = await load_actor(demo_db, "demo")
        new_id = await receive(demo_db, officer, channel="hotline", source_ref="T-LIVE-1",
                               category_id=category, urgency="critical",
                               content="燃气泄漏 live test")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await until(pilot, lambda: new_id in screen.order, timeout=2.0)
        assert loop.time() - started < 2.0
        assert screen.selected == chosen and set(screen.marked) == marks
        assert screen.table.get_row_at(screen.table.cursor_row)[1].plain == str(chosen)
        await until(pilot, lambda: rings == [1])
        await pilot.pause(0.6)
        assert rings == [1]


async def test_command_palette_and_help_come_from_the_registry(demo_url, demo_db):
    from gridconsole.console.screens.help import HelpScreen

    case = await find(demo_db, cases.c.state == "in_progress")
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"resolve")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    assert (await state_of(demo_db, case["id"]))[0]["version"] == case["version"]
