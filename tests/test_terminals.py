"""Many terminals on one database: a change committed through one console is
on the other's screen within 2 seconds (SQLite change detector, or
PostgreSQL LISTEN/NOTIFY when GRIDCONSOLE_TEST_PG is set)."""
from __future__ import annotations

import time

from sqlalchemy import select

from gridconsole.console.app import GridConsole
from gridconsole.console.messages import DataChanged
from gridconsole.db import workflow
from gridconsole.db.domain import Channel
from gridconsole.db.engine import Database
from gridconsole.db.feed import run_feed
from gridconsole.db.models import Category, Unit

from test_feed import inconsistent_cases

NOTICE_S = 2.0


async def _settled(pilot, app) -> None:
    for _ in range(100):
        if app.headline is not None:
            return
        await pilot.pause(0.05)
    raise AssertionError("the console never showed its headline")


async def _noticed(pilot, app, received: int, seen: list) -> float:
    started = time.monotonic()
    while time.monotonic() - started < NOTICE_S + 1:
        if app.headline.received == received and seen:
            return time.monotonic() - started
        await pilot.pause(0.05)
    raise AssertionError(f"not noticed: headline {app.headline}, DataChanged {len(seen)}")


def _listen(app) -> list:
    """DataChanged messages reaching ``app``'s screens, recorded."""
    seen: list = []
    original = app.screen.post_message

    def post(message):
        if isinstance(message, DataChanged):
            seen.append(message)
        return original(message)

    app.screen.post_message = post
    return seen


async def test_two_consoles_see_each_others_changes(demo_url, officer):
    one, two = GridConsole(demo_url, officer), GridConsole(demo_url, officer)
    async with one.run_test() as first, two.run_test() as second:
        await _settled(first, one)
        await _settled(second, two)
        await first.pause(1.0)  # both watchers running
        received = two.headline.received
        seen_two = _listen(two)
        case_id = await workflow.receive(
            one.db, officer, channel=Channel.HOTLINE, source_ref="TERM-1",
            category_id=await _id(one.db, Category, Category.code == "wm_zdjy"),
            urgency="normal", content="两台终端测试", address="潮海街道")
        took = await _noticed(second, two, received + 1, seen_two)
        assert took < NOTICE_S
        # …and the other way round: the second console dispatches, the first sees it.
        seen_one = _listen(one)
        unit = await _id(two.db, Unit, Unit.kind == "community")
        await workflow.dispatch(two.db, officer, case_id, unit_id=unit)
        took = await _noticed(first, one, received, seen_one)
        assert took < NOTICE_S


async def test_a_console_beside_the_feed(demo_url, officer):
    console = GridConsole(demo_url, officer)
    async with console.run_test() as pilot:
        await _settled(pilot, console)
        await pilot.pause(0.5)
        seen = _listen(console)
        feed_db = Database(demo_url)  # the feed is another terminal
        try:
            stats = await run_feed(feed_db, rate=600, duration=3, seed=5)
        finally:
            await feed_db.dispose()
        await pilot.pause(1.5)
        assert sum(stats.done.values()) > 0 and seen
        assert await inconsistent_cases(console.db) == []


async def _id(db, model, condition) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(model.id).where(condition).order_by(model.id).limit(1))
