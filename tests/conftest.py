"""Fixtures: a fresh database per test, on SQLite or on PostgreSQL.

Set ``GRIDCONSOLE_TEST_PG`` to a PostgreSQL URL (``.ci/run`` does) and every
database fixture is a new PostgreSQL database instead of a SQLite file.
The demo district is seeded once per session and copied for each test.
"""
from __future__ import annotations

import asyncio
import os
import io
import shutil
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gridconsole.db import clock
from gridconsole.db.engine import Database
from gridconsole.db.i18n import set_language
from gridconsole.db.schema import upgrade
from gridconsole.db.scope import Actor
from gridconsole.db.workflow import load_actor

#: How long a test's event loop waits, at teardown, for tasks that ignore
#: cancellation.
TEARDOWN_WAIT_S = 15


def _cancel_all_tasks_bounded(loop) -> None:
    """asyncio's loop teardown, without waiting forever.

    asyncio cancels every task left when a test's loop closes and waits for
    all of them.  A SQLite connection whose statement was cancelled twice
    used to be closed twice by SQLAlchemy's ``terminate()`` (aiosqlite's
    ``close()``, shielded, then ``stop()``), and the close then waited
    forever: three of seven CI runs hung after a console test, and so did
    the console on quit.  ``db/engine.py`` now closes such connections
    plainly (``tests/test_cancel.py``); this bound stays as a guard, and a
    task still pending after it is named with its stack in the warnings
    summary, then left behind.
    """
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if not pending:
        return
    done, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=TEARDOWN_WAIT_S))
    for task in stuck:
        stack = io.StringIO()
        task.print_stack(file=stack)
        warnings.warn(f"a task ignored cancellation at loop teardown: {stack.getvalue()}",
                      RuntimeWarning, stacklevel=1)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception at loop teardown",
                                         "exception": task.exception(), "task": task})


asyncio.runners._cancel_all_tasks = _cancel_all_tasks_bounded

PG_URL = os.environ.get("GRIDCONSOLE_TEST_PG")
#: The demo history used by tests ends here; the test clock starts here too.
DEMO_UNTIL = datetime.fromisoformat("2026-11-20T10:00:00+08:00")
DEMO_KW = dict(months=2, seed=7, cases_per_month=1500, until=DEMO_UNTIL, workers=0)


def _run(coro):
    """Run ``coro`` to completion, also from inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_exec(sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    """Chinese interface, a fixed clock, and commands logged in as the demo
    district officer, unless a test says otherwise."""
    monkeypatch.setenv("GRIDCONSOLE_OPERATOR", "demo")
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "gridconsole")
    set_language("zh")
    clock.set_clock(lambda: clock.as_utc(DEMO_UNTIL))
    yield
    clock.set_clock(None)
    set_language("zh")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> str:
    """A seeded demo district, made once: a SQLite file or a PostgreSQL template."""
    from gridconsole.db.demo.seed import seed_demo

    async def build(url: str) -> None:
        db = Database(url)
        await upgrade(db)
        await seed_demo(db, **DEMO_KW)
        await db.dispose()

    if PG_URL:
        name = f"gc_demo_{uuid.uuid4().hex[:8]}"
        _run(_pg_exec(f'CREATE DATABASE "{name}"'))
        _run(build(_pg_url(name)))
        return name
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    _run(build(f"sqlite+aiosqlite:///{path}"))
    return str(path)


def _fresh_url(tmp_path: Path, template: str | None = None) -> str:
    if PG_URL:
        name = f"gc_{uuid.uuid4().hex[:10]}"
        suffix = f' TEMPLATE "{template}"' if template else ""
        _run(_pg_exec(f'CREATE DATABASE "{name}"{suffix}'))
        return _pg_url(name)
    path = tmp_path / f"{uuid.uuid4().hex[:8]}.db"
    if template:
        shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def db_url(tmp_path) -> str:
    """An empty database (schema not yet created)."""
    return _fresh_url(tmp_path)


@pytest.fixture
def demo_url(tmp_path, demo_template) -> str:
    """A private copy of the seeded demo district."""
    return _fresh_url(tmp_path, demo_template)


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


@pytest.fixture
async def demo_db(demo_url):
    database = Database(demo_url)
    yield database
    await database.dispose()


@pytest.fixture
async def officer(demo_db) -> Actor:
    """The demo district duty officer."""
    return await load_actor(demo_db, "demo")


def later(**delta) -> None:
    """Move the test clock forward."""
    now = clock.now()
    clock.set_clock(lambda: now + timedelta(**delta))
