"""``gridconsole case …``: the queue's actions from the shell, through the same
workflow functions as the console.  Exit codes: 0 done, 1 refused, 2 usage."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from ...db.domain import Action, ClosureReason, Satisfaction, State
from ...db.i18n import catalog, t
from ...db.lifecycle import Refused
from ...db.privacy import mask_phone
from ...db.queue import VIEWS, Sort, detail, page, unit_by_ref
from ...db.workflow import perform
from ..cli import UsageError, logged_in, open_database
from ..text import clean, one_line


#: subcommand -> (action, [(option, parameter, kwargs)])
ACTIONS: dict[str, tuple[Action, list[tuple[str, str, dict]]]] = {
    "dispatch": (Action.DISPATCH, [("--unit", "unit_id", dict(required=True)),
                                   ("--person", "person_id", dict(type=int)),
                                   ("--note", "note", {})]),
    "sign": (Action.SIGN, [("--note", "note", {})]),
    "return": (Action.RETURN, [("--reason", "reason", dict(required=True))]),
    "escalate": (Action.ESCALATE, [("--unit", "unit_id", dict(required=True)),
                                   ("--assist", "assist_ids", dict(action="append", default=[])),
                                   ("--note", "note", {})]),
    "subdispatch": (Action.SUBDISPATCH, [("--unit", "unit_id", dict(required=True)),
                                         ("--person", "person_id", dict(type=int)),
                                         ("--note", "note", {})]),
    "direct": (Action.DIRECT, [("--result", "result", dict(required=True)),
                               ("--closure-reason", "closure_reason",
                                dict(choices=[c.value for c in ClosureReason], default="solved"))]),
    "invalidate": (Action.INVALIDATE, [("--reason", "reason", dict(required=True))]),
    "merge": (Action.MERGE, [("--parent", "parent_id", dict(type=int, required=True)),
                             ("--note", "note", {})]),
    "extend": (Action.EXTEND, [("--days", "days", dict(type=int, required=True)),
                               ("--note", "note", {})]),
    "supervise": (Action.SUPERVISE, [("--note", "note", {})]),
    "resolve": (Action.RESOLVE, [("--result", "result", dict(required=True)),
                                 ("--closure-reason", "closure_reason",
                                  dict(choices=[c.value for c in ClosureReason], required=True))]),
    "redo": (Action.REDO, [("--reason", "reason", dict(required=True))]),
    "callback": (Action.CALLBACK, [("--satisfaction", "satisfaction",
                                    dict(choices=[s.value for s in Satisfaction], required=True)),
                                   ("--note", "note", {})]),
    "note": (Action.NOTE, [("--note", "note", dict(required=True))]),
}
UNIT_PARAMS = {"unit_id"}


def add_parser(sub, common) -> None:
    parser = sub.add_parser("case", parents=[common], help="list, show and handle cases")
    actions = parser.add_subparsers(dest="case_command", required=True)
    listing = actions.add_parser("list", parents=[common], help="the queue (open cases)")
    listing.add_argument("--view", choices=list(VIEWS), default="open")
    listing.add_argument("--search", default="", help="id, text, address, reporter, pinyin")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", parents=[common], help="one case with its timeline")
    show.add_argument("case_id", type=int)
    show.add_argument("--json", action="store_true")
    for name, (action, options) in ACTIONS.items():
        one = actions.add_parser(name, parents=[common], help=f"{action.value} a case")
        one.add_argument("case_id", type=int)
        for flag, dest, kwargs in options:
            one.add_argument(flag, dest=dest, **kwargs)
        one.add_argument("--version", type=int,
                         help="the row version you saw: a case changed since is refused")
        one.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)



async def run(args) -> int:
    db = await open_database(args)
    try:
        actor = await logged_in(db, args)
        if args.case_command == "list":
            return await _list(db, actor, args)
        if args.case_command == "show":
            return await _show(db, actor, args)
        return await _act(db, actor, args)
    finally:
        await db.dispose()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _list(db, actor, args) -> int:
    if args.limit < 1:
        raise UsageError(t("case.bad_limit"))
    f = replace(VIEWS[args.view], text=args.search)
    rows = await page(db, actor, f, Sort(), limit=args.limit)
    if args.json:
        print(json.dumps([dict(
            id=r["id"], version=r["version"], state=r["state"], urgency=r["urgency"],
            channel=r["channel"], category=r["category"], content=r["content"],
            street=r["street"], community=r["community"], holder=r["holder"],
            created_at=_iso(r["created_at"]), resolve_due=_iso(r["resolve_due"]))
            for r in rows], ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print(f"{r['id']:>8}  {State(r['state']).label:<6} {one_line(r['category'], 10):<10} "
              f"{one_line(r['content'], 40)}  {one_line(r['holder'] or '—', 16)}")
    return 0


async def _show(db, actor, args) -> int:
    found = await detail(db, actor, args.case_id)
    if found is None:
        raise Refused("refused.no_case", id=args.case_id)
    c = found.case
    data = {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in c.items()
            if k not in ("search_key", "reporter_phone")}
    data["reporter_phone"] = mask_phone(c["reporter_phone"])
    data["events"] = [dict(seq=e["seq"], action=e["action"], at=_iso(e["at"]), who=e["who_code"],
                           from_state=e["from_state"], to_state=e["to_state"],
                           holder=e["holder"], note=e["note"]) for e in found.events]
    data["merged"] = [m["id"] for m in found.merged]
    data["same_phone"] = [m["id"] for m in found.same_phone]
    data["same_place"] = [m["id"] for m in found.same_place]
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print(f"#{c['id']} {State(c['state']).label} v{c['version']}  {clean(c['category'])}")
    print(clean(c["content"]))
    print(f"{t('case.holder')}: {clean(c['holder'] or '—')}  "
          f"{t('case.due')}: {_iso(c['resolve_due']) or '—'}")
    for e in data["events"]:
        print(f"  {e['seq']:>3} {e['at'][:16]} {e['who'] or '—':<10} {Action(e['action']).label}"
              f"  {one_line(e['note'] or '', 60)}")
    return 0


async def _act(db, actor, args) -> int:
    action, options = ACTIONS[args.case_command]
    params = {dest: getattr(args, dest) for _, dest, _ in options}
    for dest in UNIT_PARAMS & params.keys():
        params[dest] = await _unit(db, params[dest])
    if "assist_ids" in params:
        params["assist_ids"] = [await _unit(db, ref) for ref in params["assist_ids"]]
    change = await perform(db, actor, args.case_id, action, version=args.version, **params)
    if args.json:
        print(json.dumps(dict(case_id=change.case_id, version=change.version,
                              state=change.state.value, action=change.action.value)))
    else:
        print(t("case.done", action=action.label, id=change.case_id,
                state=change.state.label, version=change.version))
    return 0


async def _unit(db, ref: str) -> int:
    unit_id = await unit_by_ref(db, ref)
    if unit_id is None:
        raise UsageError(t("case.no_unit", ref=ref))
    return unit_id


catalog({
    "case.bad_limit": ("--limit 必须大于 0", "--limit must be at least 1"),
    "case.holder": ("承办", "Holder"),
    "case.due": ("办结时限", "Resolve by"),
    "case.done": ("{action}：工单 {id} 现为“{state}”（版本 {version}）",
                  "{action}: case {id} is now {state} (version {version})"),
    "case.no_unit": ("找不到单位 {ref}（请用单位编号或代码）", "No unit {ref} (give its id or code)"),
})
