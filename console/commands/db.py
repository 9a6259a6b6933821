"""``gridconsole db upgrade``: bring the schema to the code's head."""
from __future__ import annotations

from ...db.i18n import catalog, t
from ..cli import open_database


def add_parser(sub, common) -> None:
    parser = sub.add_parser("db", parents=[common], help="schema management")
    actions = parser.add_subparsers(dest="db_command", required=True)
    actions.add_parser("upgrade", parents=[common], help="create or upgrade the schema to head")
    parser.set_defaults(func=run)


async def run(args) -> int:
    from ...db.schema import head_revision

    db = await open_database(args)
    await db.dispose()
    print(t("db.upgraded", url=db.describe(), revision=head_revision()))
    return 0


catalog({
    "db.upgraded": ("数据库 {url} 已是最新结构（{revision}）", "Database {url} is at the head schema ({revision})"),
})
