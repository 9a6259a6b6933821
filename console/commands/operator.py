"""``gridconsole operator add|list|disable|passwd``: console accounts.

The acting operator logs in with ``--operator`` (password from
GRIDCONSOLE_PASSWORD or a prompt); a new password comes from
GRIDCONSOLE_NEW_PASSWORD or is asked twice.  Only the first account of an
empty database may be made without ``--operator``.
"""
from __future__ import annotations

import getpass
import os

from ...db import clock
from ...db.domain import Role
from ...db.i18n import catalog, t
from ...db.operators import (
    BadInput, add_operator, disable_operator, list_operators, operator_count, set_password,
)
from ..cli import UsageError, open_database
from ..text import clean


def add_parser(sub, common) -> None:
    parser = sub.add_parser("operator", parents=[common], help="console accounts and roles")
    actions = parser.add_subparsers(dest="operator_command", required=True)
    add = actions.add_parser("add", parents=[common], help="create an operator")
    add.add_argument("--code", required=True, help="login code")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--scope", help="unit code or name the operator is confined to (street, community, department…)")
    actions.add_parser("list", parents=[common], help="list operators")
    disable = actions.add_parser("disable", parents=[common], help="disable an operator")
    disable.add_argument("code")
    passwd = actions.add_parser("passwd", parents=[common], help="set a password (yours, or as a district officer anyone's)")
    passwd.add_argument("code", nargs="?", help="operator code (default: --operator)")
    parser.set_defaults(func=run)


def new_password(code: str) -> str:
    if (password := os.environ.get("GRIDCONSOLE_NEW_PASSWORD")) is not None:
        return password
    first = getpass.getpass(t("operator.new_password", code=code))
    if getpass.getpass(t("operator.again")) != first:
        raise UsageError(t("operator.mismatch"))
    return first


async def run(args) -> int:
    from ..cli import login

    db = await open_database(args)
    try:
        command = args.operator_command
        if args.operator:
            actor = await login(db, args.operator)
        elif command == "add" and not await operator_count(db):
            actor = None  # the first account of an empty database
        else:
            raise UsageError(t("cli.who"))
        if command == "add":
            password = new_password(args.code)
            await add_operator(db, actor, code=args.code, name=args.name, role=Role(args.role),
                               scope=args.scope, password=password)
            print(t("operator.added", code=args.code))
        elif command == "list":
            for row in await list_operators(db, actor):
                print(_line(row))
        elif command == "disable":
            await disable_operator(db, actor, args.code)
            print(t("operator.disabled", code=args.code))
        else:
            code = args.code or actor.code
            await set_password(db, actor, code, new_password(code))
            print(t("operator.password_set", code=code))
    except BadInput as exc:
        raise UsageError(str(exc)) from None
    finally:
        await db.dispose()
    return 0


def _line(row) -> str:
    if row.disabled:
        status = t("operator.status_disabled")
    elif row.locked_until is not None and clock.as_utc(row.locked_until) > clock.now():
        status = t("operator.status_locked",
                   until=clock.to_local(row.locked_until).strftime("%H:%M"))
    else:
        status = ""
    scope = row.scope or t("operator.district_wide")
    return "\t".join(clean(v) for v in (row.code, row.name, row.role.label, scope, status)).rstrip()


catalog({
    "operator.new_password": ("操作员 {code} 的新密码：", "New password for operator {code}: "),
    "operator.again": ("再输入一次：", "Again: "),
    "operator.mismatch": ("两次输入的密码不一致", "The two passwords differ"),
    "operator.added": ("已新增操作员 {code}", "Operator {code} added"),
    "operator.disabled": ("已停用操作员 {code}", "Operator {code} disabled"),
    "operator.password_set": ("已设置操作员 {code} 的密码", "Password of operator {code} set"),
    "operator.status_disabled": ("已停用", "disabled"),
    "operator.status_locked": ("锁定至 {until}", "locked until {until}"),
})
