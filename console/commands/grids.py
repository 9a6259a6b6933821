"""``gridconsole grids [--area NAME] [--json] --operator CODE``: the figures of
the grid status screen for an area and its children (default: the operator's
top area, the district for the district center).

Each line: name, open, new today, overdue, supervised, age of the oldest open
case, grids without a worker on duty, and the cases of the last 14 local days
(oldest first).  db/gridstatus.py says how each branch counts.
"""
from __future__ import annotations

import json

from rich.cells import cell_len

from ...db import clock, gridstatus
from ...db.gridstatus import DAYS, Node
from ...db.i18n import catalog, t
from ..cli import UsageError, logged_in, open_database
from ..screens.grid import age_text, sparkline
from ..text import clean


def add_parser(sub, common) -> None:
    parser = sub.add_parser("grids", parents=[common],
                            help="grid status: figures of an area and its children")
    parser.add_argument("--area", metavar="NAME", help="a street, community, grid, zone or department (name or code)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(func=run)


def as_json(node: Node, now) -> dict:
    f = node.figures
    unit = node.ref[1] if node.ref[0] in ("area", "held") else None
    age = f.age(now)
    return dict(id=unit, name=node.name, kind=node.kind, open=f.open, new_today=f.new_today,
                overdue=f.overdue, supervised=f.supervised,
                oldest_open_at=None if f.oldest is None else clock.as_utc(f.oldest).isoformat(),
                oldest_open_hours=None if age is None else round(age.total_seconds() / 3600, 1),
                unstaffed_grids=f.unstaffed, daily=list(f.daily))


WIDTHS = (7, 6, 6, 6, 7, 6)


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text


def line(node: Node, now, indent: str, width: int) -> str:
    f = node.figures
    name = indent + clean(node.name)
    cells = (f"{f.open:,}", f"{f.new_today:,}", f"{f.overdue:,}", f"{f.supervised:,}",
             age_text(f.age(now)), f"{f.unstaffed:,}")
    return (name + " " * max(1, width - cell_len(name))
            + "".join(rjust(c, w) for c, w in zip(cells, WIDTHS)) + "  " + sparkline(f.daily))


async def run(args) -> int:
    db = await open_database(args)
    try:
        actor = await logged_in(db, args)
        unit = None
        if args.area:
            found = await gridstatus.find_area(db, actor, args.area)
            if not found:
                raise UsageError(t("grids.no_area", name=args.area))
            if len(found) > 1:
                raise UsageError(t("grids.ambiguous", name=args.area, count=len(found)))
            unit = found[0]
        now = clock.now()
        node, kids = await gridstatus.node_and_children(db, actor, unit, now)
    finally:
        await db.dispose()
    if node is None:
        raise UsageError(t("grids.no_area", name=args.area))
    if args.json:
        start = gridstatus.day_starts(now)[0]
        print(json.dumps(dict(area=as_json(node, now), children=[as_json(k, now) for k in kids],
                              at=now.isoformat(), daily_from=clock.to_local(start).date().isoformat(),
                              days=DAYS), ensure_ascii=False, indent=1))
        return 0
    width = max([cell_len(clean(n.name)) + 2 for n in [node, *kids]] + [cell_len(t("grids.area"))]) + 1
    title = t("grids.area")
    heads = ("grids.open", "grids.new", "grids.overdue", "grids.supervised", "grids.oldest",
             "grids.unstaffed")
    print(title + " " * (width - cell_len(title))
          + "".join(rjust(t(key), w) for key, w in zip(heads, WIDTHS)) + f"  {t('grids.daily')}")
    print(line(node, now, "", width))
    for kid in kids:
        print(line(kid, now, "  ", width))
    return 0


catalog({
    "grids.no_area": ("找不到区域：{name}", "No such area: {name}"),
    "grids.ambiguous": ("区域名称 {name} 对应 {count} 个单位，请用代码", "{count} units are named {name}: use the code"),
    "grids.area": ("区域", "Area"),
    "grids.open": ("在办", "Open"),
    "grids.new": ("今日", "New"),
    "grids.overdue": ("超期", "Late"),
    "grids.supervised": ("督办", "Sup"),
    "grids.oldest": ("最久", "Oldest"),
    "grids.unstaffed": ("缺岗", "Unst"),
    "grids.daily": ("近14天", "Last 14 days"),
})
