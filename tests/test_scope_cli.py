"""Scope and login from the shell: each command acts as a logged-in operator
(password from GRIDCONSOLE_PASSWORD or a prompt) and shows only that
operator's cases.

Gaps known when these were written are marked ``xfail(strict=True)``: when
the command is fixed the test passes, the strict marker fails the run, and
the marker comes off.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from gridconsole.console.cli import main
from gridconsole.db.engine import Database
from gridconsole.db.models import Case
from gridconsole.db.scope import case_scope
from gridconsole.db.workflow import load_actor

PASSWORD = "gridconsole"
cases = Case.__table__


@pytest.fixture
def shell(demo_url, monkeypatch, capsys):
    monkeypatch.setenv("GRIDCONSOLE_DB", demo_url)
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", PASSWORD)
    monkeypatch.delenv("GRIDCONSOLE_OPERATOR", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err
    return run


def refs_in_scope(url: str, code: str) -> set[str]:
    """The source refs (Open311 ids) of the cases ``code`` may see."""
    async def read() -> set[str]:
        db = Database(url)
        try:
            actor = await load_actor(db, code)
            async with db.read() as conn:
                return set((await conn.scalars(select(cases.c.source_ref)
                                               .where(case_scope(actor)))).all())
        finally:
            await db.dispose()
    return asyncio.run(read())


def test_a_wrong_password_stops_every_command(shell, monkeypatch):
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "wrong")
    assert shell("operator", "list", "--operator", "demo")[0] == 1
    assert shell("audit", "--operator", "demo")[0] == 1


def test_case_commands_need_the_password(shell, monkeypatch):
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "wrong")
    assert shell("case", "list", "--operator", "street01")[0] == 1


def test_case_commands_need_an_operator(shell, monkeypatch):
    monkeypatch.delenv("GRIDCONSOLE_OPERATOR", raising=False)
    assert shell("case", "list")[0] == 2


def test_export_holds_only_the_operators_cases(shell, demo_url):
    code, out, _ = shell("export", "open311", "--operator", "street01")
    assert code == 0
    exported = {item["service_request_id"] for item in json.loads(out)}
    assert exported == refs_in_scope(demo_url, "street01")


def test_export_needs_an_operator(shell, monkeypatch):
    monkeypatch.delenv("GRIDCONSOLE_OPERATOR", raising=False)
    assert shell("export", "open311")[0] == 2


def _first_outside(url: str, code: str) -> int:
    async def read() -> int:
        db = Database(url)
        try:
            actor = await load_actor(db, code)
            async with db.read() as conn:
                return await conn.scalar(select(cases.c.id).where(
                    ~case_scope(actor), cases.c.state == "dispatched").order_by(cases.c.id).limit(1))
        finally:
            await db.dispose()
    return asyncio.run(read())


@pytest.mark.parametrize("code", ["street01", "dept-zhzf"])
def test_case_commands_refuse_another_areas_case(shell, demo_url, code):
    other = _first_outside(demo_url, code)
    status, out, err = shell("case", "show", str(other), "--operator", code)
    assert status == 1 and out == "" and err.count("\n") == 1
    status, _, err = shell("case", "sign", str(other), "--operator", code)
    assert status == 1 and str(other) in err
    listed = json.loads(shell("case", "list", "--json", "--limit", "500", "--operator", code)[1])
    assert other not in {row["id"] for row in listed}
