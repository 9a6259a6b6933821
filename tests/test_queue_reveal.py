"""The keys that leave the queue's usual path: the audited reveal of a
caller's number for the callback (issue 7), and the jump to a case's grid."""
from __future__ import annotations

from sqlalchemy import select

from gridconsole.db.models import AuditEntry, Case

from test_queue_keys import console, find, show_only, until

cases = Case.__table__


async def _audit(db, what):
    async with db.read() as conn:
        return (await conn.execute(select(AuditEntry.operator_code, AuditEntry.case_id, AuditEntry.ok)
                                   .where(AuditEntry.what == what))).all()


async def test_reveal_for_the_callback_is_audited(demo_db, demo_url):
    waiting = await find(demo_db, cases.c.state == "resolved", cases.c.reporter_phone.is_not(None))
    app = await console(demo_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await show_only(app, pilot, waiting["id"])
        await until(pilot, lambda: app.screen.check_action("reveal", ()) is True)
        await pilot.press("p")
        await until(pilot, lambda: any(waiting["reporter_phone"] in str(n.message)
                                       for n in app._notifications))
    assert await _audit(demo_db, "reveal") == [("demo", waiting["id"], True)]


async def test_no_reveal_outside_the_callback_or_the_role(demo_db, demo_url):
    held = await find(demo_db, cases.c.state == "in_progress", cases.c.reporter_phone.is_not(None))
    app = await console(demo_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await show_only(app, pilot, held["id"])
        assert app.screen.check_action("reveal", ()) is False
        await pilot.press("p")
        await pilot.pause(0.3)
        assert not any(held["reporter_phone"] in str(n.message) for n in app._notifications)
    supervisor = await console(demo_url, "duban")
    waiting = await find(demo_db, cases.c.state == "resolved", cases.c.reporter_phone.is_not(None))
    async with supervisor.run_test(size=(160, 48)) as pilot:
        await show_only(supervisor, pilot, waiting["id"])
        assert supervisor.screen.check_action("reveal", ()) is False
    assert await _audit(demo_db, "reveal") == []


async def test_g_jumps_to_the_cases_grid(demo_db, demo_url):
    from gridconsole.console.screens.grid import GridScreen

    case = await find(demo_db, cases.c.state == "in_progress", cases.c.grid_id.is_not(None))
    app = await console(demo_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await show_only(app, pilot, case["id"])
        await pilot.press("g")

        def on_the_grid() -> bool:
            screen = app.screen
            node = isinstance(screen, GridScreen) and screen.tree.cursor_node
            return bool(node) and node.data is not None and node.data.ref == ("area", case["grid_id"])

        await until(pilot, on_the_grid, timeout=10)
