"""Noticing other terminals' commits cheaply.

SQLite: ``PRAGMA data_version`` on a dedicated connection changes whenever
another connection commits.  PostgreSQL: every write transaction NOTIFYs
(db/engine.py) and a dedicated asyncpg connection LISTENs.
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

from .engine import NOTIFY_CHANNEL, Database

POLL_S = 0.4


async def changes(db: Database, poll: float = POLL_S) -> AsyncIterator[None]:
    """Yield once per burst of commits by other connections, forever."""
    if db.is_sqlite:
        async for _ in _sqlite_changes(db, poll):
            yield
    else:
        async for _ in _pg_changes(db, poll):
            yield


async def _sqlite_changes(db: Database, poll: float) -> AsyncIterator[None]:
    path = db.url.database
    conn = await asyncio.to_thread(sqlite3.connect, path, check_same_thread=False)
    try:
        def version() -> int:
            return conn.execute("PRAGMA data_version").fetchone()[0]

        seen = await asyncio.to_thread(version)
        while True:
            await asyncio.sleep(poll)
            try:
                current = await asyncio.to_thread(version)
            except sqlite3.OperationalError:  # locked for longer than usual: try again
                continue
            if current != seen:
                seen = current
                yield
    finally:
        conn.close()


async def _pg_changes(db: Database, poll: float) -> AsyncIterator[None]:
    import asyncpg

    url = db.url.set(drivername="postgresql")
    event = asyncio.Event()
    while True:
        try:
            conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(2)  # the server is restarting: keep trying
            continue
        try:
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: event.set())
            yield  # we may have missed commits while (re)connecting
            while not conn.is_closed():
                try:
                    await asyncio.wait_for(event.wait(), timeout=5)
                except asyncio.TimeoutError:
                    await conn.execute("SELECT 1")  # notices a dead connection
                    continue
                await asyncio.sleep(poll)  # gather a burst into one refresh
                event.clear()
                yield
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await asyncio.sleep(1)
        finally:
            if not conn.is_closed():
                await conn.close()
