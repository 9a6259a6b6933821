"""The case lifecycle as pure functions: what an action does to a case.

``step`` knows nothing of databases, operators or scope; the workflow (which
runs one transaction per action) and the demo generator (which simulates a
year in memory) both call it, so the seeded history obeys the same rules as
the console.  Replaying a case's events through ``step`` rebuilds the case.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .domain import (
    TRANSITIONS, Action, ClosureReason, Satisfaction, State, Urgency,
)
from .i18n import catalog, t
from .workcal import add_workdays

MAX_EXTENSION_DAYS = 10
RETURN_WINDOW_DAYS = 2


class Refused(Exception):
    """A domain refusal: illegal transition, missing reason, stale row, scope."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values
        super().__init__(t(key, **values))

    def __reduce__(self):  # crosses process boundaries (the demo generator's workers)
        return _refused, (self.key, self.values)


def _refused(key: str, values: dict) -> Refused:
    return Refused(key, **values)


@dataclass(frozen=True)
class Limit:
    """A time limit: minutes, hours or working days."""
    amount: int
    unit: str  # "m", "h" or "wd"

    @classmethod
    def parse(cls, text: str) -> Limit:
        text = text.strip().lower()
        for unit in ("wd", "m", "h"):
            if text.endswith(unit) and text[: -len(unit)].isdigit():
                return cls(int(text[: -len(unit)]), unit)
        raise ValueError(f"not a time limit: {text!r} (e.g. 30m, 2h, 5wd)")

    def after(self, start: datetime) -> datetime:
        if self.unit == "wd":
            return add_workdays(start, self.amount)
        return start + timedelta(minutes=self.amount * (60 if self.unit == "h" else 1))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


#: Defaults of DESIGN.md §3; a category may override them.
DEFAULT_LIMITS: dict[Urgency, tuple[Limit, Limit]] = {
    Urgency.CRITICAL: (Limit(30, "m"), Limit(2, "h")),
    Urgency.URGENT: (Limit(2, "h"), Limit(24, "h")),
    Urgency.NORMAL: (Limit(1, "wd"), Limit(5, "wd")),
}


def limits_for(urgency: str, sign_override: str | None = None,
               resolve_override: str | None = None) -> tuple[Limit, Limit]:
    sign, resolve = DEFAULT_LIMITS[Urgency(urgency)]
    if urgency == Urgency.NORMAL:
        sign = Limit.parse(sign_override) if sign_override else sign
        resolve = Limit.parse(resolve_override) if resolve_override else resolve
    return sign, resolve


def warn_at(start: datetime, due: datetime) -> datetime:
    """黄牌 from when less than 20% of the time, at most one day, is left."""
    return due - min((due - start) * 0.2, timedelta(days=1))


def _need(params: dict, key: str) -> Any:
    value = params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Refused("refused.missing", what=t(f"param.{key}"))
    return value


def step(case: dict, action: Action, at: datetime, params: dict,
         limits: tuple[Limit, Limit]) -> tuple[dict, dict]:
    """Apply ``action`` to ``case`` (a mapping of its columns).

    Returns the column updates and the event to append.  ``params`` holds the
    action's inputs; deadlines computed here are written back into the event's
    data, so a replay reproduces them even if the policy changes later.
    """
    state = State(case["state"])
    sources, target = TRANSITIONS[action]
    if state not in sources:
        raise Refused("refused.transition", action=action.label, state=state.label)
    to = target or state
    up: dict[str, Any] = {}
    data: dict[str, Any] = {}
    holder, person = case["holder_unit_id"], case["holder_person_id"]
    due_at = None
    sign_limit, resolve_limit = limits

    if action in (Action.DISPATCH, Action.SUBDISPATCH, Action.ESCALATE):
        holder = _need(params, "unit_id")
        person = params.get("person_id")
        if action is not Action.DISPATCH and holder == case["holder_unit_id"]:
            raise Refused("refused.same_holder")
        sign_due = _when(params.get("sign_due")) or sign_limit.after(at)
        up.update(holder_unit_id=holder, holder_person_id=person, dispatched_at=at,
                  sign_due=sign_due, signed_at=None)
        data.update(unit_id=holder, person_id=person, sign_due=sign_due.isoformat())
        if action is Action.DISPATCH:
            resolve_due = _when(params.get("resolve_due")) or resolve_limit.after(at)
            up.update(resolve_due=resolve_due, extended_days=0)
            data["resolve_due"] = resolve_due.isoformat()
            if case["first_dispatched_at"] is None:
                up["first_dispatched_at"] = at
        if action is Action.ESCALATE:
            up["escalate_count"] = case["escalate_count"] + 1
            data["assist_ids"] = list(params.get("assist_ids") or [])
        due_at = sign_due
    elif action is Action.DIRECT:
        up.update(result=_need(params, "result"), resolved_at=at,
                  closure_reason=ClosureReason(params.get("closure_reason") or "solved"))
        data.update(result=up["result"], closure_reason=up["closure_reason"])
    elif action is Action.INVALIDATE:
        up["invalid_reason"] = data["reason"] = _need(params, "reason")
        up["closed_at"] = at
    elif action is Action.MERGE:
        parent = _need(params, "parent_id")
        if parent == case["id"]:
            raise Refused("refused.merge_self")
        up.update(merged_into_id=parent, closed_at=at)
        data["parent_id"] = parent
    elif action is Action.SIGN:
        up["signed_at"] = at
        due_at = case["sign_due"]
    elif action is Action.RETURN:
        data["reason"] = _need(params, "reason")
        if at > add_workdays(case["dispatched_at"], RETURN_WINDOW_DAYS):
            raise Refused("refused.return_window", days=RETURN_WINDOW_DAYS)
        up.update(holder_unit_id=None, holder_person_id=None, sign_due=None,
                  resolve_due=None, dispatched_at=None,
                  return_count=case["return_count"] + 1)
        holder = person = None
    elif action is Action.EXTEND:
        days = int(_need(params, "days"))
        if days < 1 or case["extended_days"] + days > MAX_EXTENSION_DAYS:
            raise Refused("refused.extension", limit=MAX_EXTENSION_DAYS,
                          used=case["extended_days"])
        resolve_due = _when(params.get("resolve_due")) or add_workdays(case["resolve_due"], days)
        up.update(resolve_due=resolve_due, extended_days=case["extended_days"] + days)
        data.update(days=days, resolve_due=resolve_due.isoformat())
        due_at = resolve_due
    elif action is Action.SUPERVISE:
        up["supervise_count"] = case["supervise_count"] + 1
    elif action is Action.RESOLVE:
        up.update(result=_need(params, "result"), resolved_at=at,
                  closure_reason=ClosureReason(_need(params, "closure_reason")))
        data.update(result=up["result"], closure_reason=up["closure_reason"])
        due_at = case["resolve_due"]
    elif action is Action.REDO:
        data["reason"] = _need(params, "reason")
        if holder is None:
            raise Refused("refused.redo_no_holder")
        resolve_due = _when(params.get("resolve_due")) or resolve_limit.after(at)
        up.update(redo_count=case["redo_count"] + 1, resolved_at=None, closed_at=None,
                  satisfaction=None, closure_reason=None, result=None,
                  resolve_due=resolve_due, signed_at=case["signed_at"] or at)
        data["resolve_due"] = resolve_due.isoformat()
        due_at = resolve_due
    elif action is Action.CALLBACK:
        up["satisfaction"] = data["satisfaction"] = Satisfaction(_need(params, "satisfaction"))
        up["closed_at"] = at
    elif action is Action.NOTE:
        _need(params, "note")

    if to is not state:
        up["state"] = to
    event = dict(action=action.value, at=at, from_state=state.value, to_state=to.value,
                 holder_unit_id=holder, holder_person_id=person, due_at=due_at,
                 note=params.get("note") or params.get("reason") or params.get("result"),
                 data=data or None)
    return up, event


def _when(value: datetime | str | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def replay(initial: dict, events: list[dict], limits: tuple[Limit, Limit]) -> dict:
    """Rebuild a case from its receive-time fields and its later events."""
    case = dict(initial)
    for event in events:
        params = dict(event.get("data") or {})
        params.setdefault("note", event.get("note"))
        up, _ = step(case, Action(event["action"]), event["at"], params, limits)
        case.update(up)
    return case


catalog({
    "refused.transition": ("当前状态“{state}”不能{action}", "Cannot {action} a case that is {state}"),
    "refused.missing": ("缺少{what}", "{what} is required"),
    "refused.same_holder": ("新承办单位与当前相同", "The new holder is the current holder"),
    "refused.merge_self": ("不能合并到自身", "A case cannot be merged into itself"),
    "refused.return_window": ("派单已超过{days}个工作日，不能退单",
                              "Returns are allowed within {days} working days of dispatch"),
    "refused.extension": ("延期累计不得超过{limit}个工作日（已延{used}天）",
                          "Extensions total at most {limit} working days ({used} used)"),
    "refused.redo_no_holder": ("该件由指挥中心直办，无承办单位可重办",
                               "The center answered this case itself: no holder to redo it"),
    "param.unit_id": ("承办单位", "holder unit"),
    "param.result": ("办理结果", "result"),
    "param.reason": ("理由", "reason"),
    "param.parent_id": ("主工单编号", "parent case id"),
    "param.days": ("延期天数", "extension days"),
    "param.closure_reason": ("办结类型", "closure reason"),
    "param.satisfaction": ("满意度", "satisfaction"),
    "param.note": ("备注", "note"),
})
