"""``gridconsole report weekly|monthly [--period 2026-W47|2026-11]
[--format text|md|csv|json|xlsx] [-o FILE] [--operator CODE]``: the 周调度通报 /
月通报 (DESIGN.md §4).

Default period: the last complete one.  The figures cover the logged-in
operator's scope, and every bulletin made is audited.
"""
from __future__ import annotations

import sys

from ...db import clock, report, stats
from ...db.i18n import catalog, t
from ...db.workflow import audit_write
from ..cli import UsageError, logged_in, open_database

KINDS = {"weekly": "week", "monthly": "month", "yearly": "year"}


def add_parser(sub, common) -> None:
    parser = sub.add_parser("report", parents=[common],
                            help="weekly dispatch review / monthly bulletin")
    parser.add_argument("kind", choices=tuple(KINDS), help="weekly (ISO week), monthly or yearly")
    parser.add_argument("--period", metavar="LABEL",
                        help="2026-W47, 2026-11 or 2026 (default: the last complete period)")
    parser.add_argument("--format", dest="form", choices=report.FORMATS, default="text",
                        help="text (terminal), md (the bulletin), csv, json or xlsx")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    parser.set_defaults(func=run)


def parse_period(kind: str, label: str | None) -> stats.Period:
    if label is None:
        return stats.Period.last_complete(KINDS[kind])
    try:
        return stats.Period.parse(label, KINDS[kind])
    except ValueError:
        raise UsageError(t("report.bad_period", value=label, kind=kind)) from None


async def run(args) -> int:
    period = parse_period(args.kind, args.period)
    if args.form == "xlsx" and not args.output and sys.stdout.isatty():
        raise UsageError(t("report.xlsx_tty"))
    db = await open_database(args)
    try:
        actor = await logged_in(db, args)
        computed = await stats.compute(db, actor, period, clock.now())
        async with db.write() as conn:
            await audit_write(conn, actor, "report",
                              detail=f"{period.label} {args.form} {args.output or '-'}")
    finally:
        await db.dispose()
    body = report.render(computed, args.form)
    if args.output:
        mode = "wb" if isinstance(body, bytes) else "w"
        with open(args.output, mode, **({} if mode == "wb" else {"encoding": "utf-8",
                                                                  "newline": ""})) as out:
            out.write(body)
    elif isinstance(body, bytes):
        sys.stdout.buffer.write(body)
    else:
        sys.stdout.write(body)
    return 0


catalog({
    "report.bad_period": ("不是有效的统计周期：{value}（{kind} 例如 2026-W47、2026-11）",
                          "Not a period: {value} ({kind}: e.g. 2026-W47, 2026-11)"),
    "report.xlsx_tty": ("xlsx 是二进制文件：请用 -o 文件名", "xlsx is binary: give -o FILE"),
})
