"""Every write to a case: one named function per transition of DESIGN.md §3.

Each runs in one write transaction that checks the operator's role and
scope, the transition and the row version, updates the case with a guarded
UPDATE (``WHERE version = :seen``) and appends exactly one event, whose
``seq`` equals the case's new version: a lost update or a doubled event is
impossible by construction.  The console, the ``case`` CLI, the importer and
the feed all call these functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import clock
from .domain import ESCALATION_KINDS, Action, Channel, Role, State, UnitKind, Urgency
from .engine import Database
from .i18n import catalog, t
from .lifecycle import Limit, Refused, limits_for, step
from .models import AuditEntry, Case, CaseAssist, CaseEvent, Category, Operator, Person, Unit
from .scope import Actor, case_scope
from .text import UNSTORABLE, strip_controls
from .textkey import pinyin_key

cases, events, units = Case.__table__, CaseEvent.__table__, Unit.__table__
categories, people, operators = Category.__table__, Person.__table__, Operator.__table__
assists, audit = CaseAssist.__table__, AuditEntry.__table__


@dataclass(frozen=True)
class Change:
    """What a successful action left behind."""
    case_id: int
    version: int
    state: State
    action: Action


async def load_actor(db: Database, code: str) -> Actor:
    async with db.read() as conn:
        row = (await conn.execute(
            select(operators, units.c.kind.label("scope_kind"))
            .outerjoin(units, units.c.id == operators.c.scope_unit_id)
            .where(operators.c.code == code))).mappings().first()
    if row is None or row["disabled"]:
        raise Refused("refused.no_operator", code=code)
    return Actor(row["id"], row["code"], row["name"], Role(row["role"]),
                 row["scope_unit_id"], row["scope_kind"])


async def category_limits(conn: AsyncConnection, category_id: int,
                          urgency: str) -> tuple[Limit, Limit]:
    row = (await conn.execute(select(categories.c.sign_limit, categories.c.resolve_limit)
                              .where(categories.c.id == category_id))).first()
    return limits_for(urgency, *(row or (None, None)))


async def audit_write(conn: AsyncConnection, actor: Actor, what: str, *,
                      case_id: int | None = None, detail: str | None = None,
                      ok: bool = True, at: datetime | None = None) -> None:
    await conn.execute(insert(audit).values(
        at=at or clock.now(), operator_id=actor.id, operator_code=actor.code,
        what=what, case_id=case_id, detail=detail, ok=ok))


async def perform(db: Database, actor: Actor, case_id: int, action: Action, *,
                  version: int | None = None, **params: Any) -> Change:
    """Apply one action in one transaction.  ``version`` is the row version the
    operator saw; a case changed since then is refused, never overwritten."""
    try:
        async with db.write() as conn:
            return await _perform(conn, actor, case_id, action, version, params)
    except Refused as refusal:
        async with db.write() as conn:
            await audit_write(conn, actor, action.value, case_id=case_id,
                              detail=str(refusal), ok=False)
        raise


async def _perform(conn: AsyncConnection, actor: Actor, case_id: int, action: Action,
                   version: int | None, params: dict) -> Change:
    now = clock.now()
    row = (await conn.execute(select(cases).where(cases.c.id == case_id))).mappings().first()
    if row is None:
        raise Refused("refused.no_case", id=case_id)
    visible = await conn.scalar(select(func.count()).select_from(cases)
                                .where(cases.c.id == case_id, case_scope(actor)))
    if not visible:
        raise Refused("refused.scope", id=case_id)
    if not actor.may(action):
        raise Refused("refused.role", role=actor.role.label, action=action.label)
    if version is not None and row["version"] != version:
        raise await _stale(conn, case_id)
    await _check_target(conn, actor, row, action, params)
    limits = await category_limits(conn, row["category_id"], row["urgency"])
    params = _cleaned(params)
    changes, event = step(dict(row), action, now, params, limits)
    new_version = row["version"] + 1
    done = await conn.execute(
        update(cases).where(cases.c.id == case_id, cases.c.version == row["version"])
        .values(**changes, version=new_version, updated_at=now))
    if done.rowcount != 1:
        raise await _stale(conn, case_id)
    await conn.execute(insert(events).values(**event, case_id=case_id, seq=new_version,
                                             operator_id=actor.id))
    if action is Action.ESCALATE:
        for unit_id in params.get("assist_ids") or ():
            await conn.execute(insert(assists).values(case_id=case_id, unit_id=unit_id))
    await audit_write(conn, actor, action.value, case_id=case_id, at=now,
                      detail=event["note"])
    return Change(case_id, new_version, State(changes.get("state", row["state"])), action)


def _cleaned(values: dict) -> dict:
    """Outside text minus control characters; text no engine can store is
    refused here rather than failing inside the driver."""
    out = {}
    for key, value in values.items():
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                raise Refused("refused.unstorable")
            value = strip_controls(value)
        out[key] = value
    return out


async def _stale(conn: AsyncConnection, case_id: int) -> Refused:
    last = (await conn.execute(
        select(events.c.action, events.c.at, operators.c.code, operators.c.name)
        .outerjoin(operators, operators.c.id == events.c.operator_id)
        .where(events.c.case_id == case_id).order_by(events.c.seq.desc()).limit(1))).first()
    who = f"{last.name}({last.code})" if last and last.code else t("refused.someone")
    return Refused("refused.stale", id=case_id, who=who,
                   action=Action(last.action).label if last else "?",
                   at=clock.to_local(last.at).strftime("%m-%d %H:%M") if last else "?")


async def _unit(conn: AsyncConnection, unit_id: int) -> dict:
    row = (await conn.execute(select(units).where(units.c.id == unit_id))).mappings().first()
    if row is None or not row["active"]:
        raise Refused("refused.no_unit", id=unit_id)
    return dict(row)


async def ancestors(conn: AsyncConnection, unit_id: int | None) -> list[int]:
    """The units above ``unit_id``, nearest first (the district last)."""
    chain, current = [], unit_id
    while current is not None:
        current = await conn.scalar(select(units.c.parent_id).where(units.c.id == current))
        if current is not None:
            chain.append(current)
    return chain


async def _check_target(conn: AsyncConnection, actor: Actor, row, action: Action,
                        params: dict) -> None:
    """Checks that need the database: the target unit, person or parent case."""
    if action in (Action.DISPATCH, Action.SUBDISPATCH, Action.ESCALATE):
        unit_id = params.get("unit_id")
        if unit_id is None:
            return  # step() reports the missing holder
        target = await _unit(conn, unit_id)
        if target["kind"] == UnitKind.DISTRICT:
            raise Refused("refused.no_unit", id=unit_id)
        if (person := params.get("person_id")) is not None:
            owner = await conn.scalar(select(people.c.unit_id).where(people.c.id == person))
            if owner != unit_id:
                raise Refused("refused.person", person=person)
        holder = row["holder_unit_id"]
        if action is Action.SUBDISPATCH and holder not in await ancestors(conn, unit_id):
            raise Refused("refused.not_below")
        if action is Action.ESCALATE:
            if target["kind"] not in ESCALATION_KINDS and unit_id not in await ancestors(conn, holder):
                raise Refused("refused.not_above")
            for assist in params.get("assist_ids") or ():
                if (await _unit(conn, assist))["kind"] not in ESCALATION_KINDS:
                    raise Refused("refused.assist_not_department", id=assist)
    elif action is Action.MERGE and params.get("parent_id") is not None:
        parent = params["parent_id"]
        state = await conn.scalar(select(cases.c.state).where(
            and_(cases.c.id == parent, case_scope(actor))))
        if state is None:
            raise Refused("refused.no_case", id=parent)
        if state in (State.MERGED, State.INVALID):
            raise Refused("refused.merge_target", id=parent, state=State(state).label)


# -- one function per transition -------------------------------------------

async def dispatch(db, actor, case_id, *, unit_id, person_id=None, note=None, version=None):
    return await perform(db, actor, case_id, Action.DISPATCH, version=version,
                         unit_id=unit_id, person_id=person_id, note=note)


async def direct(db, actor, case_id, *, result, closure_reason="solved", version=None):
    return await perform(db, actor, case_id, Action.DIRECT, version=version,
                         result=result, closure_reason=closure_reason)


async def invalidate(db, actor, case_id, *, reason, version=None):
    return await perform(db, actor, case_id, Action.INVALIDATE, version=version, reason=reason)


async def merge(db, actor, case_id, *, parent_id, note=None, version=None):
    return await perform(db, actor, case_id, Action.MERGE, version=version,
                         parent_id=parent_id, note=note)


async def sign(db, actor, case_id, *, note=None, version=None):
    return await perform(db, actor, case_id, Action.SIGN, version=version, note=note)


async def return_case(db, actor, case_id, *, reason, version=None):
    return await perform(db, actor, case_id, Action.RETURN, version=version, reason=reason)


async def subdispatch(db, actor, case_id, *, unit_id, person_id=None, note=None, version=None):
    return await perform(db, actor, case_id, Action.SUBDISPATCH, version=version,
                         unit_id=unit_id, person_id=person_id, note=note)


async def escalate(db, actor, case_id, *, unit_id, assist_ids=(), note=None, version=None):
    return await perform(db, actor, case_id, Action.ESCALATE, version=version,
                         unit_id=unit_id, assist_ids=list(assist_ids), note=note)


async def extend(db, actor, case_id, *, days, note=None, version=None):
    return await perform(db, actor, case_id, Action.EXTEND, version=version,
                         days=days, note=note)


async def supervise(db, actor, case_id, *, note=None, version=None):
    return await perform(db, actor, case_id, Action.SUPERVISE, version=version, note=note)


async def resolve(db, actor, case_id, *, result, closure_reason, version=None):
    return await perform(db, actor, case_id, Action.RESOLVE, version=version,
                         result=result, closure_reason=closure_reason)


async def redo(db, actor, case_id, *, reason, version=None):
    return await perform(db, actor, case_id, Action.REDO, version=version, reason=reason)


async def callback(db, actor, case_id, *, satisfaction, note=None, version=None):
    return await perform(db, actor, case_id, Action.CALLBACK, version=version,
                         satisfaction=satisfaction, note=note)


async def note(db, actor, case_id, *, note, version=None):
    return await perform(db, actor, case_id, Action.NOTE, version=version, note=note)


# -- intake -------------------------------------------------------------------

def new_case_row(*, channel: Channel, source_ref: str, category_id: int, urgency: Urgency,
                 content: str, reported_at: datetime, created_at: datetime,
                 address: str = "", street_id: int | None = None,
                 community_id: int | None = None, grid_id: int | None = None,
                 reporter_name: str | None = None, reporter_phone: str | None = None,
                 place_names: tuple[str, ...] = ()) -> dict:
    """The columns of a freshly received case (state 待受理, version 1).
    ``place_names`` (street, community, estate…) make the pinyin search key;
    without them the address is used."""
    return dict(
        channel=Channel(channel).value, source_ref=source_ref, category_id=category_id,
        urgency=Urgency(urgency).value, content=content, address=address,
        street_id=street_id, community_id=community_id, grid_id=grid_id,
        reporter_name=reporter_name, reporter_phone=reporter_phone,
        search_key=pinyin_key(reporter_name, *(place_names or (address,))),
        state=State.RECEIVED.value, created_at=created_at, reported_at=reported_at,
        updated_at=created_at, needs_triage_area=street_id is None, version=1,
        extended_days=0, supervise_count=0, return_count=0, redo_count=0, escalate_count=0,
        holder_unit_id=None, holder_person_id=None, first_dispatched_at=None,
        dispatched_at=None, sign_due=None, resolve_due=None, signed_at=None,
        resolved_at=None, closed_at=None, closure_reason=None, result=None,
        satisfaction=None, invalid_reason=None, merged_into_id=None)


def receive_event(case_id: int, row: dict, operator_id: int | None) -> dict:
    return dict(case_id=case_id, seq=1, action=Action.RECEIVE.value, at=row["created_at"],
                operator_id=operator_id, from_state=None, to_state=State.RECEIVED.value,
                holder_unit_id=None, holder_person_id=None, due_at=None, note=None,
                data={"channel": row["channel"], "source_ref": row["source_ref"]})


async def receive(db: Database, actor: Actor, **fields: Any) -> int:
    """Register a new case from a channel; returns its id."""
    now = clock.now()
    fields.setdefault("created_at", now)
    fields.setdefault("reported_at", now)
    if not actor.may(Action.RECEIVE):
        raise Refused("refused.role", role=actor.role.label, action=Action.RECEIVE.label)
    row = new_case_row(**_cleaned(fields))
    async with db.write() as conn:
        known = await conn.scalar(select(cases.c.id).where(
            cases.c.channel == row["channel"], cases.c.source_ref == row["source_ref"]))
        if known is not None:
            raise Refused("refused.duplicate", ref=row["source_ref"], id=known)
        case_id = (await conn.execute(insert(cases).values(**row).returning(cases.c.id))).scalar_one()
        await conn.execute(insert(events).values(**receive_event(case_id, row, actor.id)))
        await audit_write(conn, actor, Action.RECEIVE.value, case_id=case_id, at=now,
                          detail=f"{row['channel']}:{row['source_ref']}")
    return case_id


catalog({
    "refused.no_operator": ("操作员 {code} 不存在或已停用", "Operator {code} does not exist or is disabled"),
    "refused.duplicate": ("来源编号 {ref} 已受理为工单 {id}", "Source reference {ref} is already case {id}"),
    "refused.no_case": ("工单 {id} 不存在", "Case {id} does not exist"),
    "refused.scope": ("工单 {id} 不在您的权限范围内", "Case {id} is outside your area"),
    "refused.role": ("{role}无权{action}", "A {role} may not {action}"),
    "refused.stale": ("工单 {id} 已被 {who} 于 {at} {action}，已重新载入，请核对后再操作",
                      "Case {id} was changed by {who} at {at} ({action}); it has been reloaded, check it and try again"),
    "refused.someone": ("其他终端", "another terminal"),
    "refused.unstorable": ("文字中含有无法保存的字符（空字符或不成对的代理字符）",
                           "The text holds characters that cannot be stored (NUL or a lone surrogate)"),
    "refused.no_unit": ("单位 {id} 不存在或不能承办", "Unit {id} does not exist or cannot hold cases"),
    "refused.person": ("人员 {person} 不属于该承办单位", "Person {person} does not belong to that unit"),
    "refused.not_below": ("下派只能派给当前承办单位的下级", "Subdispatch goes to a unit below the current holder"),
    "refused.not_above": ("吹哨只能向上级或职能部门", "Escalation goes to a level above or to a department"),
    "refused.assist_not_department": ("协办单位 {id} 不是部门", "Assisting unit {id} is not a department"),
    "refused.merge_target": ("主工单 {id} 状态为“{state}”，不能作为合并目标",
                             "Case {id} is {state} and cannot take merged cases"),
})
