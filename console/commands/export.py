"""``gridconsole export open311``: cases as GeoReport v2 JSON for other systems."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ...db.i18n import catalog, t
from ...db.intake.export import audit_export, export_open311
from ..cli import local_time, logged_in, open_database


def add_parser(sub, common) -> None:
    parser = sub.add_parser("export", parents=[common], help="export cases as Open311 GeoReport v2 JSON")
    parser.add_argument("what", choices=["open311"], help="the format (open311)")
    parser.add_argument("--since", metavar="DATE",
                        help="only cases changed since this local date or date-time (YYYY-MM-DD[ HH:MM])")
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here (default: stdout)")
    parser.add_argument("--unmasked", action="store_true",
                        help="full phone numbers (district officers only; audited)")
    parser.set_defaults(func=run)



async def run(args) -> int:
    since = local_time(args.since) if args.since else None
    db = await open_database(args)
    try:
        actor = await logged_in(db, args)
        if args.output is None:
            count = await export_open311(db, actor, sys.stdout, since=since, unmasked=args.unmasked)
        else:
            # Written beside the target and renamed: a reader never sees half a file.
            partial = args.output.with_name(args.output.name + ".part")
            try:
                with open(partial, "w", encoding="utf-8") as out:
                    count = await export_open311(db, actor, out, since=since,
                                                 unmasked=args.unmasked)
                os.replace(partial, args.output)
            finally:
                partial.unlink(missing_ok=True)
        await audit_export(db, actor, count, str(args.output or "stdout"), args.unmasked)
    finally:
        await db.dispose()
    if args.output is not None:
        print(t("export.done", count=count, name=str(args.output)), file=sys.stderr)
    return 0


catalog({
    "export.done": ("已导出 {count} 件工单到 {name}", "Exported {count} cases to {name}"),
})
