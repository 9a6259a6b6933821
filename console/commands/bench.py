"""``gridconsole bench``: the console's speed at district scale, each figure
against a floor measured in the same run (docs/benchmark.md)."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from ...db.i18n import catalog, t
from ..cli import UsageError

QUICK_CASES = 10_000   # builds cleanly with bench.UNTIL (see docs/benchmark.md: the demo generator)
DEMO_OPERATOR = "demo"


def add_parser(sub, common) -> None:
    parser = sub.add_parser("bench", parents=[common],
                            help="benchmark at district scale (writes to the database it measures)")
    parser.add_argument("--cases", type=int, default=None,
                        help="size of the database to build or reuse (default 1000000; --quick 10000)")
    parser.add_argument("--quick", action="store_true", help="small database, few runs: seconds")
    parser.add_argument("--runs", type=int, default=None, help="measured runs per figure (default 7; --quick 2)")
    parser.add_argument("-o", "--output", metavar="FILE.json", help="write every figure as JSON")
    parser.set_defaults(func=run)


def bench_url(cases: int) -> str:
    """The benchmark's own SQLite file for a size, in the user cache directory."""
    from platformdirs import user_cache_dir

    folder = Path(user_cache_dir("gridconsole", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / f'bench-{cases}.db'}"


async def run(args) -> int:
    from ...db import bench
    from ...db.engine import Database
    from ...db.schema import upgrade
    from ...db.workflow import load_actor
    from ..benchmark.run import machine, measure, plan, table, versions

    cases = args.cases or (QUICK_CASES if args.quick else 1_000_000)
    if cases < 1_000 or (args.runs is not None and args.runs < 1):
        raise UsageError(t("bench.usage"))
    url = args.db or bench_url(cases)
    if args.db is None and not Path(_path(url)).exists():
        # Built under another name and renamed: an interrupted build is never reused.
        part = url + ".part"
        Path(_path(part)).unlink(missing_ok=True)
        await _build(part, cases)
        os.replace(_path(part), _path(url))
    db = Database(url)
    try:
        await upgrade(db)
        if not await bench.case_count(db):
            await _build(url, cases)
        database = await bench.describe(db)
        print(t("bench.measuring", cases=f"{database['cases']:,}", url=database["url"]))
        actor = await load_actor(db, args.operator or DEMO_OPERATOR)
        with tempfile.TemporaryDirectory(prefix="gridconsole-bench-") as workdir:
            result = await measure(db, actor, url, plan(args.quick, args.runs), Path(workdir),
                                   step=lambda name: print(t("bench.step", step=name), flush=True))
    finally:
        await db.dispose()
    result = {"quick": args.quick, "machine": machine(), "versions": versions(),
              "database": database, **result}
    print(table(result))
    if args.output:
        Path(args.output).write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str),
                                     encoding="utf-8")
        print(t("bench.written", path=args.output))
    return 0


def _path(url: str) -> str:
    return url.removeprefix("sqlite+aiosqlite:///")


async def _build(url: str, cases: int) -> None:
    from ...db import bench
    from ...db.engine import Database
    from ...db.schema import upgrade
    from ..progress import progress_bar

    db = Database(url)
    try:
        await upgrade(db)
        print(t("bench.building", cases=f"{cases:,}", url=db.describe()))
        started = time.monotonic()
        with progress_bar(t("seed.progress")) as update:
            await bench.build(db, cases, progress=lambda _, done, total: update(done, total))
        print(t("bench.built", seconds=f"{time.monotonic() - started:.0f}"))
    finally:
        await db.dispose()


catalog({
    "bench.usage": ("--cases 至少 1000，--runs 至少 1", "--cases must be at least 1000 and --runs at least 1"),
    "bench.building": ("生成基准数据库：约 {cases} 件工单 → {url}",
                       "Building the benchmark database: about {cases} cases → {url}"),
    "bench.built": ("已生成，用时 {seconds} 秒", "Built in {seconds} s"),
    "bench.measuring": ("测量：{cases} 件工单，{url}（会写入该数据库）",
                        "Measuring: {cases} cases, {url} (this writes to it)"),
    "bench.step": ("· 测量 {step}", "· measuring {step}"),
    "bench.written": ("结果已写入 {path}", "Results written to {path}"),
})
