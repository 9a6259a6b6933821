"""The queue's remaining gaps (issue 3): the acted row shown at once, marks
that survive paging, Home/End to the true ends of the view, and assisting
units for an escalation.  Each drives the console from the keyboard and then
checks the database (state, holder, assisting units, one event each) and the
screen."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from gridconsole.console.messages import FilterRequested
from gridconsole.console.screens import queue as queue_module
from gridconsole.console.screens.forms import HolderPicker
from gridconsole.console.screens.queue import QueueScreen
from gridconsole.console.text import one_line
from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.models import Case, CaseAssist, CaseEvent, Unit

from test_queue_keys import console, find, show_only, state_of, until

cases, events, units = Case.__table__, CaseEvent.__table__, Unit.__table__
assists = CaseAssist.__table__


def cell(screen: QueueScreen, case_id: int, column: str) -> str:
    return screen.table.get_cell(str(case_id), column).plain


def footer_keys(screen: QueueScreen) -> dict[str, object]:
    return {key.key: key for key in screen.query("FooterKey")}


def shown_keys(screen: QueueScreen) -> set[str]:
    return {k for k, key in footer_keys(screen).items() if key.display and not key._disabled}


# -- 1. the acted row at once ------------------------------------------------------

async def test_the_dispatched_row_shows_before_the_window_is_read_again(
        demo_url, demo_db, officer, monkeypatch):
    """Enter in the picker: the row shows the new state and holder from one
    read by id, while the page re-read (made slow here) is still on its way."""
    case = await find(demo_db, cases.c.state == "received")
    before, n_before = await state_of(demo_db, case["id"])
    slow = asyncio.Event()
    real_page = queue_module.page

    async def page(*args, **kwargs):
        if slow.is_set():
            await asyncio.sleep(3)
        return await real_page(*args, **kwargs)

    monkeypatch.setattr(queue_module, "page", page)
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        screen = app.screen
        await until(pilot, lambda: "a" in shown_keys(screen))
        keys_before = footer_keys(screen)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        holder = app.screen.choices[0]
        slow.set()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await pilot.press("enter")
        await until(pilot, lambda: screen.rows[case["id"]]["state"] == "dispatched", timeout=2.5)
        assert loop.time() - started < 2.5  # the slow page would take 3 s
        assert cell(screen, case["id"], "state") == "待签收"
        assert cell(screen, case["id"], "holder") == one_line(holder.name, 10)
        # The footer was not rebuilt for the picker; its keys follow the new state.
        await until(pilot, lambda: "a" not in shown_keys(screen))
        assert all(footer_keys(screen)[k] is key for k, key in keys_before.items())
        slow.clear()
        await app.workers.wait_for_complete()
    after, n_after = await state_of(demo_db, case["id"])
    assert after["state"] == "dispatched" and after["holder_unit_id"] == holder.unit_id
    assert n_after == n_before + 1 and after["version"] == before["version"] + 1


async def test_a_refused_action_still_shows_the_row_as_it_is_now(demo_url, demo_db):
    """Another terminal changed the case: the refusal is reported and the row
    shows the other terminal's version without waiting for the page."""
    from gridconsole.db.workflow import load_actor, note

    case = await find(demo_db, cases.c.state == "in_progress")
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        screen = app.screen
        await note(demo_db, await load_actor(demo_db, "duban"), case["id"], note="elsewhere")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, QueueScreen))
        await pilot.press(*"mine", "enter")
        await until(pilot, lambda: screen.rows[case["id"]]["version"] == case["version"] + 1
                    and app._notifications)
    after, _ = await state_of(demo_db, case["id"])
    assert after["version"] == case["version"] + 1
    async with demo_db.read() as conn:
        notes = (await conn.scalars(select(events.c.note).where(
            events.c.case_id == case["id"], events.c.action == "note"))).all()
    assert "mine" not in notes and "elsewhere" in notes


# -- 2. marks survive paging -----------------------------------------------------------

def status(screen: QueueScreen) -> str:
    return str(screen.query_one("#status").render())


async def mark(pilot, screen: QueueScreen, case_id: int) -> None:
    screen.table.move_cursor(row=screen.order.index(case_id))
    await until(pilot, lambda: screen.selected == case_id)
    await pilot.press("space")
    await until(pilot, lambda: case_id in screen.marked)


async def test_marks_survive_paging_and_a_batch_acts_on_every_mark(demo_url, demo_db, officer):
    """Three in-progress cases marked, the window slides past them: the marks
    stay.  One is resolved elsewhere (it leaves the view: its mark goes), one
    gets a note elsewhere (still in view, but its version changed); the batch
    supervises the third and refuses the changed one as a conflict."""
    from gridconsole.db.workflow import load_actor, note, resolve
    from gridconsole.console.messages import DataChanged

    app = await console(demo_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        screen.post_message(FilterRequested(CaseFilter(states=("in_progress", "closed"),
                                                       include_closed=True)))
        await until(pilot, lambda: len(screen.order) == 100 and any(
            row["state"] == "closed" for row in screen.rows.values()))
        targets = [i for i in screen.order if screen.rows[i]["state"] == "in_progress"][:3]
        assert len(targets) == 3
        before = {i: await state_of(demo_db, i) for i in targets}
        for case_id in targets:
            await mark(pilot, screen, case_id)
        assert set(screen.marked) == set(targets) and "已标记3件" in status(screen)
        for _ in range(80):
            if screen.more_before and not set(targets) & set(screen.order):
                break
            await pilot.press("pagedown")
            await pilot.pause(0.05)
        assert screen.more_before and not set(targets) & set(screen.order)
        assert set(screen.marked) == set(targets) and "已标记3件" in status(screen)

        left, changed, kept = targets
        await resolve(demo_db, officer, left, result="fixed elsewhere", closure_reason="solved")
        await note(demo_db, await load_actor(demo_db, "duban"), changed, note="elsewhere")
        screen.post_message(DataChanged())
        await until(pilot, lambda: left not in screen.marked)
        assert set(screen.marked) == {changed, kept} and "已标记2件" in status(screen)

        await pilot.press("u")
        await until(pilot, lambda: not isinstance(app.screen, QueueScreen))
        await pilot.press(*"weekly review", "enter")
        await until(pilot, lambda: kept not in screen.marked and len(app._notifications) >= 2)
        messages = [n.message for n in app._notifications]
        assert any("duban" in m for m in messages), messages
        assert set(screen.marked) == {changed} and "已标记1件" in status(screen)
    after = {i: await state_of(demo_db, i) for i in targets}
    (b_left, _), (a_left, _) = before[left], after[left]
    assert a_left["state"] == "resolved" and a_left["supervise_count"] == b_left["supervise_count"]
    (b_changed, n_changed), (a_changed, m_changed) = before[changed], after[changed]
    assert a_changed["supervise_count"] == b_changed["supervise_count"]
    assert m_changed == n_changed + 1  # the note only
    (b_kept, n_kept), (a_kept, m_kept) = before[kept], after[kept]
    assert a_kept["supervise_count"] == b_kept["supervise_count"] + 1 and m_kept == n_kept + 1


async def test_a_mark_in_the_window_leaves_with_its_case_and_a_new_view_clears_marks(
        demo_url, demo_db, officer):
    from gridconsole.db.workflow import resolve
    from gridconsole.console.messages import DataChanged

    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        screen.post_message(FilterRequested(CaseFilter(states=("in_progress",))))
        await until(pilot, lambda: screen.order and all(
            screen.rows[i]["state"] == "in_progress" for i in screen.order))
        first, second = screen.order[:2]
        await mark(pilot, screen, first)
        await mark(pilot, screen, second)
        await resolve(demo_db, officer, first, result="done elsewhere", closure_reason="solved")
        screen.post_message(DataChanged())
        await until(pilot, lambda: first not in screen.order)
        assert set(screen.marked) == {second} and "已标记1件" in status(screen)
        assert screen.table.get_cell(str(second), "mark").plain == "●"
        await pilot.press("right_square_bracket")  # another view
        await until(pilot, lambda: screen.view is not None and screen.order)
        assert not screen.marked and "已标记" not in status(screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert all(screen.table.get_cell(str(i), "mark").plain == " " for i in screen.order)


# -- 3. Home / End -------------------------------------------------------------------

async def test_home_and_end_go_to_the_true_ends_of_the_view(demo_url, demo_db, officer):
    """End loads the view's last page (keyset from the other end), paging up
    from there joins up without a gap, Home loads the first page again."""
    from gridconsole.db.queue import Sort, page

    wanted = CaseFilter(states=("in_progress", "closed", "resolved"), include_closed=True)
    whole = [row["id"] for row in await page(demo_db, officer, wanted, Sort("id", True),
                                              limit=100_000)]
    assert len(whole) > 400
    app = await console(demo_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        screen.post_message(FilterRequested(wanted))
        await until(pilot, lambda: screen.order == whole[:100])
        await pilot.press("end")
        await until(pilot, lambda: screen.selected == whole[-1])
        assert screen.order == whole[-len(screen.order):] and len(screen.order) <= 200
        assert screen.more_before and not screen.more_after
        assert screen.table.cursor_row == len(screen.order) - 1
        assert screen.table.get_row_at(screen.table.cursor_row)[1].plain == str(whole[-1])
        for _ in range(12):
            await pilot.press("pageup")
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        start = whole.index(screen.order[0])
        assert screen.order == whole[start:start + len(screen.order)]  # no gap, no repeat
        assert start < len(whole) - 100
        await pilot.press("home")
        await until(pilot, lambda: screen.selected == whole[0])
        assert screen.order == whole[:len(screen.order)] and not screen.more_before
        assert screen.table.cursor_row == 0
        await pilot.press("end", "end")  # End twice: the same place
        await until(pilot, lambda: screen.selected == whole[-1])


async def test_home_and_end_within_one_page_and_under_the_deadline_sort(demo_url, demo_db, officer):
    from gridconsole.db.queue import Sort, page

    whole = [row["id"] for row in await page(demo_db, officer, CaseFilter(), Sort(), limit=100_000)]
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order)
        screen = app.screen
        await until(pilot, lambda: screen.order == whole[:len(screen.order)])
        await pilot.press("end")
        await until(pilot, lambda: screen.selected == whole[-1])
        assert screen.order == whole[-len(screen.order):]
        await pilot.press("home")
        await until(pilot, lambda: screen.selected == whole[0])


# -- 4. escalate with assisting units ------------------------------------------------------

async def _community_held(db) -> dict:
    return await find(db, cases.c.state == "in_progress", cases.c.holder_unit_id.in_(
        select(units.c.id).where(units.c.kind == "community")))


async def _highlight(pilot, picker: HolderPicker, index: int) -> None:
    options = picker.query_one("#choices")
    while options.highlighted != index:
        await pilot.press("down" if options.highlighted < index else "up")


def _label(picker: HolderPicker, name: str) -> str:
    return str(picker.query_one(f"#{name}").render())


async def test_escalate_with_assisting_units(demo_url, demo_db):
    """吹哨: Space marks two departments as 协办 (a unit that may not assist
    is refused with a hint), Enter on the lead (主办) confirms; the note form
    follows; one transaction, one event; the detail names the assisting units."""
    from gridconsole.console.widgets.case_detail import CaseDetail

    case = await _community_held(demo_db)
    before, n_before = await state_of(demo_db, case["id"])
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        screen = app.screen
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        picker = app.screen
        hint = " ".join(str(label.render()) for label in picker.query("Label"))
        assert "空格" in hint and "协办" in hint and "Esc" in hint
        choices = picker.choices
        lead = choices[0]
        helpers = [c for c in choices if c.kind == "department"][:2]
        assert lead.kind != "department" and len(helpers) == 2
        await pilot.press("space")  # the lead (a street or community) cannot assist
        await until(pilot, lambda: "不能协办" in _label(picker, "chosen"))
        assert not picker.assists
        for helper in helpers:
            await _highlight(pilot, picker, choices.index(helper))
            await pilot.press("space")
        assert set(picker.assists) == {h.unit_id for h in helpers}
        await _highlight(pilot, picker, 0)
        chosen = _label(picker, "chosen")
        assert lead.name in chosen and all(h.name in chosen for h in helpers)
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, HolderPicker)
                    and not isinstance(app.screen, QueueScreen))
        await pilot.press(*"joint handling", "enter")
        await until(pilot, lambda: screen.rows[case["id"]]["version"] == before["version"] + 1)
        body = screen.query_one(CaseDetail).query_one("#detail-body")
        await until(pilot, lambda: all(h.name in str(body.render()) for h in helpers)
                    and "协办" in str(body.render()))
    after, n_after = await state_of(demo_db, case["id"])
    assert after["state"] == "dispatched" and after["holder_unit_id"] == lead.unit_id
    assert after["escalate_count"] == before["escalate_count"] + 1
    assert n_after == n_before + 1 and after["version"] == before["version"] + 1
    async with demo_db.read() as conn:
        helping = set((await conn.scalars(select(assists.c.unit_id).where(
            assists.c.case_id == case["id"]))).all())
        last = (await conn.execute(select(events.c.action, events.c.note).where(
            events.c.case_id == case["id"]).order_by(events.c.seq.desc()).limit(1))).one()
    assert helping == {h.unit_id for h in helpers}
    assert last.action == "escalate" and last.note == "joint handling"


async def test_escalate_with_no_assisting_unit_and_escape_cancels(demo_url, demo_db):
    case = await _community_held(demo_db)
    before = await state_of(demo_db, case["id"])
    app = await console(demo_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        picker = app.screen
        helper = next(c for c in picker.choices if c.kind == "department")
        await _highlight(pilot, picker, picker.choices.index(helper))
        await pilot.press("space")
        assert set(picker.assists) == {helper.unit_id}
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.pause(0.2)
        assert await state_of(demo_db, case["id"]) == before
        # Escalated again, with no assisting unit: Enter on the lead, Enter in the form.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        lead = app.screen.choices[0]
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, HolderPicker)
                    and not isinstance(app.screen, QueueScreen))
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.rows.get(case["id"], {}).get("state") == "dispatched"
                    if isinstance(app.screen, QueueScreen) else False)
    after, n_after = await state_of(demo_db, case["id"])
    assert after["holder_unit_id"] == lead.unit_id and n_after == before[1] + 1
    async with demo_db.read() as conn:
        assert not (await conn.scalars(select(assists.c.unit_id).where(
            assists.c.case_id == case["id"]))).all()


async def test_space_types_a_space_in_the_dispatch_picker(demo_url, demo_db):
    case = await find(demo_db, cases.c.state == "received")
    app = await console(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        await pilot.press("x", "space", "y")
        assert app.screen.query_one("#narrow").value == "x y" and not app.screen.assists
        await pilot.press("escape")
