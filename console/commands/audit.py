"""``gridconsole audit [--operator CODE] [--since DATE] [--json]``: the audit
trail, newest first.

``--operator`` logs in, as for every command, and shows that operator's own
rows; ``--of CODE`` shows another's and ``--all`` every row the operator may
read (district officers and supervisors read everyone's, others their own).
"""
from __future__ import annotations

import json

from ...db import clock
from ...db.i18n import catalog
from ...db.operators import audit_entries, result_label, what_label
from ..cli import local_time, logged_in, open_database
from ..text import clean

PAGE = 1000


def add_parser(sub, common) -> None:
    parser = sub.add_parser("audit", parents=[common], help="the audit trail (append-only)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--of", metavar="CODE", help="the rows of this operator (default: --operator's own)")
    which.add_argument("--all", action="store_true", help="every row you may read")
    parser.add_argument("--since", metavar="DATE", help="from this local date or date-time (Asia/Shanghai)")
    parser.add_argument("--json", action="store_true", help="one JSON array")
    parser.set_defaults(func=run)



async def run(args) -> int:
    since = local_time(args.since) if args.since else None
    db = await open_database(args)
    try:
        actor = await logged_in(db, args)
        rows, before = [], None
        whose = None if args.all else (args.of or actor.code)
        while page := await audit_entries(db, actor, operator=whose, since=since,
                                          before_id=before, limit=PAGE):
            rows += page
            before = page[-1].id
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps([dict(id=r.id, at=clock.as_utc(r.at).isoformat(), operator=r.operator_code,
                               what=r.what, case_id=r.case_id, detail=r.detail, ok=r.ok)
                          for r in rows], ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print("\t".join((clock.to_local(r.at).strftime("%Y-%m-%d %H:%M:%S"), clean(r.operator_code),
                         what_label(r.what), "" if r.case_id is None else str(r.case_id),
                         result_label(r.ok),
                         clean(r.detail or "").replace("\n", " "))))
    return 0


catalog({
})
