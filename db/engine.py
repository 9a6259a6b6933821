"""Opening a database: engine settings that are correct under concurrency.

SQLite: WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for write
transactions, so a read-then-write never loses an update to another process
(DESIGN.md §8).  PostgreSQL: the same code through asyncpg, with NOTIFY on
every write so other terminals refresh at once.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .i18n import catalog
from .lifecycle import Refused

BUSY_TIMEOUT_S = 10
WAIT_NOTICE_S = 0.5   # a write not begun after this long is waiting for another writer
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


class Unavailable(Refused):
    """The database cannot do it now: locked past the busy timeout, read-only,
    full, or the server gone.  A refusal like any other, so every caller that
    reports refusals reports this one line too; the transaction was rolled back."""


class Database:
    """One engine, and the two ways to use it: ``read()`` and ``write()``."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        #: Called with True when a write has waited WAIT_NOTICE_S for the
        #: database (another writer holds it), and with False once it got it.
        self.on_wait: Callable[[bool], None] | None = None
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
            # Times are stored as UTC without a zone: a session in another
            # zone (a server set to Asia/Shanghai) would shift any compare
            # with a zoned value by hours.
            self.engine = create_async_engine(self.url, pool_size=pool_size,
                                              connect_args={"server_settings": {"timezone": "UTC"}},
                                              pool_pre_ping=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._connection() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on error."""
        waiting = _WaitNotice(self.on_wait)
        try:
            async with self._connection() as conn:
                conn = await conn.execution_options(write=True)
                async with conn.begin():  # SQLite: BEGIN IMMEDIATE waits here for the lock
                    waiting.over()
                    yield conn
                    if not self.is_sqlite:
                        await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
        finally:
            waiting.over()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection; a database that cannot serve now raises
        ``Unavailable`` instead of a driver error."""
        connected = False
        try:
            async with self.engine.connect() as conn:
                connected = True
                yield conn
        except DBAPIError as exc:
            raise _unavailable(exc) from exc
        except OSError as exc:
            if connected:  # the caller's own (a file it writes), not ours
                raise
            raise Unavailable("db.lost") from exc  # asyncpg: no server (restarting?)

    async def dispose(self) -> None:
        await self.engine.dispose()

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)


class _WaitNotice:
    """Calls ``on_wait(True)`` if not over within WAIT_NOTICE_S, and
    ``on_wait(False)`` when over after that."""

    def __init__(self, on_wait: Callable[[bool], None] | None) -> None:
        self._on_wait, self._noticed = on_wait, False
        self._timer = (asyncio.get_running_loop().call_later(WAIT_NOTICE_S, self._notice)
                       if on_wait else None)

    def _notice(self) -> None:
        self._noticed = True
        self._on_wait(True)

    def over(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            if self._noticed:
                self._on_wait(False)


def _unavailable(exc: DBAPIError) -> Exception:
    """The one-line refusal for a database that cannot serve now, or ``exc``
    itself for anything else (a bug must still show as one)."""
    message = str(exc.orig).lower()
    for words, key in ((("locked", "busy"), "db.busy"), (("readonly", "read-only"), "db.readonly"),
                       (("disk is full", "disk full"), "db.full"),
                       (("unable to open", "disk i/o"), "db.unreadable")):
        if any(w in message for w in words):
            return Unavailable(key, s=BUSY_TIMEOUT_S)
    if exc.connection_invalidated or isinstance(exc, InterfaceError) or any(
            w in message for w in ("connection", "shutting down", "terminating")):
        return Unavailable("db.lost")
    return exc


def _sqlite_setup(engine: AsyncEngine) -> None:
    sync = engine.sync_engine
    # A task cancelled twice in the middle of a statement (a worker when the
    # console quits) has SQLAlchemy "terminate" its connection: aiosqlite 0.22's
    # close() in a shielded task, then its stop() on the second cancel.  The
    # close then waits forever for a second stop that the connection's thread,
    # gone after the first, never answers, and the process cannot exit.
    # A plain close stops the thread once.
    sync.dialect.do_terminate = sync.dialect.do_close

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


catalog({
    "db.waiting": ("正在等待数据库：另一终端正在写入……", "Waiting for the database: another terminal is writing…"),
    "db.busy": ("数据库被另一终端占用超过{s}秒，本次操作未执行，请稍后重试",
                "The database was held by another writer for over {s} s; nothing was done, try again"),
    "db.readonly": ("数据库为只读，无法写入；本次操作未执行", "The database is read-only; nothing was done"),
    "db.full": ("磁盘已满，写入已停止；已提交的部分完整保留，腾出空间后重做即可补齐",
                "The disk is full; writing stopped, what was committed is whole, redo it once there is room"),
    "db.unreadable": ("无法读写数据库文件（权限或磁盘错误）", "The database file cannot be read or written (permissions or disk)"),
    "db.lost": ("与数据库的连接中断，请稍后重试（结果以刷新后为准）",
                "The connection to the database was lost; try again (refresh to see what was saved)"),
})
