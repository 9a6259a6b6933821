"""``gridconsole operator …`` and ``gridconsole audit``: output, exit codes,
and passwords that never reach the screen."""
from __future__ import annotations

import json

import pytest

from gridconsole.console.cli import main

PASSWORD = "gridconsole"


@pytest.fixture
def shell(demo_url, monkeypatch, capsys):
    """Run ``gridconsole ARGS`` on the demo district; returns (code, stdout, stderr)."""
    monkeypatch.setenv("GRIDCONSOLE_DB", demo_url)
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", PASSWORD)

    def run(*args: str, new_password: str | None = None):
        if new_password is None:
            monkeypatch.delenv("GRIDCONSOLE_NEW_PASSWORD", raising=False)
        else:
            monkeypatch.setenv("GRIDCONSOLE_NEW_PASSWORD", new_password)
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code
        out, err = capsys.readouterr()
        shown = (out + err).replace("gridconsole: ", "")  # the program's name is the demo password
        assert PASSWORD not in shown and "new-secret" not in shown
        return code, out, err
    return run


def test_operator_add_list_disable_passwd(shell):
    code, out, _ = shell("operator", "add", "--operator", "demo", "--code", "tj01", "--name", "通济值班员",
                         "--role", "street_officer", "--scope", "通济街道", new_password="new-secret")
    assert code == 0 and "tj01" in out
    code, out, _ = shell("operator", "list", "--operator", "demo", "--lang", "en")
    line = next(row for row in out.splitlines() if row.startswith("tj01"))
    assert line.split("\t")[1:4] == ["通济值班员", "Street duty officer", "通济街道"]
    assert shell("operator", "passwd", "tj01", "--operator", "demo", new_password="new-secret2")[0] == 0
    assert shell("operator", "disable", "tj01", "--operator", "demo")[0] == 0
    code, out, _ = shell("operator", "list", "--operator", "demo", "--lang", "en")
    assert "disabled" in next(row for row in out.splitlines() if row.startswith("tj01"))
    code, _, err = shell("audit", "--operator", "tj01")  # disabled: cannot log in
    assert code == 1 and err.count("\n") == 1


def test_refusals_exit_1(shell):
    code, _, err = shell("operator", "list", "--operator", "street01")
    assert code == 1 and "管理操作员" in err
    assert shell("operator", "disable", "demo", "--operator", "duban")[0] == 1
    assert shell("operator", "disable", "demo", "--operator", "demo")[0] == 1
    assert shell("operator", "disable", "nobody", "--operator", "demo")[0] == 1
    assert shell("operator", "add", "--operator", "demo", "--code", "street01", "--name", "x",
                 "--role", "viewer", new_password="long-enough")[0] == 1


def test_wrong_password_exits_1(shell, monkeypatch):
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "wrong")
    code, _, err = shell("operator", "list", "--operator", "demo")
    assert code == 1 and err.startswith("gridconsole: ")


def test_usage_errors_exit_2(shell, monkeypatch):
    monkeypatch.delenv("GRIDCONSOLE_OPERATOR", raising=False)
    assert shell("operator", "list")[0] == 2  # who?
    assert shell("operator", "add", "--operator", "demo", "--code", "x", "--name", "x",
                 "--role", "viewer", new_password="short")[0] == 2
    assert shell("operator", "add", "--operator", "demo", "--code", "x", "--name", "x",
                 "--role", "dept_liaison", "--scope", "潮海街道", new_password="long-enough")[0] == 2
    assert shell("operator", "add", "--operator", "demo", "--code", "x", "--name", "x",
                 "--role", "king", new_password="long-enough")[0] == 2
    assert shell("audit", "--operator", "demo", "--since", "yesterday")[0] == 2
    assert shell("audit")[0] == 2


def test_audit_json_and_filters(shell):
    shell("operator", "list", "--operator", "street01")   # a login, then a refusal
    code, out, _ = shell("audit", "--operator", "demo", "--all", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["operator"], r["what"], r["ok"]) for r in rows] == [
        ("demo", "login", True), ("street01", "operator.list", False), ("street01", "login", True)]
    assert set(rows[0]) == {"id", "at", "operator", "what", "case_id", "detail", "ok"}
    assert rows[0]["at"].endswith("+00:00")

    own = json.loads(shell("audit", "--operator", "street01", "--json")[1])
    assert {r["operator"] for r in own} == {"street01"}
    code, out, _ = shell("audit", "--operator", "demo", "--of", "street01", "--lang", "en")
    assert code == 0 and len(out.splitlines()) == 3 and "Refused" in out
    later = json.loads(shell("audit", "--operator", "demo", "--all", "--since", "2026-11-21",
                             "--json")[1])
    assert later == []


def test_first_account_of_an_empty_database(db_url, monkeypatch, capsys):
    monkeypatch.setenv("GRIDCONSOLE_DB", db_url)
    monkeypatch.setenv("GRIDCONSOLE_NEW_PASSWORD", "first-pass")
    monkeypatch.delenv("GRIDCONSOLE_PASSWORD", raising=False)
    assert main(["operator", "add", "--code", "chief", "--name", "值班长",
                 "--role", "district_officer"]) == 0
    assert main(["operator", "add", "--code", "two", "--name", "二",
                 "--role", "district_officer"]) == 2
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "first-pass")
    assert main(["operator", "list", "--operator", "chief"]) == 0
    assert "chief" in capsys.readouterr().out
