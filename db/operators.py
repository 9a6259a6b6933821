"""Operators: accounts, logins with lockout, revealing personal data, and
reading the audit trail.

Every function here that changes something appends an audit row in the same
transaction.  The audit trail is append-only: nothing in db/ or console/
updates or deletes its rows (a test greps for it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update

from . import clock
from .domain import Action, Role, State, UnitKind
from .engine import Database
from .i18n import catalog, t
from .lifecycle import Refused
from .models import AuditEntry, Case, Operator, Unit
from .passwords import hash_password, verify_password
from .scope import Actor, case_scope
from .workflow import audit_write

operators, units, audit, cases = (Operator.__table__, Unit.__table__, AuditEntry.__table__,
                                  Case.__table__)

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 8
#: Who may manage accounts, and who may read everyone's audit rows (others
#: read their own).  Unscoped roles only: an account is district-wide power.
MANAGERS = frozenset({Role.DISTRICT_OFFICER})
AUDIT_READERS = frozenset({Role.DISTRICT_OFFICER, Role.SUPERVISOR})
#: The unit kinds each role's scope may be; None means district-wide.
SCOPE_KINDS: dict[Role, tuple[str | None, ...]] = {
    Role.DISTRICT_OFFICER: (None,),
    Role.SUPERVISOR: (None,),
    Role.VIEWER: (None, UnitKind.STREET, UnitKind.COMMUNITY),
    Role.STREET_OFFICER: (UnitKind.STREET, UnitKind.COMMUNITY),
    Role.DEPT_LIAISON: (UnitKind.DEPARTMENT, UnitKind.STATION, UnitKind.ZONE),
}


class BadInput(ValueError):
    """An argument that can never work (a usage error, not a refusal)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t(key, **values))


@dataclass(frozen=True)
class OperatorRow:
    code: str
    name: str
    role: Role
    scope: str | None
    disabled: bool
    locked_until: datetime | None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    operator_code: str
    what: str
    case_id: int | None
    detail: str | None
    ok: bool


# -- logging in ---------------------------------------------------------------

def _actor(row) -> Actor:
    return Actor(row["id"], row["code"], row["name"], Role(row["role"]),
                 row["scope_unit_id"], row["scope_kind"])


def _operator_query():
    return (select(operators, units.c.kind.label("scope_kind"))
            .outerjoin(units, units.c.id == operators.c.scope_unit_id))


async def authenticate(db: Database, code: str, password: str) -> Actor:
    """The operator ``code`` if ``password`` is right; every attempt is audited.
    Five wrong passwords in a row lock the account for ``LOCKOUT``."""
    now = clock.now()
    async with db.read() as conn:
        row = (await conn.execute(_operator_query().where(operators.c.code == code))
               ).mappings().first()
    locked = row is not None and row["locked_until"] is not None \
        and clock.as_utc(row["locked_until"]) > now
    # scrypt runs outside the write transaction: SQLite's write lock is not held for it.
    right = row is not None and not locked and verify_password(password, row["password_hash"])
    async with db.write() as conn:
        if row is None or row["disabled"]:
            # Same message as a wrong password: a login must not confirm a code exists.
            await conn.execute(insert(audit).values(
                at=now, operator_id=row["id"] if row else None, operator_code=code[:32],
                what="login", detail=t("audit.detail.unknown"), ok=False))
            failure = Refused("login.failed")
        elif locked:
            await audit_write(conn, _actor(row), "login", detail=t("audit.detail.locked"),
                              ok=False, at=now)
            failure = Refused("login.locked", until=_hhmm(row["locked_until"]))
        elif right:
            await conn.execute(update(operators).where(operators.c.id == row["id"])
                               .values(failed_logins=0, locked_until=None))
            await audit_write(conn, _actor(row), "login", at=now)
            failure = None
        else:
            failure = await _wrong_password(conn, _actor(row), now)
    if failure is not None:
        raise failure
    return _actor(row)


def _hhmm(moment: datetime) -> str:
    return clock.to_local(moment).strftime("%H:%M")


async def _wrong_password(conn, actor: Actor, now: datetime) -> Refused:
    # Counted in SQL so two terminals guessing at once both count.
    failed = (await conn.execute(
        update(operators).where(operators.c.id == actor.id)
        .values(failed_logins=operators.c.failed_logins + 1)
        .returning(operators.c.failed_logins))).scalar_one()
    await audit_write(conn, actor, "login", ok=False, at=now,
                      detail=t("audit.detail.wrong", n=failed, max=MAX_FAILED_LOGINS))
    if failed < MAX_FAILED_LOGINS:
        return Refused("login.failed")
    until = now + LOCKOUT
    await conn.execute(update(operators).where(operators.c.id == actor.id)
                       .values(failed_logins=0, locked_until=until))
    await audit_write(conn, actor, "lockout", ok=False, at=now, detail=t(
        "audit.detail.lockout", until=clock.to_local(until).strftime("%Y-%m-%d %H:%M")))
    return Refused("login.locked", until=_hhmm(until))


async def record_login(db: Database, actor: Actor, detail: str) -> None:
    """A login without a password (the demo center) is still a login."""
    async with db.write() as conn:
        await audit_write(conn, actor, "login", detail=detail)


# -- managing accounts --------------------------------------------------------

async def _refuse(db: Database, actor: Actor, what: str, key: str, **values) -> Refused:
    refusal = Refused(key, **values)
    async with db.write() as conn:
        await audit_write(conn, actor, what, detail=str(refusal), ok=False)
    return refusal


async def _require_manager(db: Database, actor: Actor, what: str) -> None:
    if actor.role not in MANAGERS:
        raise await _refuse(db, actor, what, "operator.not_manager", role=actor.role.label)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadInput("operator.weak_password", n=MIN_PASSWORD)


async def find_unit(db: Database, ref: str) -> tuple[int, str]:
    """A unit by code, else by exact name (which must be unique)."""
    async with db.read() as conn:
        rows = (await conn.execute(
            select(units.c.id, units.c.kind, units.c.code, units.c.name)
            .where(or_(units.c.code == ref, units.c.name == ref)).order_by(units.c.id).limit(6)
        )).all()
    exact = [r for r in rows if r.code == ref] or rows
    if not exact:
        raise BadInput("operator.no_unit", ref=ref)
    if len(exact) > 1:
        raise BadInput("operator.ambiguous_unit", ref=ref,
                       codes=", ".join(r.code for r in exact))
    return exact[0].id, exact[0].kind


async def operator_count(db: Database) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(operators))


async def add_operator(db: Database, actor: Actor | None, *, code: str, name: str, role: Role,
                       scope: str | None, password: str) -> Actor:
    """Create an account.  ``actor`` None is allowed only for the first account
    of an empty database, which must be a district duty officer."""
    role = Role(role)
    if actor is not None:
        await _require_manager(db, actor, "operator.add")
    elif await operator_count(db) or role not in MANAGERS:
        raise Refused("operator.bootstrap")
    if not code or len(code) > 32 or not name or len(name) > 40:
        raise BadInput("operator.bad_code")
    check_password_strength(password)
    unit_id, kind = await find_unit(db, scope) if scope else (None, None)
    if kind not in SCOPE_KINDS[role]:
        raise BadInput("operator.bad_scope", role=role.label,
                       kind=UnitKind(kind).label if kind else t("operator.district_wide"))
    now = clock.now()
    async with db.write() as conn:
        if await conn.scalar(select(operators.c.id).where(operators.c.code == code)):
            raise Refused("operator.exists", code=code)
        new_id = (await conn.execute(insert(operators).values(
            code=code, name=name, role=role.value, scope_unit_id=unit_id,
            password_hash=hash_password(password), disabled=False, failed_logins=0,
            locked_until=None, created_at=now).returning(operators.c.id))).scalar_one()
        created = Actor(new_id, code, name, role, unit_id, kind)
        await audit_write(conn, actor or created, "operator.add", at=now,
                          detail=f"{code} {role.value} {scope or '-'}")
    return created


async def list_operators(db: Database, actor: Actor) -> list[OperatorRow]:
    await _require_manager(db, actor, "operator.list")
    async with db.read() as conn:
        rows = (await conn.execute(
            select(operators.c.code, operators.c.name, operators.c.role, units.c.name.label("scope"),
                   operators.c.disabled, operators.c.locked_until)
            .outerjoin(units, units.c.id == operators.c.scope_unit_id)
            .order_by(operators.c.id))).all()
    return [OperatorRow(r.code, r.name, Role(r.role), r.scope, r.disabled, r.locked_until)
            for r in rows]


async def _target(conn, code: str) -> int:
    found = await conn.scalar(select(operators.c.id).where(operators.c.code == code))
    if found is None:
        raise Refused("refused.no_operator", code=code)
    return found


async def disable_operator(db: Database, actor: Actor, code: str) -> None:
    await _require_manager(db, actor, "operator.disable")
    if code == actor.code:
        raise await _refuse(db, actor, "operator.disable", "operator.not_self")
    async with db.write() as conn:
        target = await _target(conn, code)
        await conn.execute(update(operators).where(operators.c.id == target)
                           .values(disabled=True))
        await audit_write(conn, actor, "operator.disable", detail=code)


async def set_password(db: Database, actor: Actor, code: str, password: str) -> None:
    """Anyone may change their own password; a manager anyone's (which also
    lifts a lockout)."""
    if code != actor.code:
        await _require_manager(db, actor, "operator.passwd")
    check_password_strength(password)
    async with db.write() as conn:
        target = await _target(conn, code)
        await conn.execute(update(operators).where(operators.c.id == target).values(
            password_hash=hash_password(password), failed_logins=0, locked_until=None))
        await audit_write(conn, actor, "operator.passwd", detail=code)


# -- personal data ------------------------------------------------------------

def may_unmask(actor: Actor) -> bool:
    """Full phone numbers are for the role that calls citizens back (回访):
    the reveal key, and ``export --unmasked``."""
    return actor.may(Action.CALLBACK)


def may_reveal(actor: Actor, state: str) -> bool:
    """On screen, only while a callback is due."""
    return may_unmask(actor) and state == State.RESOLVED


async def reveal_phone(db: Database, actor: Actor, case_id: int) -> str:
    """The reporter's full phone number, for the callback; the reveal is audited."""
    async with db.write() as conn:
        row = (await conn.execute(select(cases.c.state, cases.c.reporter_phone)
                                  .where(cases.c.id == case_id, case_scope(actor)))).first()
        if row is None:
            refusal = Refused("refused.scope", id=case_id)
        elif not may_reveal(actor, row.state):
            refusal = Refused("operator.no_reveal")
        else:
            await audit_write(conn, actor, "reveal", case_id=case_id, detail=t("audit.detail.phone"))
            return row.reporter_phone or ""
    async with db.write() as conn:
        await audit_write(conn, actor, "reveal", case_id=case_id, detail=str(refusal), ok=False)
    raise refusal


# -- reading the trail --------------------------------------------------------

async def audit_entries(db: Database, actor: Actor, *, operator: str | None = None,
                        since: datetime | None = None, before_id: int | None = None,
                        after_id: int | None = None, limit: int = 100) -> list[AuditRow]:
    """Audit rows, newest first, a page at a time (keyset on id): rows older
    than ``before_id``, or the page just newer than ``after_id``."""
    query = select(audit)
    if actor.role not in AUDIT_READERS:
        query = query.where(audit.c.operator_code == actor.code)
    if operator:
        query = query.where(audit.c.operator_code == operator)
    if since is not None:
        query = query.where(audit.c.at >= since)
    if before_id is not None:
        query = query.where(audit.c.id < before_id)
    if after_id is not None:
        query = query.where(audit.c.id > after_id).order_by(audit.c.id).limit(limit)
    else:
        query = query.order_by(audit.c.id.desc()).limit(limit)
    async with db.read() as conn:
        rows = (await conn.execute(query)).mappings().all()
    entries = [AuditRow(r["id"], r["at"], r["operator_code"], r["what"], r["case_id"],
                        r["detail"], r["ok"]) for r in rows]
    return sorted(entries, key=lambda e: -e.id)


def what_label(what: str) -> str:
    """How an audit row's ``what`` reads: an action's label, or a catalog entry."""
    try:
        return Action(what).label
    except ValueError:
        return t(f"audit.what.{what}") if f"audit.what.{what}" in _WHAT else what


def result_label(ok: bool) -> str:
    return t("audit.ok") if ok else t("audit.refused")


_WHAT = {
    "audit.what.login": ("登录", "Login"),
    "audit.what.lockout": ("账号锁定", "Locked out"),
    "audit.what.reveal": ("查看完整号码", "Phone revealed"),
    "audit.what.export": ("导出", "Export"),
    "audit.what.operator.add": ("新增操作员", "Operator added"),
    "audit.what.operator.list": ("查看操作员", "Operators listed"),
    "audit.what.operator.disable": ("停用操作员", "Operator disabled"),
    "audit.what.operator.passwd": ("修改密码", "Password changed"),
}
catalog(_WHAT)
catalog({
    "audit.ok": ("成功", "OK"),
    "audit.detail.unknown": ("代码不存在或已停用", "unknown or disabled code"),
    "audit.detail.locked": ("账号锁定中", "account locked"),
    "audit.detail.wrong": ("密码错误 {n}/{max}", "wrong password {n}/{max}"),
    "audit.detail.lockout": ("锁定至 {until}", "locked until {until}"),
    "audit.detail.phone": ("报告人电话", "reporter's phone"),
    "audit.refused": ("拒绝", "Refused"),
    "login.failed": ("操作员代码或密码错误", "Wrong operator code or password"),
    "login.locked": ("密码连续错误 5 次，账号已锁定至 {until}", "Five wrong passwords: the account is locked until {until}"),
    "operator.not_manager": ("{role}无权管理操作员", "A {role} may not manage operators"),
    "operator.not_self": ("不能停用自己的账号", "You cannot disable your own account"),
    "operator.weak_password": ("密码至少 {n} 位", "The password needs at least {n} characters"),
    "operator.no_unit": ("找不到单位：{ref}", "No unit with code or name {ref}"),
    "operator.ambiguous_unit": ("单位名称 {ref} 不唯一，请用代码：{codes}",
                                "More than one unit is named {ref}; use a code: {codes}"),
    "operator.bad_scope": ("{role}的范围不能是“{kind}”", "A {role} cannot have a scope of kind {kind}"),
    "operator.district_wide": ("全区", "the whole district"),
    "operator.bad_code": ("代码须为 1–32 个字符，姓名 1–40 个字符",
                          "The code takes 1–32 characters and the name 1–40"),
    "operator.exists": ("操作员 {code} 已存在", "Operator {code} already exists"),
    "operator.bootstrap": ("请用 --operator 以区值班员身份登录；只有空数据库的第一个账号（区值班员）可直接创建",
                           "Log in with --operator as a district duty officer; only the first account of an empty database (a district duty officer) can be created without one"),
    "operator.no_reveal": ("只有区值班员在回访时可以查看完整号码",
                           "Only a district duty officer making a callback may see the full number"),
})
