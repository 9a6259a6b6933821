"""Writing validated rows: one transaction per batch, each key at most once.

The channel's own id (``channel`` + ``source_ref``) is the key.  A batch
skips the keys already stored and inserts the rest with their receive
events in one transaction, so an import killed at any point and run again
ends with every row exactly once.
"""
from __future__ import annotations

import json
from datetime import timezone

from sqlalchemy import JSON, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from ..bulk import insert_rows
from ..domain import Action
from ..engine import Database
from ..models import AuditEntry, Case, CaseEvent, UTCDateTime
from ..scope import Actor
from ..workflow import receive_event

cases, events, audit = Case.__table__, CaseEvent.__table__, AuditEntry.__table__
RETRIES = 3
LOOKUP = 900  # keys per SQLite lookup: under the oldest SQLite's 999 bound values
IMPORTER = "import"


class _Conflict(Exception):
    """A key stored by someone else between our look and our COPY."""


async def store_batch(db: Database, rows: list[dict], actor: Actor | None,
                      source: str) -> tuple[int, int]:
    """Insert ``rows`` that are not stored yet; returns (imported, duplicates)."""
    if not rows:
        return 0, 0
    for _ in range(RETRIES - 1):
        try:
            return await _store(db, rows, actor, source)
        except (IntegrityError, _Conflict):
            # PostgreSQL: another terminal stored one of these keys since we
            # looked.  The batch was rolled back; looking again skips them.
            continue
    return await _store(db, rows, actor, source)


async def _store(db: Database, rows: list[dict], actor: Actor | None,
                 source: str) -> tuple[int, int]:
    async with db.write() as conn:
        existing = await _existing(conn, rows, db.is_sqlite)
        fresh = [row for row in rows if (row["channel"], row["source_ref"]) not in existing]
        if fresh:
            await _give_ids(conn, fresh, db.is_sqlite)
            operator_id = actor.id if actor else None
            received = [receive_event(row["id"], row, operator_id) for row in fresh]
            if db.is_sqlite:
                await insert_rows(conn, cases, fresh)
                await insert_rows(conn, events, received)
            else:
                await _copy(conn, cases, fresh)
                await _copy(conn, events, received)
            await conn.execute(insert(audit).values(
                at=rows[0]["created_at"], operator_id=operator_id,
                operator_code=actor.code if actor else IMPORTER, what=Action.RECEIVE.value,
                detail=f"{IMPORTER} {source}: {len(fresh)}"))
    return len(fresh), len(rows) - len(fresh)


async def _existing(conn, rows: list[dict], sqlite: bool) -> set[tuple[str, str]]:
    """The keys of ``rows`` already stored.  Straight to the driver: building a
    long IN list through SQLAlchemy costs more than the lookup itself."""
    by_channel: dict[str, list[str]] = {}
    for row in rows:
        by_channel.setdefault(row["channel"], []).append(row["source_ref"])
    found: set[tuple[str, str]] = set()
    for channel, refs in by_channel.items():
        if sqlite:
            for start in range(0, len(refs), LOOKUP):
                part = refs[start:start + LOOKUP]
                # Only placeholders are generated; every value is bound.
                query = ("SELECT source_ref FROM cases WHERE channel = ? AND source_ref IN ("
                         + ",".join("?" * len(part)) + ")")
                result = await conn.exec_driver_sql(query, (channel, *part))
                found.update((channel, ref) for ref, in result)
        else:
            result = await conn.execute(text(
                "SELECT source_ref FROM cases WHERE channel = :channel AND source_ref = ANY(:refs)"),
                {"channel": channel, "refs": refs})
            found.update((channel, ref) for ref, in result)
    return found


async def _give_ids(conn, rows: list[dict], sqlite: bool) -> None:
    """Ids known before inserting, so the fast paths need no RETURNING.  SQLite:
    BEGIN IMMEDIATE holds the only write lock.  PostgreSQL: from the sequence."""
    if sqlite:
        first = (await conn.scalar(select(func.max(cases.c.id))) or 0) + 1
        ids = range(first, first + len(rows))
    else:
        ids = (await conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :n)"),
            {"n": len(rows)})).scalars().all()
    for row, case_id in zip(rows, ids):
        row["id"] = case_id


async def _copy(conn, table, rows: list[dict]) -> None:
    """PostgreSQL COPY through the driver: far faster than executemany."""
    names = [c.name for c in table.columns if c.name in rows[0]]
    convert = [(i, _pg_value(table.c[name])) for i, name in enumerate(names)]
    convert = [(i, f) for i, f in convert if f]
    records = []
    for row in rows:
        record = [row[name] for name in names]
        for i, f in convert:
            record[i] = f(record[i])
        records.append(record)
    from asyncpg.exceptions import UniqueViolationError

    raw = (await conn.get_raw_connection()).driver_connection
    try:
        await raw.copy_records_to_table(table.name, records=records, columns=names)
    except UniqueViolationError as exc:
        raise _Conflict() from exc


def _pg_value(column):
    if isinstance(column.type, UTCDateTime):
        return lambda v: v if v is None or v.tzinfo is None else \
            v.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(column.type, JSON):
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
    return None
