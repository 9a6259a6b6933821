"""``gridconsole bench --quick`` keeps working as screens land: every figure is
in its JSON, as numbers or with the reason it is not available.  No timing is
asserted here (a shared CI machine's timings say nothing)."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from sqlalchemy import func, select

from gridconsole.console.benchmark.run import FIGURES, TARGETS
from gridconsole.db.bench import BENCH_REF, cases
from gridconsole.db.engine import Database


async def _left_behind(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as conn:
            return await conn.scalar(select(func.count()).select_from(cases).where(
                cases.c.source_ref.like(BENCH_REF + "%")))
    finally:
        await db.dispose()


def test_quick_bench_reports_every_figure(tmp_path, db_url):
    """On an empty database of the test backend (SQLite, or PostgreSQL with
    GRIDCONSOLE_TEST_PG), which the benchmark fills with 5,000 demo cases."""
    out, url = tmp_path / "bench.json", db_url
    done = subprocess.run(
        [sys.executable, "-m", "gridconsole.console", "--lang", "en", "bench", "--quick",
         "--cases", "5000", "--runs", "1", "--db", url, "-o", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))

    assert set(FIGURES) <= set(result["figures"])
    for key in FIGURES:
        figure = result["figures"][key]
        if "not_available" in figure:
            assert isinstance(figure["not_available"], str) and figure["not_available"], key
            continue
        assert isinstance(figure["median"], (int, float)), key
        assert figure["runs"] >= 1, key
    assert {row["figure"] for row in result["targets"]} == {t.figure for t in TARGETS}
    for row in result["targets"]:
        assert row["pass"] in (True, False, None)
    assert result["database"]["cases"] > 0
    assert result["machine"]["cpu_count"] >= 1
    assert result["versions"]["textual"] and result["versions"]["sqlalchemy"]
    # The terminal table names every figure.
    for key in FIGURES:
        assert key in done.stdout
    # The cases the dispatch, import and live tests add are removed again.
    assert asyncio.run(_left_behind(url)) == 0

