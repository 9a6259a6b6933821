"""The queue's remaining gaps (issue 3): the acted row shown at once, marks
that survive paging, Home/End to the true ends of the view, and assisting
units for an escalation.  Each drives the console from the keyboard and then
checks the database (state, holder, assisting units, one event each) and the
screen."""
from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from gridconsole.console.messages import FilterRequested
from gridconsole.console.screens import queue as queue_module
from gridconsole.console.screens.forms import HolderPicker
from gridconsole.console.screens.queue import QueueScreen
from gridconsole.console.text import one_line
from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.models import Case, CaseAssist, CaseEvent, Unit

from test_queue_keys import console, find, new_received, show_only, state_of, until

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
    after, n = await state_of(demo_db, case["id"])
    assert after["version"] == case["version"] + 1
    async with demo_db.read() as conn:
        notes = (await conn.scalars(select(events.c.note).where(
            events.c.case_id == case["id"], events.c.action == "note"))).all()
    assert "mine" not in notes and "elsewhere" in notes
