"""``gridconsole feed``: a simulated live feed beside running consoles."""
from __future__ import annotations

import re

from ...db import clock
from ...db.i18n import catalog, t
from ..cli import UsageError, open_database

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smh]?)")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


def add_parser(sub, common) -> None:
    parser = sub.add_parser("feed", parents=[common],
                            help="simulate live intake and field progress through the workflow")
    parser.add_argument("--rate", type=float, default=30, metavar="N",
                        help="steps per minute (default 30)")
    parser.add_argument("--duration", metavar="D", help="how long: 90s, 5m, 1h (default: until Ctrl-C)")
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable feed")
    parser.set_defaults(func=run)


def parse_duration(text: str) -> float:
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise UsageError(t("feed.duration", value=text))
    return float(match[1]) * _SECONDS[match[2]]


def _show(step) -> None:
    at = clock.to_local(clock.now()).strftime("%H:%M:%S")
    case = f"#{step.case_id}" if step.case_id else ""
    if step.refused:
        print(t("feed.refused", at=at, action=step.action.label, case=case, reason=step.refused))
    else:
        print(t("feed.step", at=at, action=step.action.label, case=case, who=step.operator))


async def run(args) -> int:
    from ...db.feed import run_feed

    if args.rate <= 0:
        raise UsageError(t("feed.rate"))
    duration = parse_duration(args.duration) if args.duration else None
    db = await open_database(args)
    try:
        stats = await run_feed(db, args.rate, duration, seed=args.seed, on_step=_show)
    finally:
        await db.dispose()
    print(t("feed.done", steps=sum(stats.done.values()), refused=stats.refused))
    return 0


catalog({
    "feed.duration": ("--duration 无效：{value}（例如 90s、5m、1h）",
                      "--duration is not a duration: {value} (e.g. 90s, 5m, 1h)"),
    "feed.rate": ("--rate 必须大于 0", "--rate must be greater than 0"),
    "feed.step": ("{at} {action} {case}（操作员 {who}）", "{at} {action} {case} (operator {who})"),
    "feed.refused": ("{at} {action} {case} 未成功：{reason}", "{at} {action} {case} not done: {reason}"),
    "feed.done": ("模拟数据流结束：{steps} 步，{refused} 步被拒", "Feed ended: {steps} steps, {refused} refused"),
})
