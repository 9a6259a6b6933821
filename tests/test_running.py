"""A running period's district bulletin is kept as tallies some minutes old
and brought up to date from the cases touched since (db/stats.py, Tallied).
Whatever the district does meanwhile, it must equal a count from the log."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update

from gridconsole.db import clock, stats, workflow
from gridconsole.db.domain import Satisfaction, State
from gridconsole.db.feed import _Feed, _world
from gridconsole.db.lifecycle import Refused
from gridconsole.db.models import Case, ReportSnapshot
from gridconsole.db.stats import TOUCHED_MAX, Period, compute

cases, kept = Case.__table__, ReportSnapshot.__table__


async def kept_rows(db) -> dict:
    """(kind, first day) -> (cut-off, "report" or "tallied")."""
    async with db.read() as conn:
        rows = (await conn.execute(select(kept.c.kind, kept.c.first, kept.c.period_end,
                                          kept.c.body))).all()
    return {(k, str(f)): (clock.as_utc(end), next(iter(body))) for k, f, end, body in rows}


async def same_as_counted(db, actor, period, now) -> stats.Report:
    got = await compute(db, actor, period, now=now)
    want = await compute(db, actor, period, now=now, kept=False)
    assert got.as_json() == want.as_json(), (period.label, now)
    return got


async def center_moves(db, actor, rng: random.Random) -> None:
    """What the feed does not do: callbacks, redos, supervision, direct answers."""
    satisfaction = [s.value for s in Satisfaction]
    moves = [(State.RESOLVED, lambda i, v: workflow.callback(
                 db, actor, i, version=v, satisfaction=rng.choice(satisfaction))),
             (State.RESOLVED, lambda i, v: workflow.redo(
                 db, actor, i, reason="群众不认可", version=v)),
             (State.IN_PROGRESS, lambda i, v: workflow.supervise(db, actor, i, version=v)),
             (State.RECEIVED, lambda i, v: workflow.direct(
                 db, actor, i, result="已答复", version=v))]
    for state, move in moves:
        async with db.read() as conn:
            rows = (await conn.execute(select(cases.c.id, cases.c.version)
                                       .where(cases.c.state == state.value)
                                       .order_by(cases.c.id.desc()).limit(20))).all()
        if rows:
            try:
                await move(*rng.choice(rows))
            except Refused:
                pass


async def test_a_running_bulletin_brought_forward_equals_a_count_from_the_log(
        demo_db, officer, monkeypatch):
    touched = []
    count_touched = stats._touched

    async def spy(conn, since):
        found = await count_touched(conn, since)
        touched.append(len(found[0]) if found else TOUCHED_MAX)
        return found

    monkeypatch.setattr(stats, "_touched", spy)
    rng = random.Random(11)
    feed = _Feed(demo_db, await _world(demo_db), rng)
    week, month = (Period.containing(kind, clock.now()) for kind in ("week", "month"))
    first = clock.now()
    for _ in range(5):
        for period in (week, month):
            await same_as_counted(demo_db, officer, period, clock.now())
        # 7 minutes of the district at work: 21 feed steps, a few center moves.
        for _ in range(21):
            moment = clock.now() + timedelta(seconds=20)
            clock.set_clock(lambda m=moment: m)
            await feed.step()
        await center_moves(demo_db, officer, rng)
    # Brought forward each time, from tens of touched cases (of 1,500 a month).
    assert len(touched) >= 10 and sum(n > 0 for n in touched) >= 8 and max(touched) < 200, touched
    rows = await kept_rows(demo_db)
    for period in (week, month):
        cutoff, form = rows[period.kind, str(period.first)]
        # Kept as tallies, brought forward at least once (every REBASE).
        assert form == "tallied" and cutoff > first - stats.snapshots.SETTLE
        assert cutoff <= clock.now() - stats.snapshots.SETTLE


async def test_new_cases_bring_hotspots_and_repeat_complaints_up_to_date(demo_db, officer):
    """Calls from one phone after the tallies were kept make a repeat complaint."""
    week = Period.containing("week", clock.now())
    before = await same_as_counted(demo_db, officer, week, clock.now())
    async with demo_db.read() as conn:
        street, community, grid, category = (await conn.execute(
            select(cases.c.street_id, cases.c.community_id, cases.c.grid_id, cases.c.category_id)
            .where(cases.c.community_id.is_not(None)).limit(1))).one()
    for i in range(12):
        moment = clock.now() + timedelta(minutes=1)
        clock.set_clock(lambda m=moment: m)
        await workflow.receive(demo_db, officer, channel="hotline", source_ref=f"run-{i}",
                               category_id=category, urgency="normal",
                               content="同一问题反复反映", street_id=street,
                               community_id=community, grid_id=grid,
                               reporter_phone="13900000042")
    # (A bulletin counts what happened before its moment, so a minute later.)
    after = await same_as_counted(demo_db, officer, week, clock.now() + timedelta(minutes=1))
    assert after.totals["received"] == before.totals["received"] + 12
    ours = [r for r in after.repeat_complaints if r["kind"] == "phone" and r["count"] >= 12]
    assert ours and ours[0]["key"] != "13900000042"  # masked
    assert (await kept_rows(demo_db))[week.kind, str(week.first)][1] == "tallied"


async def test_a_kept_tally_that_does_not_add_up_is_counted_again(demo_db, officer):
    """Never expected (the triggers keep it exact), but if what was kept lacks
    what a touched case once added, the bulletin is still the log's."""
    week = Period.containing("week", clock.now())
    await compute(demo_db, officer, week, now=clock.now())
    async with demo_db.write() as conn:
        body = await conn.scalar(select(kept.c.body).where(kept.c.kind == "week"))
        for row in body["tallied"]["fine"]:
            row[-3:] = [[0] * len(stats.COUNTS), [], []]
        await conn.execute(update(kept).where(kept.c.kind == "week").values(body=body))
    async with demo_db.read() as conn:
        case_id, version, holder = (await conn.execute(
            select(cases.c.id, cases.c.version, cases.c.holder_unit_id)
            .where(cases.c.state == State.IN_PROGRESS.value, cases.c.created_at >= week.start)
            .order_by(cases.c.id.desc()).limit(1))).one()
    moment = clock.now() + timedelta(minutes=1)
    clock.set_clock(lambda: moment)
    feed = _Feed(demo_db, await _world(demo_db), random.Random(1))
    await workflow.resolve(demo_db, feed.holder_operator(holder), case_id, result="已处置",
                           closure_reason="solved", version=version)
    report = await same_as_counted(demo_db, officer, week, moment)
    assert report.totals["received"] > 0


async def test_after_many_touched_cases_the_period_is_counted_again(demo_db, officer,
                                                                     monkeypatch):
    """Past TOUCHED_MAX cases touched since the kept tallies (a bulk import, a
    night without requests), the period is counted from the log and kept anew."""
    monkeypatch.setattr(stats, "TOUCHED_MAX", 2)
    week = Period.containing("week", clock.now())
    await compute(demo_db, officer, week, now=clock.now())
    kept_at = (await kept_rows(demo_db))[week.kind, str(week.first)][0]
    feed = _Feed(demo_db, await _world(demo_db), random.Random(3))
    for _ in range(10):
        moment = clock.now() + timedelta(minutes=2)
        clock.set_clock(lambda m=moment: m)
        await feed.step()
    await same_as_counted(demo_db, officer, week, clock.now())
    cutoff, form = (await kept_rows(demo_db))[week.kind, str(week.first)]
    assert form == "tallied" and cutoff == clock.now() - stats.snapshots.SETTLE > kept_at
