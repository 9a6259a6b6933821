"""Operators: accounts, logins and lockout, revealing phone numbers, the audit trail."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gridconsole.db import clock
from gridconsole.db.domain import Role, State
from gridconsole.db.lifecycle import Refused
from gridconsole.db.models import AuditEntry, Case, Operator
from gridconsole.db.operators import (
    LOCKOUT, MAX_FAILED_LOGINS, BadInput, add_operator, audit_entries, authenticate,
    disable_operator, list_operators, reveal_phone, set_password,
)
from gridconsole.db.workflow import load_actor

from conftest import later

PASSWORD = "gridconsole"
audit, operators, cases = AuditEntry.__table__, Operator.__table__, Case.__table__


async def _audit(db, code=None):
    query = select(audit).order_by(audit.c.id)
    if code:
        query = query.where(audit.c.operator_code == code)
    async with db.read() as conn:
        return (await conn.execute(query)).mappings().all()


async def _operator(db, code):
    async with db.read() as conn:
        return (await conn.execute(select(operators).where(operators.c.code == code))
                ).mappings().one()


async def test_login_is_audited_and_resets_the_count(demo_db):
    with pytest.raises(Refused) as wrong:
        await authenticate(demo_db, "street01", "nope")
    assert wrong.value.key == "login.failed"
    assert (await _operator(demo_db, "street01"))["failed_logins"] == 1
    actor = await authenticate(demo_db, "street01", PASSWORD)
    assert (actor.code, actor.role) == ("street01", Role.STREET_OFFICER)
    assert (await _operator(demo_db, "street01"))["failed_logins"] == 0
    rows = await _audit(demo_db, "street01")
    assert [(r["what"], r["ok"]) for r in rows] == [("login", False), ("login", True)]
    assert all(PASSWORD not in (r["detail"] or "") and "nope" not in (r["detail"] or "")
               for r in rows)


async def test_unknown_and_disabled_operators_get_the_same_answer(demo_db, officer):
    with pytest.raises(Refused) as unknown:
        await authenticate(demo_db, "nobody", PASSWORD)
    await disable_operator(demo_db, officer, "street02")
    with pytest.raises(Refused) as disabled:
        await authenticate(demo_db, "street02", PASSWORD)
    assert str(unknown.value) == str(disabled.value)
    assert [r["ok"] for r in await _audit(demo_db, "nobody")] == [False]
    with pytest.raises(Refused):
        await load_actor(demo_db, "street02")


async def test_five_wrong_passwords_lock_the_account(demo_db):
    for attempt in range(MAX_FAILED_LOGINS):
        with pytest.raises(Refused) as refused:
            await authenticate(demo_db, "dept-gaj", f"guess{attempt}")
    assert refused.value.key == "login.locked"
    with pytest.raises(Refused) as still:  # the right password does not help while locked
        await authenticate(demo_db, "dept-gaj", PASSWORD)
    assert still.value.key == "login.locked"
    whats = [(r["what"], r["ok"]) for r in await _audit(demo_db, "dept-gaj")]
    assert whats == [("login", False)] * MAX_FAILED_LOGINS + [("lockout", False), ("login", False)]

    later(seconds=LOCKOUT.total_seconds() + 60)
    assert (await authenticate(demo_db, "dept-gaj", PASSWORD)).code == "dept-gaj"
    row = await _operator(demo_db, "dept-gaj")
    assert row["failed_logins"] == 0 and row["locked_until"] is None


async def test_four_wrong_then_right_does_not_lock(demo_db):
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(Refused):
            await authenticate(demo_db, "wall", "x")
    await authenticate(demo_db, "wall", PASSWORD)
    with pytest.raises(Refused) as refused:
        await authenticate(demo_db, "wall", "x")
    assert refused.value.key == "login.failed"


async def test_add_list_disable_passwd(demo_db, officer):
    made = await add_operator(demo_db, officer, code="cx01", name="潮海值班员二", role=Role.STREET_OFFICER,
                              scope="潮海街道", password="s3cret-pass")
    assert made.scope_kind == "street"
    stored = (await _operator(demo_db, "cx01"))["password_hash"]
    assert stored.startswith("scrypt$") and "s3cret-pass" not in stored
    assert (await authenticate(demo_db, "cx01", "s3cret-pass")).scope_unit_id == made.scope_unit_id
    listed = {row.code: row for row in await list_operators(demo_db, officer)}
    assert listed["cx01"].scope == "潮海街道" and listed["street01"].role is Role.STREET_OFFICER

    await set_password(demo_db, made, "cx01", "another-pass")  # one's own
    await authenticate(demo_db, "cx01", "another-pass")
    await disable_operator(demo_db, officer, "cx01")
    assert (await list_operators(demo_db, officer))[-1].disabled
    whats = [r["what"] for r in await _audit(demo_db, "demo")]
    assert whats == ["operator.add", "operator.disable"]


async def test_a_manager_password_reset_lifts_a_lockout(demo_db, officer):
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(Refused):
            await authenticate(demo_db, "street03", "x")
    await set_password(demo_db, officer, "street03", "fresh-pass")
    assert (await authenticate(demo_db, "street03", "fresh-pass")).code == "street03"


@pytest.mark.parametrize("code", ["duban", "wall", "street01", "dept-zhzf"])
async def test_only_district_officers_manage_accounts(demo_db, code):
    actor = await load_actor(demo_db, code)
    attempts = [
        add_operator(demo_db, actor, code="x1", name="x", role=Role.VIEWER, scope=None,
                     password="long-enough"),
        list_operators(demo_db, actor),
        disable_operator(demo_db, actor, "demo"),
        set_password(demo_db, actor, "demo", "long-enough"),
    ]
    for attempt in attempts:
        with pytest.raises(Refused) as refused:
            await attempt
        assert refused.value.key == "operator.not_manager"
    assert [r["ok"] for r in await _audit(demo_db, code)] == [False] * len(attempts)


async def test_bad_accounts_are_usage_errors(demo_db, officer):
    bad = [dict(scope="潮海街道", role=Role.DEPT_LIAISON),       # a liaison needs a department
           dict(scope=None, role=Role.STREET_OFFICER),          # a street officer needs an area
           dict(scope="区综合行政执法局", role=Role.DISTRICT_OFFICER),
           dict(scope="没有这个单位", role=Role.VIEWER)]
    for fields in bad:
        with pytest.raises(BadInput):
            await add_operator(demo_db, officer, code="x1", name="x", password="long-enough",
                               **fields)
    with pytest.raises(BadInput):
        await add_operator(demo_db, officer, code="x1", name="x", role=Role.VIEWER, scope=None,
                           password="short")
    with pytest.raises(Refused) as exists:
        await add_operator(demo_db, officer, code="street01", name="x", role=Role.VIEWER,
                           scope=None, password="long-enough")
    assert exists.value.key == "operator.exists"
    with pytest.raises(Refused):
        await disable_operator(demo_db, officer, "demo")  # not oneself


async def test_the_first_account_needs_no_login(db):
    with pytest.raises(Refused):  # it must be able to manage the others
        await add_operator(db, None, code="v", name="v", role=Role.VIEWER, scope=None,
                           password="long-enough")
    first = await add_operator(db, None, code="chief", name="值班长", role=Role.DISTRICT_OFFICER,
                               scope=None, password="long-enough")
    assert [(r["operator_code"], r["what"]) for r in await _audit(db)] == [("chief", "operator.add")]
    with pytest.raises(Refused):
        await add_operator(db, None, code="two", name="two", role=Role.DISTRICT_OFFICER,
                           scope=None, password="long-enough")
    assert first.role is Role.DISTRICT_OFFICER


async def _case_in(db, state: State) -> tuple[int, str]:
    async with db.read() as conn:
        row = (await conn.execute(select(cases.c.id, cases.c.reporter_phone).where(
            cases.c.state == state, cases.c.reporter_phone.is_not(None))
            .order_by(cases.c.id).limit(1))).one()
    return row.id, row.reporter_phone


async def test_reveal_is_for_the_callback_and_audited(demo_db, officer):
    case_id, phone = await _case_in(demo_db, State.RESOLVED)
    assert await reveal_phone(demo_db, officer, case_id) == phone
    rows = await _audit(demo_db, "demo")
    assert [(r["what"], r["case_id"], r["ok"]) for r in rows] == [("reveal", case_id, True)]
    assert phone not in (rows[0]["detail"] or "")

    closed, _ = await _case_in(demo_db, State.CLOSED)
    with pytest.raises(Refused):  # no callback due: no reason to see the number
        await reveal_phone(demo_db, officer, closed)
    for code in ("duban", "wall", "street01", "dept-zhzf"):
        with pytest.raises(Refused):
            await reveal_phone(demo_db, await load_actor(demo_db, code), case_id)
        assert [(r["what"], r["ok"]) for r in await _audit(demo_db, code)] == [("reveal", False)]


async def test_audit_reading_filters_scope_and_pages(demo_db, officer):
    for code in ("street01", "street02", "street01"):
        await authenticate(demo_db, code, PASSWORD)
    later(hours=2)
    await authenticate(demo_db, "duban", PASSWORD)
    street01 = await load_actor(demo_db, "street01")

    everything = await audit_entries(demo_db, officer)
    assert [e.operator_code for e in everything] == ["duban", "street01", "street02", "street01"]
    assert [e.operator_code for e in await audit_entries(demo_db, street01)] == ["street01"] * 2
    assert len(await audit_entries(demo_db, officer, operator="street02")) == 1
    since = clock.now() - timedelta(hours=1)
    assert [e.operator_code for e in await audit_entries(demo_db, officer, since=since)] == ["duban"]
    first = await audit_entries(demo_db, officer, limit=3)
    rest = await audit_entries(demo_db, officer, before_id=first[-1].id, limit=3)
    assert first + rest == everything
    assert await audit_entries(demo_db, officer, after_id=rest[0].id, limit=3) == first


APPEND_ONLY = re.compile(
    r"(update|delete)\s*\(\s*(audit\b|AuditEntry|audit_log)"
    r"|(UPDATE|DELETE\s+FROM)\s+[\"']?audit_log", re.IGNORECASE)


def test_no_code_updates_or_deletes_audit_rows():
    """The audit trail is append-only: no UPDATE or DELETE of audit_log anywhere.
    (Aliases of the table in db/ and console/ are ``audit`` or ``AuditEntry``.)"""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("db", "console"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(root)}: {m.group(0)}" for m in APPEND_ONLY.finditer(text)]
            if re.search(r"AuditEntry|audit_log", text) and re.search(r"\.delete\(|session\.delete", text):
                offenders.append(f"{path.relative_to(root)}: ORM delete next to the audit table")
    assert not offenders
    assert APPEND_ONLY.search("await conn.execute(update(audit).values(ok=True))")
    assert APPEND_ONLY.search('text("DELETE FROM audit_log")')
