"""The audit screen (key 4): newest first, a page at a time, live."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from gridconsole.console.app import GridConsole
from gridconsole.console.messages import DataChanged
from gridconsole.console.screens.audit import PAGE, AuditScreen
from gridconsole.db import workflow
from gridconsole.db.engine import Database
from gridconsole.db.i18n import set_language
from gridconsole.db.lifecycle import Refused
from gridconsole.db.models import Case
from gridconsole.db.operators import authenticate, reveal_phone
from gridconsole.db.workflow import audit_write, load_actor

from conftest import later
from test_login import settle


async def _history(db) -> None:
    """A few minutes at the center: logins, a refusal, a reveal for a callback."""
    with pytest.raises(Refused):
        await authenticate(db, "street01", "nope")
    later(minutes=1)
    await authenticate(db, "street01", "gridconsole")
    wall = await load_actor(db, "wall")
    cases = Case.__table__
    async with db.read() as conn:
        resolved = await conn.scalar(select(cases.c.id).where(cases.c.state == "resolved")
                                     .order_by(cases.c.id).limit(1))
    later(minutes=1)
    with pytest.raises(Refused):
        await workflow.supervise(db, wall, resolved, note="督办")
    later(minutes=1)
    officer = await load_actor(db, "demo")
    await workflow.note(db, officer, resolved, note="[b]现场核实[/b]\x1b[31m")  # shown literally
    await reveal_phone(db, officer, resolved)


def _console(url: str, actor) -> GridConsole:
    app = GridConsole(url, actor, watch=False)
    app.animation_level = "none"
    return app


async def _open(app, pilot) -> AuditScreen:
    await pilot.press("4")
    await settle(pilot, "audit")
    await pilot.pause()
    assert isinstance(app.screen, AuditScreen)
    return app.screen


def _keys(screen) -> list[int]:
    table = screen.query_one("DataTable")
    return [int(row.key.value) for row in table.ordered_rows]


async def test_newest_first_and_scoped_to_the_reader(demo_db, demo_url, officer):
    await _history(demo_db)
    app = _console(demo_url, officer)
    async with app.run_test() as pilot:
        screen = await _open(app, pilot)
        keys = _keys(screen)
        assert keys == sorted(keys, reverse=True) and len(keys) == 5
    street01 = await load_actor(demo_db, "street01")
    app = _console(demo_url, street01)
    async with app.run_test() as pilot:
        screen = await _open(app, pilot)
        whos = {r.operator_code for r in screen._rows}
        assert whos == {"street01"} and len(screen._rows) == 2


async def _fill(db, actor, count: int) -> None:
    async with db.write() as conn:
        for n in range(count):
            await audit_write(conn, actor, "login", detail=f"#{n}")


async def test_pages_and_live_updates(demo_db, demo_url, officer):
    await _fill(demo_db, officer, PAGE + 30)
    app = _console(demo_url, officer)
    async with app.run_test() as pilot:
        screen = await _open(app, pilot)
        first = _keys(screen)
        assert len(first) == PAGE
        await pilot.press("down", "down")
        cursor = first[2]

        await _fill(demo_db, officer, 1)  # another terminal writes
        screen.post_message(DataChanged())
        await settle(pilot, "audit")
        await pilot.pause()
        keys = _keys(screen)
        assert keys[0] == first[0] + 1
        table = screen.query_one("DataTable")
        assert int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value) == cursor

        await pilot.press("right_square_bracket")
        await settle(pilot, "audit")
        await pilot.pause()
        older = _keys(screen)
        assert len(older) == 31 and older[0] == keys[-1] - 1
        await pilot.press("right_square_bracket")  # no page beyond the last
        await settle(pilot, "audit")
        assert _keys(screen) == older
        await pilot.press("left_square_bracket")
        await settle(pilot, "audit")
        await pilot.pause()
        assert _keys(screen) == keys


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_audit_snapshot(demo_url, snap_compare, lang):
    async def prepare() -> object:
        db = Database(demo_url)
        try:
            await _history(db)
            return await load_actor(db, "demo")
        finally:
            await db.dispose()

    officer = asyncio.run(prepare())
    set_language(lang)
    assert snap_compare(_console(demo_url, officer), press=["4"], terminal_size=(100, 24))
