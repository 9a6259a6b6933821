"""Writing validated rows: one transaction per batch, each key at most once.

The channel's own id (``channel`` + ``source_ref``) is the key.  A batch
skips the keys already stored and inserts the rest with their receive
events in one transaction, so an import killed at any point and run again
ends with every row exactly once.
"""
from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..bulk import insert_rows
from ..domain import Action
from ..engine import Database
from ..models import AuditEntry, Case, CaseEvent
from ..scope import Actor
from ..workflow import receive_event

cases, events, audit = Case.__table__, CaseEvent.__table__, AuditEntry.__table__
LOOKUP = 500  # keys per existence query: well under every driver's bind limit
IMPORTER = "import"


async def store_batch(db: Database, rows: list[dict], actor: Actor | None,
                      source: str) -> tuple[int, int]:
    """Insert ``rows`` that are not stored yet; returns (imported, duplicates)."""
    if not rows:
        return 0, 0
    async with db.write() as conn:
        if db.is_sqlite:
            made = await _sqlite(conn, rows)
        else:
            made = await _postgresql(conn, rows)
        operator_id = actor.id if actor else None
        await insert_rows(conn, events, [receive_event(case_id, row, operator_id)
                                         for case_id, row in made])
        if made:
            await conn.execute(insert(audit).values(
                at=rows[0]["created_at"], operator_id=operator_id,
                operator_code=actor.code if actor else IMPORTER, what=Action.RECEIVE.value,
                detail=f"{IMPORTER} {source}: {len(made)}"))
    return len(made), len(rows) - len(made)


async def _existing(conn, rows: list[dict]) -> set[tuple[str, str]]:
    keys = [(row["channel"], row["source_ref"]) for row in rows]
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), LOOKUP):
        part = keys[start:start + LOOKUP]
        channels = {channel for channel, _ in part}
        refs = [ref for _, ref in part]
        query = select(cases.c.channel, cases.c.source_ref).where(
            cases.c.channel.in_(channels) if len(channels) > 1 else cases.c.channel == part[0][0],
            cases.c.source_ref.in_(refs))
        found.update(tuple(row) for row in await conn.execute(query))
    return found


async def _sqlite(conn, rows: list[dict]) -> list[tuple[int, dict]]:
    """Under BEGIN IMMEDIATE nobody else writes: ids can be given here, which
    keeps the driver's fast executemany (no RETURNING)."""
    existing = await _existing(conn, rows)
    fresh = [row for row in rows if (row["channel"], row["source_ref"]) not in existing]
    if not fresh:
        return []
    next_id = (await conn.scalar(select(func.max(cases.c.id))) or 0) + 1
    for offset, row in enumerate(fresh):
        row["id"] = next_id + offset
    await insert_rows(conn, cases, fresh)
    return [(row["id"], row) for row in fresh]


async def _postgresql(conn, rows: list[dict]) -> list[tuple[int, dict]]:
    """ON CONFLICT DO NOTHING: a key another terminal stored meanwhile is a duplicate."""
    statement = (pg_insert(cases).on_conflict_do_nothing(constraint="uq_cases_channel_source_ref")
                 .returning(cases.c.id, cases.c.channel, cases.c.source_ref))
    result = await conn.execute(statement, rows)
    by_key = {(row["channel"], row["source_ref"]): row for row in rows}
    return [(case_id, by_key[(channel, ref)]) for case_id, channel, ref in result]
