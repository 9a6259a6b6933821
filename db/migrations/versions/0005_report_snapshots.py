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


def _sqlite() -> dict[str, str]:
    """Each trigger's name (after ``report_snapshots_``) and DDL."""
    def trigger(when, since=None, condition=None):
        where = f" WHERE period_end > {since}" if since else ""
        guard = f" WHEN {condition}" if condition else ""
        return f"AFTER {when}{guard} BEGIN {DELETE}{where}; END"

    rekeyed = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in KEYS)
    fda = "first_dispatched_at"
    triggers = {
        "event_added": trigger("INSERT ON case_events", "NEW.at"),
        "event_changed": trigger("UPDATE ON case_events", "min(OLD.at, NEW.at)"),
        "event_removed": trigger("DELETE ON case_events", "OLD.at"),
        "case_added": trigger("INSERT ON cases", "NEW.created_at"),
        "case_removed": trigger("DELETE ON cases", "OLD.created_at"),
        "case_rekeyed": trigger(f"UPDATE OF {', '.join(KEYS)} ON cases",
                                "min(OLD.created_at, NEW.created_at)", rekeyed),
        "case_first_dispatch": trigger(
            f"UPDATE OF {fda} ON cases",
            f"min(coalesce(OLD.{fda}, NEW.{fda}), coalesce(NEW.{fda}, OLD.{fda}))",
            f"OLD.{fda} IS NOT NEW.{fda}"),
    }
    for table in ("units", "categories"):
        triggers |= {f"{table}_{op_.lower()}": trigger(f"{op_} ON {table}")
                     for op_ in ("INSERT", "UPDATE", "DELETE")}
    return {name: f"CREATE TRIGGER report_snapshots_{name} {body}"
            for name, body in triggers.items()}


def _postgresql() -> dict[str, list[str]]:
    """Each trigger function's name (after ``report_snapshots_``), and the DDL
    of the function and of the triggers that call it."""
    def function(name, body):
        return (f"CREATE FUNCTION report_snapshots_{name}() RETURNS trigger LANGUAGE plpgsql "
                f"AS $$ BEGIN {body}; RETURN NULL; END $$")

    def since(expr):
        return f"{DELETE} WHERE period_end > {expr}"

    def row_trigger(name, when, condition=""):
        return (f"CREATE TRIGGER report_snapshots_{name} AFTER {when} FOR EACH ROW "
                f"{condition}EXECUTE FUNCTION report_snapshots_{name}()")

    def per_statement(name, when, table, column):
        rows = "changed_rows"
        return [function(name, since(f"(SELECT min({column}) FROM {rows})")),
                f"CREATE TRIGGER report_snapshots_{name} AFTER {when} ON {table} "
                f"REFERENCING {'OLD' if when == 'DELETE' else 'NEW'} TABLE AS {rows} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION report_snapshots_{name}()"]

    rekeyed = " OR ".join(f"OLD.{k} IS DISTINCT FROM NEW.{k}" for k in KEYS)
    fda = "first_dispatched_at"
    return {
        "event_added": per_statement("event_added", "INSERT", "case_events", "at"),
        "event_removed": per_statement("event_removed", "DELETE", "case_events", "at"),
        "case_added": per_statement("case_added", "INSERT", "cases", "created_at"),
        "case_removed": per_statement("case_removed", "DELETE", "cases", "created_at"),
        "event_changed": [function("event_changed", since("least(OLD.at, NEW.at)")),
                          row_trigger("event_changed", "UPDATE ON case_events")],
        "case_rekeyed": [function("case_rekeyed", since("least(OLD.created_at, NEW.created_at)")),
                         row_trigger("case_rekeyed", f"UPDATE OF {', '.join(KEYS)} ON cases",
                                     f"WHEN ({rekeyed}) ")],
        "case_first_dispatch": [
            function("case_first_dispatch", since(f"least(OLD.{fda}, NEW.{fda})")),
            row_trigger("case_first_dispatch", f"UPDATE OF {fda} ON cases",
                        f"WHEN (OLD.{fda} IS DISTINCT FROM NEW.{fda}) ")],
        "names_changed": [function("names_changed", DELETE), *[
            f"CREATE TRIGGER report_snapshots_{table}_changed AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION report_snapshots_names_changed()"
            for table in ("units", "categories")]],
    }


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
    if op.get_bind().dialect.name == "sqlite":
        ddl = list(_sqlite().values())
    else:
        ddl = [one for made in _postgresql().values() for one in made]
    for one in ddl:
        op.execute(one)


def downgrade() -> None:
    # On PostgreSQL dropping a trigger function drops the triggers calling it.
    if op.get_bind().dialect.name == "sqlite":
        drops = ["DROP TRIGGER report_snapshots_" + name for name in _sqlite()]
    else:
        drops = ["DROP FUNCTION report_snapshots_" + name + "() CASCADE" for name in _postgresql()]
    for drop in drops:
        op.execute(drop)
    op.drop_index(op.f('ix_report_snapshots_period_end'), table_name='report_snapshots')
    op.drop_table('report_snapshots')
