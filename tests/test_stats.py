"""Every KPI of DESIGN.md §4, exactly, on cases built by hand across week and
month boundaries: extensions, returns, redos, merges, an invalid case, a
dispatch signed only after the period, a case overdue from an earlier week."""
from __future__ import annotations

from datetime import date

import pytest

from gridconsole.db.domain import Role, UnitKind
from gridconsole.db.scope import Actor
from gridconsole.db.stats import Period, competition_ranks, compute, daily, on_time_trend, score

from test_stats_world import (C1, C2, DEP, DEP2, G1, L, L1, L2, L3, PG, POL, S1, S2, S3, ST, T1,
                              T2, add_case, add_events, build_world, dispatch)

DISTRICT = Actor(None, "t", "t", Role.DISTRICT_OFFICER)
W47 = Period.parse("2026-W47")  # Mon 2026-11-16 .. Sun 2026-11-22, Asia/Shanghai
PHONE = "13812345678"


def test_periods_are_shanghai_weeks_and_months():
    assert W47.start == L("2026-11-16 00:00") and W47.end == L("2026-11-23 00:00")
    assert W47.start.isoformat() == "2026-11-15T16:00:00+00:00"
    assert W47.previous().label == "2026-W46" and W47.next().label == "2026-W48"
    month = Period.parse("2026-11")
    assert month.start == L("2026-11-01 00:00") and month.end == L("2026-12-01 00:00")
    assert Period.parse("2026-01").previous().label == "2025-12"
    assert Period.parse("2021-W01").previous().label == "2020-W53"
    assert Period.containing("week", L("2026-11-22 23:59")).label == "2026-W47"
    assert Period.containing("week", L("2026-11-23 00:00")).label == "2026-W48"
    assert Period.last_complete("month", L("2026-11-20 10:00")).label == "2026-10"
    assert Period.last_complete("week", L("2026-11-20 10:00")).label == "2026-W46"
    for bad in ("2026-13", "2026-W54", "W47", "2026/11", ""):
        with pytest.raises(ValueError):
            Period.parse(bad)
    with pytest.raises(ValueError):
        Period.parse("2026-11", "week")
    assert len(Period.parse("2026-02").days()) == 28 and W47.days()[0] == date(2026, 11, 16)


def test_score_and_ranks():
    kpis = dict(on_time_rate=0.5, satisfaction_rate=1.0, ack_on_time_rate=1 / 3, return_rate=0.0)
    assert score(kpis) == 69.17
    assert score(dict(on_time_rate=None, satisfaction_rate=None, ack_on_time_rate=0.0,
                      return_rate=1.0)) == 0.0
    assert score(dict.fromkeys(kpis)) is None
    assert competition_ranks([90.0, 95.0, 90.0, 80.0]) == [2, 1, 2, 4]


async def scenario(db, *, with_later_events: bool = True) -> None:
    await build_world(db)
    # c1: signed and resolved on time, satisfied.
    await add_case(db, 1, "2026-11-16 09:00", S1, C1, L1, phone=PHONE, events=[
        dispatch("2026-11-16 10:00", G1, "2026-11-16 12:00", "2026-11-18 10:00"),
        ("sign", "2026-11-16 11:00", "in_progress", G1, "2026-11-16 12:00", None),
        ("resolve", "2026-11-17 10:00", "resolved", G1, "2026-11-18 10:00", None),
        ("callback", "2026-11-17 12:00", "closed", G1, None, {"satisfaction": "satisfied"})])
    # c2: a department's professional grid signs late, is extended, still resolves late.
    await add_case(db, 2, "2026-11-16 20:00", S1, C1, L2, channel="grid_app", events=[
        dispatch("2026-11-16 21:00", PG, "2026-11-17 09:00", "2026-11-19 21:00"),
        ("sign", "2026-11-17 10:00", "in_progress", PG, "2026-11-17 09:00", None),
        ("extend", "2026-11-18 10:00", "in_progress", PG, "2026-11-21 21:00", {"days": 2}),
        ("resolve", "2026-11-22 22:00", "resolved", PG, "2026-11-21 21:00", None),
        ("callback", "2026-11-22 23:00", "closed", PG, None, {"satisfaction": "unreachable"})])
    # c3: the police station returns it; the department signs, resolves late, is
    # supervised, redone, resolved again on time; the citizen is unsatisfied.
    await add_case(db, 3, "2026-11-17 08:00", S2, C2, L3, phone=PHONE, events=[
        dispatch("2026-11-17 09:00", ST, "2026-11-17 11:00", "2026-11-18 09:00"),
        ("return", "2026-11-17 10:00", "received", None, None, {"reason": "非本所"}),
        dispatch("2026-11-17 11:00", DEP, "2026-11-17 13:00", "2026-11-18 11:00"),
        ("sign", "2026-11-17 12:00", "in_progress", DEP, "2026-11-17 13:00", None),
        ("supervise", "2026-11-18 08:00", "in_progress", DEP, None, None),
        ("resolve", "2026-11-18 12:00", "resolved", DEP, "2026-11-18 11:00", None),
        ("redo", "2026-11-19 09:00", "in_progress", DEP, "2026-11-20 09:00", None),
        ("resolve", "2026-11-19 15:00", "resolved", DEP, "2026-11-20 09:00", None),
        ("callback", "2026-11-20 10:00", "closed", DEP, None, {"satisfaction": "unsatisfied"})])
    # c4: answered directly by the center, Sunday night (still W47).
    await add_case(db, 4, "2026-11-22 23:30", S2, C2, L3, phone=PHONE, events=[
        ("direct", "2026-11-22 23:45", "resolved", None, None, {"result": "已答复"})])
    # c5 invalid, c6 merged into c1.
    await add_case(db, 5, "2026-11-18 10:00", S1, C1, L1, channel="city_mgmt", events=[
        ("invalidate", "2026-11-18 11:00", "invalid", None, None, {"reason": "重复"})])
    await add_case(db, 6, "2026-11-19 10:00", S1, C1, L1, events=[
        ("merge", "2026-11-19 11:00", "merged", None, None, {"parent_id": 1})])
    # c7: from W46, signed, still in progress and overdue since Sat 14th.
    await add_case(db, 7, "2026-11-13 10:00", S2, C2, L3, channel="grid_app", events=[
        dispatch("2026-11-13 11:00", ST, "2026-11-13 13:00", "2026-11-14 11:00"),
        ("sign", "2026-11-13 12:00", "in_progress", ST, "2026-11-13 13:00", None)])
    # c8: dispatched Sunday night, signed (in time) only after the week ended.
    await add_case(db, 8, "2026-11-22 22:00", S1, C1, L2, channel="grid_app", events=[
        dispatch("2026-11-22 23:00", G1, "2026-11-23 01:00", "2026-11-27 23:00")])
    # c10 / c11: either side of the Shanghai midnight that starts November.
    await add_case(db, 10, "2026-10-31 23:30", S3, C1, L1)
    await add_case(db, 11, "2026-11-01 00:10", S1, C1, L1, events=[
        ("invalidate", "2026-11-01 01:00", "invalid", None, None, {"reason": "x"})])
    if with_later_events:
        await later_events(db)


async def later_events(db) -> None:
    await add_events(db, 8, "dispatched", [
        ("sign", "2026-11-23 00:30", "in_progress", G1, "2026-11-23 01:00", None),
        ("resolve", "2026-11-24 10:00", "resolved", G1, "2026-11-27 23:00", None)])
    await add_events(db, 7, "in_progress", [
        ("extend", "2026-11-23 09:00", "in_progress", ST, "2026-12-01 11:00", {"days": 5})])


TOTALS_W47 = {
    "received": 7, "dispatched": 4, "direct": 1, "resolved": 4,
    "ack_on_time_rate": 0.4, "resolve_rate": 0.8, "on_time_rate": 0.6667, "overdue_open": 1,
    "return_rate": 0.2, "redo_rate": 0.25, "satisfaction_rate": 0.5,
    "handle_hours": {"mean": 74.33, "median": 54.0, "p90": 145.0},
    "ack_minutes": {"median": 60.0, "p90": 780.0}, "supervised": 1,
}
STREET_S1 = {
    "received": 5, "dispatched": 3, "direct": 0, "resolved": 2,
    "ack_on_time_rate": 0.3333, "resolve_rate": 0.6667, "on_time_rate": 0.5, "overdue_open": 0,
    "return_rate": 0.0, "redo_rate": 0.0, "satisfaction_rate": 1.0,
    "handle_hours": {"mean": 84.5, "median": 84.5, "p90": 145.0},
    "ack_minutes": {"median": 420.0, "p90": 780.0}, "supervised": 0,
}
STREET_S2 = {
    "received": 2, "dispatched": 1, "direct": 1, "resolved": 2,
    "ack_on_time_rate": 0.5, "resolve_rate": 1.0, "on_time_rate": 1.0, "overdue_open": 1,
    "return_rate": 0.5, "redo_rate": 0.5, "satisfaction_rate": 0.0,
    "handle_hours": {"mean": 54.0, "median": 54.0, "p90": 54.0},
    "ack_minutes": {"median": 60.0, "p90": 60.0}, "supervised": 1,
}
DEPT = {
    "received": 2, "dispatched": 1, "direct": 0, "resolved": 2,
    "ack_on_time_rate": 0.5, "resolve_rate": 1.0, "on_time_rate": 0.5, "overdue_open": 0,
    "return_rate": 0.0, "redo_rate": 0.5, "satisfaction_rate": 0.0,
    "handle_hours": {"mean": 99.5, "median": 99.5, "p90": 145.0},
    "ack_minutes": {"median": 420.0, "p90": 780.0}, "supervised": 1,
}
POLICE = {
    "received": 0, "dispatched": 1, "direct": 0, "resolved": 0,
    "ack_on_time_rate": 0.0, "resolve_rate": None, "on_time_rate": None, "overdue_open": 1,
    "return_rate": 1.0, "redo_rate": None, "satisfaction_rate": None,
    "handle_hours": {"mean": None, "median": None, "p90": None},
    "ack_minutes": {"median": None, "p90": None}, "supervised": 0,
}


def kpis(row: dict) -> dict:
    return {k: row[k] for k in TOTALS_W47}


def unit(report, unit_id):
    return next(u for u in report.by_unit if u["unit_id"] == unit_id)


async def test_week_kpis_exactly(db):
    await scenario(db)
    report = await compute(db, DISTRICT, W47, now=L("2026-11-25 10:00"))
    assert report.as_of == W47.end
    assert report.totals == TOTALS_W47
    assert kpis(unit(report, S1)) == STREET_S1
    assert kpis(unit(report, S2)) == STREET_S2
    assert kpis(unit(report, DEP)) == DEPT
    assert kpis(unit(report, POL)) == POLICE
    # Ranking: weights 35/35/20/10 over the figures that have a denominator.
    assert (unit(report, S1)["score"], unit(report, S1)["rank"]) == (69.17, 1)
    assert (unit(report, S2)["score"], unit(report, S2)["rank"]) == (50.0, 2)
    assert (unit(report, DEP)["score"], unit(report, DEP)["rank"]) == (37.5, 1)
    assert (unit(report, POL)["score"], unit(report, POL)["rank"]) == (0.0, 2)
    assert [u["unit_id"] for u in report.apart("street")] == [S3]
    assert [u["unit_id"] for u in report.apart("department")] == [DEP2]
    assert [u["unit_id"] for u in report.red_list("street")] == [S1, S2]
    assert report.black_list("street") == []
    by_cat = {c["category_id"]: c for c in report.by_category}
    assert kpis(by_cat[T1]) == STREET_S1 and kpis(by_cat[T2]) == STREET_S2
    by_channel = {c["channel"]: c for c in report.by_channel}
    assert by_channel["hotline"]["received"] == 4 and by_channel["grid_app"]["received"] == 2
    assert by_channel["city_mgmt"]["resolve_rate"] is None  # only an invalid case
    # Repeat complaints: the phone (c1, c3, c4) and two community + category pairs.
    repeats = {(r["kind"], r["key"]): r for r in report.repeat_complaints}
    assert set(repeats) == {("phone", "138****5678"), ("community_category", "一社区 / 占道经营"),
                            ("community_category", "二村 / 噪音扰民")}
    assert repeats["phone", "138****5678"]["case_ids"] == [1, 3, 4]
    assert repeats["community_category", "二村 / 噪音扰民"]["case_ids"] == [7, 3, 4]
    assert all(PHONE not in str(r) for r in report.repeat_complaints)
    assert report.hotspots == []


async def test_figures_are_as_of_the_period_end(db):
    """Events after the week change nothing: the same figures before and after."""
    await scenario(db, with_later_events=False)
    before = await compute(db, DISTRICT, W47, now=L("2026-11-23 00:00"))
    await later_events(db)
    after = await compute(db, DISTRICT, W47, now=L("2026-12-20 00:00"))
    assert before.as_json() == after.as_json()
    assert after.totals == TOTALS_W47
    # The running week W48 sees c8 signed (on time: sign due 01:00) and resolved.
    w48 = await compute(db, DISTRICT, W47.next(), now=L("2026-11-25 10:00"))
    assert w48.totals["received"] == 0 and w48.totals["resolved"] == 1
    assert w48.totals["ack_on_time_rate"] is None  # no dispatch in W48
    assert w48.totals["on_time_rate"] == 1.0
    assert w48.totals["overdue_open"] == 0  # c7 was extended on the 23rd to Dec 1
    assert w48.as_of == L("2026-11-25 10:00")


async def test_overdue_follows_the_extension(db):
    await scenario(db)
    w48 = await compute(db, DISTRICT, W47.next(), now=L("2026-12-20 00:00"))
    assert w48.totals["overdue_open"] == 0  # c7's deadline moved to Dec 1
    w49 = await compute(db, DISTRICT, Period.parse("2026-W49"), now=L("2026-12-20 00:00"))
    assert w49.totals["overdue_open"] == 1


async def test_month_boundary_in_shanghai_time(db):
    await scenario(db)
    october = await compute(db, DISTRICT, Period.parse("2026-10"), now=L("2026-12-20 00:00"))
    november = await compute(db, DISTRICT, Period.parse("2026-11"), now=L("2026-12-20 00:00"))
    assert october.totals["received"] == 1  # c10, 23:30 on Oct 31 local (15:30 UTC)
    assert november.totals["received"] == 9  # c11 at 00:10 on Nov 1 local, c1–c8
    assert november.totals["resolve_rate"] == 0.8333  # c1 c2 c3 c4 c8 of c1 c2 c3 c4 c7 c8
    assert unit(october, S3)["received"] == 1


async def test_street_officer_sees_their_street_only(db):
    await scenario(db)
    officer = Actor(99, "s1", "s1", Role.STREET_OFFICER, S1, UnitKind.STREET.value)
    report = await compute(db, officer, W47, now=L("2026-11-25 10:00"))
    assert kpis(report.totals) == STREET_S1
    assert [u["unit_id"] for u in report.by_unit] == [S1]
    assert {r["key"] for r in report.repeat_complaints} == {"一社区 / 占道经营"}


async def test_hotspots(db):
    await build_world(db)
    # Four earlier weeks: 1, 0, 2, 1 cases of 垃圾堆放 in 二村; this week 12 → hotspot.
    n = 100
    for week, count in ((-4, 1), (-3, 0), (-2, 2), (-1, 1), (0, 12)):
        day = W47.shift(week).first
        for i in range(count):
            n += 1
            await add_case(db, n, f"{day} {8 + i % 10:02d}:00", S2, C2, L2)
    report = await compute(db, DISTRICT, W47, now=L("2026-11-25 10:00"))
    assert report.hotspots == [
        {"kind": "category", "id": L2, "name": "垃圾堆放", "count": 12, "baseline": 1.0,
         "ratio": 12.0},
        {"kind": "community", "id": C2, "name": "二村", "count": 12, "baseline": 1.0,
         "ratio": 12.0}]
    # One case fewer than ten is not a hotspot, however steep the rise.
    w46 = await compute(db, DISTRICT, W47.previous(), now=L("2026-11-25 10:00"))
    assert w46.hotspots == []


async def test_chart_series(db):
    await scenario(db)
    days = await daily(db, DISTRICT, W47, now=L("2026-11-25 10:00"))
    assert [d for d, _, _ in days] == W47.days()
    assert [r for _, r, _ in days] == [2, 1, 1, 1, 0, 0, 2]
    assert [s for _, _, s in days] == [0, 1, 0, 1, 0, 0, 2]
    trend = await on_time_trend(db, DISTRICT, W47, now=L("2026-11-25 10:00"))
    assert [p.label for p, _ in trend][-2:] == ["2026-W46", "2026-W47"]
    assert len(trend) == 12 and trend[-1][1] == 0.6667 and trend[-2][1] is None


async def test_a_server_in_shanghai_time_gives_the_same_figures(db):
    """Times are stored as UTC without a zone.  A PostgreSQL server set to
    Asia/Shanghai (as one in China may be) must not shift any compare: a case
    resolved on time late on Sunday, redone and resolved again after midnight,
    counts in its week, in the bulletin and in the trend alike."""
    if db.is_sqlite:
        pytest.skip("a PostgreSQL session's time zone")
    from sqlalchemy import text

    later = L("2026-12-20 00:00")
    await scenario(db)
    await add_case(db, 50, "2026-11-22 20:00", S1, C1, L1, events=[
        dispatch("2026-11-22 20:10", G1, "2026-11-22 21:00", "2026-11-23 20:10"),
        ("sign", "2026-11-22 20:20", "in_progress", G1, "2026-11-22 21:00", None),
        ("resolve", "2026-11-22 23:00", "resolved", G1, "2026-11-23 20:10", None),
        ("redo", "2026-11-23 01:00", "in_progress", G1, "2026-11-24 01:00", None),
        ("resolve", "2026-11-23 02:00", "resolved", G1, "2026-11-24 01:00", None)])
    before = await compute(db, DISTRICT, W47, now=later, kept=False)
    assert before.totals["on_time_rate"] == 0.75  # c1, c3 and c50 of c1, c2, c3, c50
    async with db.write() as conn:
        name = await conn.scalar(text("SELECT current_database()"))
        await conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Shanghai'"))
    await db.engine.dispose()  # new sessions start in Shanghai time
    after = await compute(db, DISTRICT, W47, now=later, kept=False)
    assert after.as_json() == before.as_json()
    trend = await on_time_trend(db, DISTRICT, W47, now=later)
    assert trend[-1][1] == 0.75
