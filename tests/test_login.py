"""The login screen: what an operator sees before anything else."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from textual.worker import WorkerState

from gridconsole.console.app import GridConsole
from gridconsole.console.screens.login import LoginScreen
from gridconsole.db.i18n import set_language
from gridconsole.db.models import AuditEntry

audit = AuditEntry.__table__


async def settle(pilot, group: str) -> None:
    """Wait until the workers of ``group`` are done.  (Not wait_for_complete:
    that raises when another screen's exclusive worker is replaced.)"""
    for _ in range(250):
        await pilot.pause()
        if not any(w.group == group and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in pilot.app.workers):
            break
        await asyncio.sleep(0.02)
    await pilot.pause()


def _console(url: str) -> GridConsole:
    app = GridConsole(url, None, watch=False)
    app.animation_level = "none"
    return app


async def _type_login(app, pilot, code: str, password: str, *, keys: bool = False) -> None:
    """Fill the form (``keys``: one key press at a time) and submit it."""
    codes = app.screen.query_one("#login-code")
    codes.value = ""
    if keys:
        await pilot.click("#login-code")
        await pilot.press(*code, "enter", *password, "enter")
    else:
        codes.value = code
        app.screen.query_one("#login-password").value = password
        app.screen.query_one("#login-password").focus()
        await pilot.press("enter")
    await settle(pilot, "login")
    await pilot.pause()


def _error(app) -> str:
    return str(app.screen.query_one("#login-error").render())


async def test_good_login_opens_the_console(demo_url):
    app = _console(demo_url)
    async with app.run_test() as pilot:
        assert isinstance(app.screen, LoginScreen) and app.actor is None
        await pilot.press("1", "4")  # mode keys type into the field, they open nothing
        assert isinstance(app.screen, LoginScreen)
        await _type_login(app, pilot, "street01", "gridconsole", keys=True)
        assert not isinstance(app.screen, LoginScreen)
        assert app.actor.code == "street01" and app.headline is not None
    async with app.db.read() as conn:
        assert (await conn.execute(select(audit.c.operator_code, audit.c.what, audit.c.ok))
                ).all() == [("street01", "login", True)]


async def test_wrong_password_says_so_in_one_line(demo_url):
    app = _console(demo_url)
    async with app.run_test() as pilot:
        await _type_login(app, pilot, "street01", "nope")
        assert isinstance(app.screen, LoginScreen)
        assert _error(app) == "操作员代码或密码错误"
        assert app.screen.query_one("#login-password").value == ""
        assert app.screen.focused.id == "login-password"
        await _type_login(app, pilot, "nobody", "gridconsole")
        assert _error(app) == "操作员代码或密码错误"  # unknown codes are not confirmed


async def test_five_wrong_passwords_lock_the_account(demo_url):
    app = _console(demo_url)
    async with app.run_test() as pilot:
        for _ in range(5):
            await _type_login(app, pilot, "dept-zhzf", "guess")
        assert "锁定" in _error(app)
        await _type_login(app, pilot, "dept-zhzf", "gridconsole")
        assert "锁定" in _error(app) and app.actor is None


async def test_an_empty_database_says_how_to_begin(db_url):
    from gridconsole.db.engine import Database
    from gridconsole.db.schema import upgrade

    database = Database(db_url)
    await upgrade(database)
    await database.dispose()
    app = _console(db_url)
    async with app.run_test():
        assert "operator add" in _error(app)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_login_snapshot(demo_url, snap_compare, lang):
    set_language(lang)

    async def wrong_password(pilot) -> None:
        await _type_login(pilot.app, pilot, "street01", "nope")

    assert snap_compare(_console(demo_url), run_before=wrong_password)
