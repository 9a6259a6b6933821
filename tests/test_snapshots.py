"""结账: a closed period's district bulletin is computed once and read back,
and is never stale: whatever changes the history before the period's end
(an event stamped in it, a case re-keyed, a unit renamed) discards it."""
from __future__ import annotations

from sqlalchemy import func, insert, select, update

from gridconsole.db import snapshots
from gridconsole.db.domain import Role, UnitKind
from gridconsole.db.models import Case, CaseEvent, ReportSnapshot, Unit
from gridconsole.db.scope import Actor
from gridconsole.db.stats import Period, compute

from test_stats import DISTRICT, TOTALS_W47, W47, scenario
from test_stats_world import C1, L, L1, L2, S1, add_case, add_events

AFTER = L("2026-12-20 00:00")  # long after W47 closed


async def kept(db) -> dict:
    async with db.read() as conn:
        rows = (await conn.execute(select(ReportSnapshot.kind, ReportSnapshot.first,
                                          ReportSnapshot.extras))).all()
    return {(kind, str(first)): extras for kind, first, extras in rows}


async def fresh(db, period=W47):
    return await compute(db, DISTRICT, period, now=AFTER, kept=False)


async def test_a_closed_week_is_computed_once_and_read_back_unchanged(db):
    await scenario(db)
    first = await compute(db, DISTRICT, W47, now=AFTER)
    assert await kept(db) == {("week", "2026-11-16"): True}
    # Read back: the same bulletin, to the byte, as computing it from the log.
    again = await compute(db, DISTRICT, W47, now=AFTER)
    assert again.as_json() == first.as_json() == (await fresh(db)).as_json()
    assert again.as_of == first.as_of == W47.end and again.totals == TOTALS_W47
    # Kept with hotspots and repeats even when asked without them (as the
    # screen asks for the previous period), and then read back either way.
    bare = await compute(db, DISTRICT, W47.previous(), now=AFTER, extras=False)
    assert bare.as_json() == (await compute(db, DISTRICT, W47.previous(), now=AFTER,
                                            extras=False, kept=False)).as_json()
    assert bare.hotspots == bare.repeat_complaints == []
    assert (await kept(db))[("week", "2026-11-09")] is True
    full = await compute(db, DISTRICT, W47.previous(), now=AFTER)
    assert full.as_json() == (await fresh(db, W47.previous())).as_json()
    assert (await compute(db, DISTRICT, W47.previous(), now=AFTER,
                          extras=False)).as_json() == bare.as_json()


async def test_history_written_into_a_closed_period_discards_its_bulletin(db):
    await scenario(db)
    month = Period.parse("2026-11")
    before = await compute(db, DISTRICT, W47, now=AFTER)
    await compute(db, DISTRICT, month, now=AFTER)
    # An event after the week's end leaves the week's bulletin alone, not the month's.
    await add_events(db, 4, "resolved", [
        ("callback", "2026-11-24 09:00", "closed", None, None, {"satisfaction": "satisfied"})])
    assert set(await kept(db)) == {("week", "2026-11-16")}
    # A case stamped inside the week (a late import of an old call, say) discards it …
    await add_case(db, 40, "2026-11-18 08:00", S1, C1, L1)
    assert await kept(db) == {}
    after = await compute(db, DISTRICT, W47, now=AFTER)
    assert after.totals["received"] == before.totals["received"] + 1
    assert after.as_json() == (await fresh(db)).as_json()
    # … and so does an event, changed or deleted.
    events = CaseEvent.__table__
    for change in (update(events).where(events.c.case_id == 40).values(note="改"),
                   events.delete().where(events.c.case_id == 40, events.c.seq == 1)):
        await compute(db, DISTRICT, W47, now=AFTER)
        assert await kept(db)
        async with db.write() as conn:
            await conn.execute(change)
        assert await kept(db) == {}


async def test_a_rekeyed_case_or_a_renamed_unit_discards_bulletins(db):
    await scenario(db)
    cases, units = Case.__table__, Unit.__table__
    await compute(db, DISTRICT, W47, now=AFTER)
    async with db.write() as conn:  # an ordinary write: state and holder, stamped now
        await conn.execute(update(cases).where(cases.c.id == 1).values(version=9))
    assert await kept(db)
    async with db.write() as conn:
        await conn.execute(update(cases).where(cases.c.id == 1).values(category_id=L2))
    assert await kept(db) == {}
    assert (await compute(db, DISTRICT, W47, now=AFTER)).as_json() == (await fresh(db)).as_json()
    async with db.write() as conn:
        await conn.execute(update(units).where(units.c.id == S1).values(name="新名街道"))
    assert await kept(db) == {}
    report = await compute(db, DISTRICT, W47, now=AFTER)
    assert "新名街道" in {u["unit"] for u in report.by_unit}


async def test_only_district_bulletins_are_kept_and_running_ones_as_tallies(db):
    from test_running import kept_rows

    await scenario(db)
    officer = Actor(99, "s1", "s1", Role.STREET_OFFICER, S1, UnitKind.STREET.value)
    await compute(db, officer, W47, now=AFTER)  # a scope follows current holders
    assert await kept(db) == {}
    # Running, or ended less than SETTLE ago: tallies as of SETTLE ago.
    running = L("2026-11-25 10:00")
    await compute(db, DISTRICT, W47.next(), now=running)
    await compute(db, DISTRICT, W47, now=W47.end + snapshots.SETTLE / 2)
    assert await kept_rows(db) == {
        ("week", "2026-11-23"): (running - snapshots.SETTLE, "tallied"),
        ("week", "2026-11-16"): (W47.end - snapshots.SETTLE / 2, "tallied")}
    # Closed: the bulletin itself, which replaces the tallies.
    report = await compute(db, DISTRICT, W47, now=W47.end + snapshots.SETTLE)
    assert (await kept_rows(db))["week", "2026-11-16"] == (W47.end, "report")
    assert report.totals == TOTALS_W47


async def test_a_write_committed_during_the_computation_is_not_lost(db):
    """The trigger cannot discard a bulletin not yet kept: keep() itself checks
    for events newer than the computation that belong before the period's end."""
    await scenario(db)
    body, seen = await snapshots.load(db, "week", W47.first, 1)
    assert body is None
    report = await fresh(db)
    await add_case(db, 41, "2026-11-19 08:00", S1, C1, L1)  # committed meanwhile
    await snapshots.keep(db, "week", W47.first, W47.end, 1, {"report": report.to_store()},
                         seen)
    assert await kept(db) == {}
    # Computed again from the newer events, it is kept.
    body, seen = await snapshots.load(db, "week", W47.first, 1)
    report = await fresh(db)
    await snapshots.keep(db, "week", W47.first, W47.end, 1, {"report": report.to_store()},
                         seen)
    assert set(await kept(db)) == {("week", "2026-11-16")}


async def test_many_rows_in_one_statement_discard_by_the_earliest(db):
    """PostgreSQL's triggers run once per statement (a COPY, an executemany)."""
    await scenario(db)
    await compute(db, DISTRICT, W47, now=AFTER)
    await compute(db, DISTRICT, W47.previous(), now=AFTER)
    rows = [dict(case_id=1, seq=seq, action="note", at=at, from_state="closed",
                 to_state="closed", note="补录") for seq, at in
            ((20, L("2026-12-01 08:00")), (21, L("2026-11-17 08:00")), (22, L("2026-12-02 08:00")))]
    async with db.write() as conn:
        await conn.execute(insert(CaseEvent.__table__), rows)
        assert await conn.scalar(select(func.count()).select_from(ReportSnapshot)) == 1
    assert set(await kept(db)) == {("week", "2026-11-09")}


async def test_a_database_that_refuses_the_write_still_gets_its_bulletin(db, db_url):
    """A read-only database (a reporting copy, a full disk …): the bulletin is
    computed and shown; it is just not kept."""
    from sqlalchemy import event

    from gridconsole.db.engine import Database

    await scenario(db)
    reader = Database(db_url)

    @event.listens_for(reader.engine.sync_engine, "connect")
    def _read_only(dbapi_conn, _record):
        if reader.is_sqlite:
            dbapi_conn.execute("PRAGMA query_only = ON")
        else:  # outside the driver adapter's transaction, so it outlives it
            dbapi_conn.run_async(lambda raw: raw.execute("SET default_transaction_read_only = on"))

    try:
        report = await compute(reader, DISTRICT, W47, now=AFTER)
    finally:
        await reader.dispose()
    assert report.totals == TOTALS_W47
    assert await kept(db) == {}


async def test_migration_0005_goes_down_and_up_again(db):
    """Down to 0004 leaves no trigger behind (a case and its events can still be
    written); up again, a backdated write discards a kept bulletin as before."""
    from alembic import command
    from sqlalchemy import inspect

    from gridconsole.db.schema import _config

    async def migrate(step, target):
        async with db.engine.connect() as conn:
            await conn.run_sync(lambda sync: step(_config(sync), target))
            await conn.commit()

    await scenario(db)
    await migrate(command.downgrade, "0004")
    async with db.read() as conn:
        assert not await conn.run_sync(lambda sync: inspect(sync).has_table("report_snapshots"))
    await add_case(db, 42, "2026-11-18 09:00", S1, C1, L1)
    await migrate(command.upgrade, "head")
    await compute(db, DISTRICT, W47, now=AFTER)
    assert await kept(db)
    await add_case(db, 43, "2026-11-18 10:00", S1, C1, L1)
    assert await kept(db) == {}


async def test_the_weekly_trend_reads_the_rates_of_kept_weeks(db):
    """The statistics screen's 12-week on-time trend takes a closed week's rate
    from its kept bulletin, and counts only the weeks after the last one kept."""
    from gridconsole.db.stats import on_time_trend

    await scenario(db)
    counted = await on_time_trend(db, DISTRICT, W47, now=AFTER)
    for week in (W47.shift(-2), W47.previous(), W47):
        await compute(db, DISTRICT, week, now=AFTER, extras=False)
    assert await on_time_trend(db, DISTRICT, W47, now=AFTER) == counted
    assert counted[-1][1] == TOTALS_W47["on_time_rate"]
    # Read, not counted: a rate changed in the kept row shows.
    table = ReportSnapshot.__table__
    async with db.write() as conn:
        body = await conn.scalar(select(table.c.body).where(table.c.first == W47.first))
        body["report"]["totals"]["on_time_rate"] = 0.1234
        await conn.execute(update(table).where(table.c.first == W47.first).values(body=body))
    assert (await on_time_trend(db, DISTRICT, W47, now=AFTER))[-1][1] == 0.1234


async def test_a_moment_before_what_is_kept_is_counted_and_keeps_it(db):
    """Asked as of a moment inside a week already closed and kept (a report
    regenerated "as it stood then"), the bulletin is counted for that moment,
    and the closed week's bulletin stays kept."""
    from test_running import kept_rows

    await scenario(db)
    await compute(db, DISTRICT, W47, now=AFTER)
    then = L("2026-11-19 12:00")
    earlier = await compute(db, DISTRICT, W47, now=then)
    assert earlier.as_json() == (await compute(db, DISTRICT, W47, now=then, kept=False)).as_json()
    assert earlier.totals["received"] < TOTALS_W47["received"]
    assert (await kept_rows(db))["week", "2026-11-16"] == (W47.end, "report")


async def test_a_change_without_events_during_a_count_is_not_lost(db):
    """A unit renamed while tallies are being brought forward: its trigger
    deletes the kept row, and keep() does not put back what was counted
    before the rename."""
    from gridconsole.db.stats import FORMULAS

    await scenario(db)
    running, week = L("2026-11-25 10:00"), W47.next()
    await compute(db, DISTRICT, week, now=running)
    body, seen = await snapshots.load(db, "week", week.first, FORMULAS)
    assert body is not None and seen.kept_at is not None
    units = Unit.__table__
    async with db.write() as conn:
        await conn.execute(update(units).where(units.c.id == S1).values(name="新名街道"))
    await snapshots.keep(db, "week", week.first, running, FORMULAS, body, seen)
    assert await kept(db) == {}
