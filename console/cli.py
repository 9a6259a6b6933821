"""The ``gridconsole`` command: open the console, or run a subcommand.

Exit codes (DESIGN.md §5): 0 success; 1 a domain refusal; 2 usage or
unreadable input; 3 an import that rejected some rows.  Errors are one line
on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import os
import sys
from datetime import datetime

from ..db import clock
from ..db.engine import CannotOpen, Database, Unavailable, default_url
from ..db.i18n import catalog, language_from_locale, set_language, t
from ..db.lifecycle import Refused
from ..db.operators import authenticate
from ..db.scope import Actor
from ..db.schema import upgrade

#: Subcommand modules in console/commands, in the order --help lists them.
COMMANDS = [
    "db",
    "seed",
    "case",
    "operator",
    "audit",
    "grids",
    "intake",
    "export",
    "feed",
    "report",
    "bench",
]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class UsageError(Exception):
    """Bad arguments or unreadable input (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        print(f"gridconsole: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    # The common options may stand before or after the subcommand; SUPPRESS keeps
    # a subcommand's absent option from erasing the value given before it.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--db", metavar="URL", help="SQLAlchemy async URL (else GRIDCONSOLE_DB, else a SQLite file in the user data directory)")
    common.add_argument("--lang", choices=("zh", "en"), help="interface language (default: from the locale)")
    common.add_argument("--operator", metavar="CODE", help="operator code (password from GRIDCONSOLE_PASSWORD or a prompt)")
    parser = _Parser(prog="gridconsole", parents=[common],
                     description="即墨区社会治理指挥中心 · command-center console")
    parser.set_defaults(command=None)
    parser.add_argument("--demo", action="store_true",
                        help="open the demo command center (seeded on first use), as the demo officer")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.commands.{name}").add_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("db", "lang", "operator"):  # shared actions: defaults filled here
        setattr(args, name, getattr(args, name, None))
    set_language(args.lang or language_from_locale())
    try:
        if args.command is None:
            from .launch import launch

            return launch(args)
        return asyncio.run(args.func(args))
    except (CannotOpen, Unavailable, UsageError) as exc:
        return fail(str(exc), EXIT_USAGE)
    except Refused as exc:
        return fail(str(exc), EXIT_REFUSED)
    except KeyboardInterrupt:
        return fail(t("cli.interrupted"), 130)
    except OSError as exc:
        return fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT_USAGE)


def fail(message: str, code: int) -> int:
    print(f"gridconsole: {message}", file=sys.stderr)
    return code


def database_url(args: argparse.Namespace) -> str:
    return args.db or default_url()


async def open_database(args: argparse.Namespace) -> Database:
    """The database of ``--db``, brought to the code's schema (or refused)."""
    db = Database(database_url(args))
    try:
        await upgrade(db)
    except BaseException:
        await db.dispose()
        raise
    return db


def password_from_env() -> str | None:
    return os.environ.get("GRIDCONSOLE_PASSWORD")


def local_time(text: str) -> datetime:
    """A date or date-time typed by an officer, in Asia/Shanghai unless it
    says otherwise, as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(t("cli.bad_time", value=text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.LOCAL_TZ)
    return clock.as_utc(moment)


async def login(db: Database, code: str) -> Actor:
    """Log ``code`` in with the password from GRIDCONSOLE_PASSWORD or a prompt
    (lockout and audit as on the login screen)."""
    password = password_from_env()
    if password is None:
        password = getpass.getpass(t("launch.password", code=code))
    return await authenticate(db, code, password)


async def logged_in(db: Database, args: argparse.Namespace) -> Actor:
    """The operator every command reads and writes as: ``--operator``, else
    GRIDCONSOLE_OPERATOR, logged in; its role and scope bound what it sees."""
    code = args.operator or os.environ.get("GRIDCONSOLE_OPERATOR")
    if not code:
        raise UsageError(t("cli.who"))
    return await login(db, code)


catalog({
    "cli.interrupted": ("已中断", "Interrupted"),
    "cli.bad_time": ("不是有效的日期或时间：{value}（例如 2026-11-20 或 2026-11-20 08:30）",
                     "Not a date or date-time: {value} (e.g. 2026-11-20 or 2026-11-20 08:30)"),
    "cli.who": ("请用 --operator 代码（或环境变量 GRIDCONSOLE_OPERATOR）登录，密码取自 GRIDCONSOLE_PASSWORD 或提示输入",
                "Log in with --operator CODE (or GRIDCONSOLE_OPERATOR); the password comes from GRIDCONSOLE_PASSWORD or a prompt"),
    "launch.password": ("操作员 {code} 的密码：", "Password for operator {code}: "),
})
