"""A task cancelled in the middle of a SQLite statement, twice (a worker when
the console quits: its screen cancels it, then the app), leaves nothing
behind that waits forever: before the fix, the console never exited."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from gridconsole.db.engine import Database

from conftest import PG_URL

LONG = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000000) "
        "SELECT count(*) FROM n")


@pytest.mark.skipif(PG_URL is not None, reason="the aiosqlite driver's close")
async def test_a_statement_cancelled_twice_lets_everything_finish(db_url):
    db = Database(db_url)

    async def long_read():
        async with db.read() as conn:
            await conn.execute(text(LONG))

    reading = asyncio.create_task(long_read())
    await asyncio.sleep(0.3)  # in the statement
    reading.cancel()
    await asyncio.sleep(0.05)
    reading.cancel()
    await asyncio.wait([reading], timeout=30)
    await db.dispose()
    others = asyncio.all_tasks() - {asyncio.current_task()}
    _, stuck = await asyncio.wait(others, timeout=30) if others else (None, set())
    assert reading.done() and not stuck, stuck
