"""``gridconsole seed --demo``: build the demo command center."""
from __future__ import annotations

import argparse
import time
from datetime import datetime

from ...db.i18n import catalog, t
from ..cli import UsageError, open_database
from ..progress import progress_bar


def add_parser(sub, common) -> None:
    parser = sub.add_parser("seed", parents=[common], help="fill an empty database with the demo district")
    parser.add_argument("--demo", action="store_true", required=True, help="the demo district (required)")
    parser.add_argument("--months", type=float, default=12, help="months of history (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same data")
    parser.add_argument("--until", help="end of the history, ISO date-time (default: the current hour)")
    parser.add_argument("--cases-per-month", type=int, default=30_000, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


async def run(args) -> int:
    from ...db.demo.seed import seed_demo

    if args.months <= 0:
        raise UsageError(t("seed.months"))
    until = None
    if args.until:
        try:
            until = datetime.fromisoformat(args.until)
        except ValueError:
            raise UsageError(t("seed.until", value=args.until)) from None
    db = await open_database(args)
    started = time.monotonic()
    try:
        with progress_bar(t("seed.progress")) as update:
            count = await seed_demo(db, months=args.months, seed=args.seed, until=until,
                                    cases_per_month=args.cases_per_month,
                                    progress=lambda _, done, total: update(done, total))
    finally:
        await db.dispose()
    print(t("seed.done", count=f"{count:,}", seconds=f"{time.monotonic() - started:.0f}",
            url=db.describe()))
    return 0


catalog({
    "seed.months": ("--months 必须大于 0", "--months must be greater than 0"),
    "seed.until": ("--until 不是有效的时间：{value}", "--until is not a date-time: {value}"),
    "seed.progress": ("生成演示工单", "Generating demo cases"),
    "seed.done": ("已生成 {count} 件演示工单，用时 {seconds} 秒：{url}",
                  "Generated {count} demo cases in {seconds} s: {url}"),
})
