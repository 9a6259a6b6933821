"""Large imports: 100,000 rows against a bare executemany of the same rows,
and an import killed with SIGKILL halfway, then run again."""
from __future__ import annotations

import asyncio
import csv
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from gridconsole.db import clock
from gridconsole.db.bulk import insert_rows
from gridconsole.db.engine import Database
from gridconsole.db.intake import import_file
from gridconsole.db.intake.decode import open_text
from gridconsole.db.intake.hotline import read_hotline
from gridconsole.db.intake.validate import Reference, Validator
from gridconsole.db.models import Case, CaseEvent
from gridconsole.db.workflow import receive_event

from conftest import _fresh_url
from test_intake import ZH

cases, events = Case.__table__, CaseEvent.__table__
PLACES = [("潮海街道", "古城社区"), ("龙山街道", "葛村新村"), ("段泊岚镇", "毛家岭村"), ("", "")]
CLI = "import sys; from gridconsole.console.cli import main; sys.exit(main(sys.argv[1:]))"
CATEGORIES = ["占道经营", "wm_hjws", "噪音扰民", "za_zy", "消防隐患", "路灯照明"]


def big_hotline(path: Path, count: int, prefix: str) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(ZH)
        for i in range(count):
            street, community = PLACES[i % len(PLACES)]
            writer.writerow([
                f"{prefix}{i:07d}", f"2026-11-{1 + i % 19:02d} {i % 24:02d}:{i % 60:02d}:{i % 59:02d}",
                f"市民{i % 997}", f"13{i % 10}{i:08d}", CATEGORIES[i % len(CATEGORIES)],
                f"第{i}号诉求：{community or '某路'}附近垃圾堆放，\n请尽快处理",
                f"{street}{community}{i % 40}号楼", street, ("一般", "紧急", "")[i % 3]])
    return path


async def _count(db: Database, prefix: str) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(cases)
                                 .where(cases.c.source_ref.like(f"{prefix}%")))


async def _bare_executemany(url: str, path: Path) -> float:
    """The same rows, validated beforehand, inserted with nothing else: seconds."""
    db = Database(url)
    try:
        validate = Validator(await Reference.load(db), clock.now())
        text, _ = open_text(path)
        with text:
            rows = [validate(record) for record in read_hotline(text)]
        async with db.read() as conn:
            next_id = (await conn.scalar(select(func.max(cases.c.id)))) + 1
        for offset, row in enumerate(rows):
            row["id"] = next_id + offset
        started = time.perf_counter()
        for start in range(0, len(rows), 5000):
            part = rows[start:start + 5000]
            async with db.write() as conn:
                await insert_rows(conn, cases, part)
                await insert_rows(conn, events, [receive_event(r["id"], r, None) for r in part])
        return time.perf_counter() - started
    finally:
        await db.dispose()


async def test_100k_rows_well_under_a_minute(demo_db, demo_template, tmp_path):
    count = 100_000
    path = big_hotline(tmp_path / "big.csv", count, "B")
    started = time.perf_counter()
    result = await import_file(demo_db, path)
    seconds = time.perf_counter() - started
    assert (result.imported, result.rejected) == (count, [])
    assert await _count(demo_db, "B") == count
    bare = await _bare_executemany(_fresh_url(tmp_path, demo_template), path)
    print(f"\nimport: {count:,} rows in {seconds:.1f} s = {count / seconds:,.0f} rows/s; "
          f"bare executemany of the same rows: {bare:.1f} s = {count / bare:,.0f} rows/s "
          f"({'SQLite' if demo_db.is_sqlite else 'PostgreSQL'})")
    assert seconds < 60


async def test_killed_import_run_again_has_every_row_once(demo_db, demo_url, tmp_path):
    count = 40_000
    path = big_hotline(tmp_path / "kill.csv", count, "K")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI, "--db", demo_url, "import", str(path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    seen = 0
    deadline = time.monotonic() + 120
    while seen == 0 and time.monotonic() < deadline and process.returncode is None:
        await asyncio.sleep(0.05)
        seen = await _count(demo_db, "K")
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()
    at_kill = await _count(demo_db, "K")
    assert 0 < at_kill < count, "the import was not caught halfway"
    result = await import_file(demo_db, path)
    assert (result.imported, result.duplicates) == (count - at_kill, at_kill)
    async with demo_db.read() as conn:
        keys = select(cases.c.id).where(cases.c.source_ref.like("K%"))
        distinct = await conn.scalar(select(func.count(func.distinct(cases.c.source_ref)))
                                     .where(cases.c.source_ref.like("K%")))
        logged = await conn.scalar(select(func.count()).select_from(events)
                                   .where(events.c.case_id.in_(keys)))
    assert await _count(demo_db, "K") == distinct == logged == count
