"""Opening databases, the command line's contracts, and the house rules."""
from __future__ import annotations

import ast
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from gridconsole.db import i18n
from gridconsole.db.models import Case

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gridconsole.console"]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, env=env)


def test_db_never_imports_textual_or_console():
    for path in (ROOT / "db").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            for name in names:
                assert not name.startswith(("textual", "rich", "gridconsole.console")), (path, name)
                assert not (name.startswith("..") and "console" in name), (path, name)


def test_every_string_has_both_languages():
    import gridconsole.console.cli as cli

    cli.build_parser()  # imports every subcommand module, so their catalogs register
    import gridconsole.console.app  # noqa: F401  (and every screen)

    entries = i18n.all_entries()
    assert len(entries) > 100
    for key, (zh, en) in entries.items():
        assert zh.strip() and en.strip(), key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) or not any(c.isalpha() for c in zh), key


def test_refuses_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("这不是数据库 " * 200, encoding="utf-8")
    done = run_cli("--db", f"sqlite+aiosqlite:///{path}", "db", "upgrade")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_refuses_a_foreign_database(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    done = run_cli("--db", f"sqlite+aiosqlite:///{path}", "--lang", "en", "db", "upgrade")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gridconsole: This database is not a gridconsole database (it holds other tables); refusing to open it"]
    with sqlite3.connect(path) as conn:  # and it was left untouched
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "new.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert run_cli("--db", url, "db", "upgrade").returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    done = run_cli("--db", url, "db", "upgrade")
    assert done.returncode == 2 and "9999_future" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_empty_database_gets_the_schema(tmp_path):
    path = tmp_path / "empty.db"
    done = run_cli("--db", f"sqlite+aiosqlite:///{path}", "db", "upgrade")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"cases", "case_events", "units", "operators", "audit_log"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_usage_is_one_line_and_exit_2():
    done = run_cli("seed", "--demo", "--months", "-1")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    done = run_cli("--db", "nosuchdriver://x", "db", "upgrade")
    assert done.returncode == 2 and "Traceback" not in done.stderr


_WORKER = r"""
import asyncio, sys
from sqlalchemy import select, update
from gridconsole.db.engine import Database
from gridconsole.db.models import Case

async def main(url, n):
    db = Database(url)
    for _ in range(n):
        async with db.write() as conn:   # read, then write from what was read
            value = await conn.scalar(select(Case.supervise_count).where(Case.id == 1))
            await conn.execute(update(Case).where(Case.id == 1).values(supervise_count=value + 1))
    await db.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.skipif(__import__("os").environ.get("GRIDCONSOLE_TEST_PG") is not None,
                    reason="the SQLite locking contract; PostgreSQL has its own test")
def test_two_processes_lose_no_update(demo_url):
    """DESIGN.md §8: 2 processes × 200 read-then-write transactions on one file."""
    with sqlite3.connect(demo_url.split("///", 1)[1]) as conn:
        conn.execute("UPDATE cases SET supervise_count = 0 WHERE id = 1")
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, demo_url, "200"]) for _ in range(2)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    with sqlite3.connect(demo_url.split("///", 1)[1]) as conn:
        assert conn.execute("SELECT supervise_count FROM cases WHERE id = 1").fetchone()[0] == 400


async def test_version_guard_on_any_engine(demo_db, officer):
    """Read-then-write through the workflow from two connections never loses one."""
    import asyncio

    from gridconsole.db.engine import Database
    from gridconsole.db.lifecycle import Refused
    from gridconsole.db.workflow import note

    other = Database(str(demo_db.url.render_as_string(hide_password=False)))
    async with demo_db.read() as conn:
        start = await conn.scalar(select(Case.version).where(Case.id == 1))
    wins = refusals = 0

    async def officer_loop(db):
        nonlocal wins, refusals
        for i in range(25):
            async with db.read() as conn:
                seen = await conn.scalar(select(Case.version).where(Case.id == 1))
            try:
                await note(db, officer, 1, note=f"n{i}", version=seen)
                wins += 1
            except Refused:
                refusals += 1

    await asyncio.gather(officer_loop(demo_db), officer_loop(other))
    await other.dispose()
    async with demo_db.read() as conn:
        end = await conn.scalar(select(Case.version).where(Case.id == 1))
    assert end - start == wins and wins + refusals == 50


def test_every_package_is_installed():
    """A package missing from pyproject.toml works in the editable install and
    vanishes from a built wheel: keep the list and the folders equal."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"gridconsole." + ".".join(p.parent.relative_to(ROOT).parts)
             for top in ("db", "console") for p in (ROOT / top).rglob("__init__.py")}
    assert listed == found


async def test_migrations_build_exactly_the_models(db):
    """Upgraded to head, the database matches db/models.py: nothing for a
    future autogenerate to add or drop."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from gridconsole.db.models import Base

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    assert diff == []


def test_schema_head_constant_is_alembics_head():
    from gridconsole.db.schema import SCHEMA_HEAD, head_revision

    assert SCHEMA_HEAD == head_revision()
