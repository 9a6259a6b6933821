"""Opening the console: migrate (before Textual starts its loop), seed the demo
center on first use, log the operator in, then run the app."""
from __future__ import annotations

import asyncio
import getpass

from sqlalchemy import func, select

from ..db.i18n import catalog, t
from ..db.lifecycle import Refused
from ..db.models import Case
from ..db.passwords import verify_password
from ..db.scope import Actor
from ..db.workflow import load_actor
from .cli import UsageError, database_url, open_database, password_from_env
from .progress import progress_bar

DEMO_OPERATOR = "demo"


async def prepare(args) -> Actor | None:
    db = await open_database(args)
    try:
        if args.demo:
            async with db.read() as conn:
                empty = not await conn.scalar(select(func.count()).select_from(Case.__table__))
            if empty:
                from ..db.demo.seed import seed_demo

                print(t("launch.seeding", url=db.describe()))
                with progress_bar(t("seed.progress")) as update:
                    await seed_demo(db, progress=lambda _, done, total: update(done, total))
            return await load_actor(db, DEMO_OPERATOR)
        if args.operator:
            actor = await load_actor(db, args.operator)
            await check_password(db, args.operator)
            return actor
        raise UsageError(t("launch.who"))
    finally:
        await db.dispose()


async def check_password(db, code: str) -> None:
    from ..db.models import Operator

    password = password_from_env()
    if password is None:
        password = getpass.getpass(t("launch.password", code=code))
    async with db.read() as conn:
        stored = await conn.scalar(select(Operator.password_hash).where(Operator.code == code))
    if not verify_password(password, stored):
        raise Refused("launch.bad_password")


def launch(args) -> int:
    actor = asyncio.run(prepare(args))
    from .app import GridConsole

    GridConsole(database_url(args), actor, demo=args.demo).run()
    return 0


catalog({
    "launch.seeding": ("首次使用：正在生成演示指挥中心（约一分钟）→ {url}",
                       "First use: building the demo command center (about a minute) → {url}"),
    "launch.who": ("请用 --operator 代码 登录，或用 --demo 打开演示指挥中心",
                   "Log in with --operator CODE, or open the demo center with --demo"),
    "launch.password": ("操作员 {code} 的密码：", "Password for operator {code}: "),
    "launch.bad_password": ("密码错误", "Wrong password"),
})
