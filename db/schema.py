"""Bring a database to the code's schema, or refuse it with one clear line."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from .engine import CannotOpen, Database
from .i18n import catalog, t

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaRefused(CannotOpen):
    """The database is not one this code can open (exit code 2)."""


def _config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


#: The newest migration; a test keeps it equal to Alembic's head.  Knowing it
#: lets a current database open without importing Alembic (most of a second).
SCHEMA_HEAD = "0005"


async def upgrade(db: Database) -> str:
    """Create or upgrade the schema to head; return the revision reached."""
    try:
        async with db.engine.connect() as conn:
            if await conn.run_sync(_current_revision) == SCHEMA_HEAD:
                return SCHEMA_HEAD
            await conn.run_sync(_check_and_upgrade)
            await conn.commit()
    except DBAPIError as exc:
        raise SchemaRefused(t("schema.unreadable", url=db.describe(),
                              error=str(exc.orig).splitlines()[0])) from None
    return head_revision()


def _current_revision(conn) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _check_and_upgrade(conn) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    tables = set(inspect(conn).get_table_names())
    current = MigrationContext.configure(conn).get_current_revision()
    script = ScriptDirectory.from_config(_config())
    if current is None and tables - {"alembic_version"}:
        raise SchemaRefused(t("schema.foreign"))
    if current is not None:
        try:
            script.get_revision(current)
        except Exception:
            raise SchemaRefused(t("schema.newer", revision=current)) from None
    if current != script.get_current_head():
        command.upgrade(_config(conn), "head")


catalog({
    "schema.foreign": ("该数据库不是 gridconsole 数据库（已有其他表），拒绝打开",
                       "This database is not a gridconsole database (it holds other tables); refusing to open it"),
    "schema.newer": ("数据库结构版本 {revision} 比本程序新，请升级 gridconsole",
                     "The database schema ({revision}) is newer than this gridconsole; upgrade the program"),
    "schema.unreadable": ("无法打开数据库 {url}：{error}", "Cannot open the database {url}: {error}"),
})
