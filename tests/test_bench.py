"""``gridconsole bench --quick`` keeps working as screens land: every figure is
in its JSON, as numbers or with the reason it is not available.  No timing is
asserted here (a shared CI machine's timings say nothing)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from gridconsole.console.benchmark.run import FIGURES, TARGETS
from gridconsole.db.bench import BENCH_REF

PG_URL = os.environ.get("GRIDCONSOLE_TEST_PG")


@pytest.mark.skipif(bool(PG_URL), reason="the quick benchmark builds its own SQLite database")
def test_quick_bench_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
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
    with sqlite3.connect(tmp_path / "bench.db") as conn:
        left = conn.execute("SELECT count(*) FROM cases WHERE source_ref LIKE ?",
                            (BENCH_REF + "%",)).fetchone()[0]
    assert left == 0

