"""closed periods' bulletins, and the triggers that keep them exact

``report_snapshots`` holds the district bulletin of a week, month or year
that has ended (db/snapshots.py).  A bulletin is computed from history before
its period's end, so it can only change if that history does.  The triggers
below delete every snapshot whose period ends after the time a change
touches: an event inserted, changed or deleted (its ``at``), a case inserted,
deleted or re-keyed (its ``created_at``), a first dispatch moved; and all of
them when a unit or category changes (their names are in the bulletins).  On
PostgreSQL the insert triggers run once per statement, so a COPY of 100,000
rows costs one DELETE, not 100,000.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: Case columns a bulletin groups or counts by.
KEYS = ("street_id", "community_id", "grid_id", "category_id", "channel", "reporter_phone",
        "created_at")
DELETE = "DELETE FROM report_snapshots"


def _sqlite() -> list[str]:
    def trigger(name, when, since=None, condition=None):
        where = f" WHERE period_end > {since}" if since else ""
        guard = f" WHEN {condition}" if condition else ""
        return f"CREATE TRIGGER report_snapshots_{name} AFTER {when}{guard} BEGIN {DELETE}{where}; END"

    rekeyed = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in KEYS)
    fda = "first_dispatched_at"
    ddl = [
        trigger("event_added", "INSERT ON case_events", "NEW.at"),
        trigger("event_changed", "UPDATE ON case_events", "min(OLD.at, NEW.at)"),
        trigger("event_removed", "DELETE ON case_events", "OLD.at"),
        trigger("case_added", "INSERT ON cases", "NEW.created_at"),
        trigger("case_removed", "DELETE ON cases", "OLD.created_at"),
        trigger("case_rekeyed", f"UPDATE OF {', '.join(KEYS)} ON cases",
                "min(OLD.created_at, NEW.created_at)", rekeyed),
        trigger("case_first_dispatch", f"UPDATE OF {fda} ON cases",
                f"min(coalesce(OLD.{fda}, NEW.{fda}), coalesce(NEW.{fda}, OLD.{fda}))",
                f"OLD.{fda} IS NOT NEW.{fda}"),
    ]
    for table in ("units", "categories"):
        ddl += [trigger(f"{table}_{op_.lower()}", f"{op_} ON {table}")
                for op_ in ("INSERT", "UPDATE", "DELETE")]
    return ddl


def _postgresql() -> list[str]:
    def function(name, body):
        return (f"CREATE FUNCTION report_snapshots_{name}() RETURNS trigger LANGUAGE plpgsql "
                f"AS $$ BEGIN {body}; RETURN NULL; END $$")

    def since(expr):
        return f"{DELETE} WHERE period_end > {expr}"

    def statement(name, when, table, column, rows):
        return [function(name, since(f"(SELECT min({column}) FROM {rows})")),
                f"CREATE TRIGGER report_snapshots_{name} AFTER {when} ON {table} "
                f"REFERENCING {'OLD' if when == 'DELETE' else 'NEW'} TABLE AS {rows} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION report_snapshots_{name}()"]

    rekeyed = " OR ".join(f"OLD.{k} IS DISTINCT FROM NEW.{k}" for k in KEYS)
    fda = "first_dispatched_at"
    return [
        *statement("event_added", "INSERT", "case_events", "at", "added"),
        *statement("event_removed", "DELETE", "case_events", "at", "removed"),
        *statement("case_added", "INSERT", "cases", "created_at", "added"),
        *statement("case_removed", "DELETE", "cases", "created_at", "removed"),
        function("event_changed", since("least(OLD.at, NEW.at)")),
        "CREATE TRIGGER report_snapshots_event_changed AFTER UPDATE ON case_events "
        "FOR EACH ROW EXECUTE FUNCTION report_snapshots_event_changed()",
        function("case_rekeyed", since("least(OLD.created_at, NEW.created_at)")),
        f"CREATE TRIGGER report_snapshots_case_rekeyed AFTER UPDATE OF {', '.join(KEYS)} "
        f"ON cases FOR EACH ROW WHEN ({rekeyed}) EXECUTE FUNCTION report_snapshots_case_rekeyed()",
        function("case_first_dispatch", since(f"least(OLD.{fda}, NEW.{fda})")),
        f"CREATE TRIGGER report_snapshots_case_first_dispatch AFTER UPDATE OF {fda} ON cases "
        f"FOR EACH ROW WHEN (OLD.{fda} IS DISTINCT FROM NEW.{fda}) "
        "EXECUTE FUNCTION report_snapshots_case_first_dispatch()",
        function("names_changed", DELETE),
        *[f"CREATE TRIGGER report_snapshots_{table}_changed AFTER INSERT OR UPDATE OR DELETE "
          f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION report_snapshots_names_changed()"
          for table in ("units", "categories")],
    ]


def upgrade() -> None:
    op.create_table(
        'report_snapshots',
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('first', sa.Date(), nullable=False),
        sa.Column('period_end', sa.DateTime(), nullable=False),
        sa.Column('formulas', sa.Integer(), nullable=False),
        sa.Column('extras', sa.Boolean(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'first', name=op.f('pk_report_snapshots')))
    op.create_index(op.f('ix_report_snapshots_period_end'), 'report_snapshots', ['period_end'])
    dialect = op.get_bind().dialect.name
    for ddl in _sqlite() if dialect == "sqlite" else _postgresql():
        op.execute(ddl)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        names = bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                     "AND name LIKE 'report_snapshots%'").scalars().all()
        for name in names:
            op.execute(f"DROP TRIGGER {name}")
    else:  # dropping a trigger function drops its triggers
        names = bind.exec_driver_sql("SELECT proname FROM pg_proc "
                                     "WHERE proname LIKE 'report_snapshots%'").scalars().all()
        for name in names:
            op.execute(f"DROP FUNCTION {name}() CASCADE")
    op.drop_index(op.f('ix_report_snapshots_period_end'), table_name='report_snapshots')
    op.drop_table('report_snapshots')
