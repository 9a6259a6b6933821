"""Opening a database: engine settings that are correct under concurrency.

SQLite: WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for write
transactions, so a read-then-write never loses an update to another process
(DESIGN.md §8).  PostgreSQL: the same code through asyncpg, with NOTIFY on
every write so other terminals refresh at once.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

BUSY_TIMEOUT_S = 10
NOTIFY_CHANNEL = "gridconsole"


def default_url() -> str:
    """``GRIDCONSOLE_DB``, else a SQLite file in the user data directory."""
    if url := os.environ.get("GRIDCONSOLE_DB"):
        return url
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("gridconsole", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'gridconsole.db'}"


class CannotOpen(Exception):
    """The database cannot be opened as given (exit code 2)."""


class Database:
    """One engine, and the two ways to use it: ``read()`` and ``write()``."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        try:
            self.url = make_url(url)
            self._create(pool_size)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise CannotOpen(f"{url}: {str(exc).splitlines()[0]}") from None

    def _create(self, pool_size: int) -> None:
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            path = self.url.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                self.url, connect_args={"timeout": BUSY_TIMEOUT_S})
            _sqlite_setup(self.engine)
        else:
            self.engine = create_async_engine(self.url, pool_size=pool_size,
                                              pool_pre_ping=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on error."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(write=True)
            async with conn.begin():
                yield conn
                if not self.is_sqlite:
                    await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})

    async def dispose(self) -> None:
        await self.engine.dispose()

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)


def _sqlite_setup(engine: AsyncEngine) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 10000")  # = BUSY_TIMEOUT_S
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        # 64 MiB of page cache per connection (the default is 2 MiB): the indexes
        # of a year of cases are hundreds of MB, and imports touch all of them.
        cur.execute("PRAGMA cache_size = -65536")
        cur.close()

    @event.listens_for(sync, "begin")
    def _begin(conn):
        write = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
