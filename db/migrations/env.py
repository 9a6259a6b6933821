"""Alembic environment.  gridconsole passes an open connection in
``config.attributes["connection"]`` (db/schema.py), so no event loop is
started here; run by hand, the URL comes from GRIDCONSOLE_DB."""
from __future__ import annotations

import asyncio

from alembic import context

from gridconsole.db.models import Base

target_metadata = Base.metadata


def run_with(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from gridconsole.db.engine import Database, default_url

    db = Database(context.config.get_main_option("sqlalchemy.url") or default_url())
    async with db.engine.connect() as conn:
        await conn.run_sync(run_with)
        await conn.commit()
    await db.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(_run_standalone())
