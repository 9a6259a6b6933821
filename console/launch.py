"""Opening the console: migrate (before Textual starts its loop), seed the demo
center on first use, log the operator in (or leave that to the login screen),
then run the app."""
from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from ..db.i18n import catalog, t
from ..db.models import Case
from ..db.operators import record_login
from ..db.scope import Actor
from ..db.workflow import load_actor
from .cli import database_url, login, open_database
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
            actor = await load_actor(db, DEMO_OPERATOR)
            await record_login(db, actor, "--demo")
            return actor
        if args.operator:
            return await login(db, args.operator)
        return None  # the console opens on its login screen
    finally:
        await db.dispose()


def launch(args) -> int:
    actor = asyncio.run(prepare(args))
    from .app import GridConsole

    GridConsole(database_url(args), actor, demo=args.demo, feed=args.demo).run()
    return 0


catalog({
    "launch.seeding": ("首次使用：正在生成演示指挥中心（一到两分钟）→ {url}",
                       "First use: building the demo command center (one to two minutes) → {url}"),
})
