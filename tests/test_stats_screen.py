"""The statistics screen from the keyboard: periods, week/month, tabs, drill-down,
and snapshots with charts at 80x24 and 160x48, in Chinese and in English."""
from __future__ import annotations

import asyncio

import pytest

from gridconsole.console.app import GridConsole
from gridconsole.console.screens.stats import StatsScreen
from gridconsole.db.engine import Database
from gridconsole.db.i18n import set_language
from gridconsole.db.workflow import load_actor


def console(url, actor) -> GridConsole:
    app = GridConsole(url, actor, watch=False)
    app.animation_level = "none"
    return app


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_stats(app, pilot) -> StatsScreen:
    await pilot.press("3")
    screen = app.screen
    assert isinstance(screen, StatsScreen)
    await screen.ready.wait()
    await settle(app, pilot)
    return screen


async def test_step_through_periods_and_switch_to_months(demo_url, officer):
    app = console(demo_url, officer)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_stats(app, pilot)
        # Default: the running week against the last complete one.
        assert screen.loaded.period.label == "2026-W47"
        assert screen.loaded.previous.period.label == "2026-W46"
        assert screen.loaded.report.as_of < screen.loaded.period.end
        await pilot.press("right_square_bracket")  # no future periods
        assert screen.period.label == "2026-W47"
        await pilot.press("left_square_bracket")
        await screen.ready.wait()
        await settle(app, pilot)
        assert screen.loaded.period.label == "2026-W46"
        assert screen.loaded.previous.period.label == "2026-W45"
        kpis = screen.query_one("#kpi-table")
        assert kpis.row_count == 17
        received = kpis.get_row("received")
        assert received[1].plain == f"{screen.loaded.report.totals['received']:,}"
        await pilot.press("w")
        await screen.ready.wait()
        await settle(app, pilot)
        assert screen.loaded.period.label == "2026-11"
        assert screen.loaded.previous.period.label == "2026-10"
        await pilot.press("left_square_bracket")
        await screen.ready.wait()
        await settle(app, pilot)
        assert screen.loaded.period.label == "2026-10"
        streets = screen.query_one("#street-table")
        assert streets.row_count == sum(1 for u in screen.loaded.report.by_unit
                                        if u["group"] == "street")


async def test_enter_drills_down_to_the_queue(demo_url, officer, monkeypatch):
    app = console(demo_url, officer)
    opened = []

    async def open_queue(case_filter):
        opened.append(case_filter)

    monkeypatch.setattr(app, "open_queue", open_queue)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_stats(app, pilot)
        report = screen.loaded.report
        await pilot.press("t")  # rankings
        assert screen.query_one("#stats-tabs").active == "rank"
        screen.query_one("#street-table").focus()
        await pilot.press("enter")
        first = report.ranked("street")[0]
        f = opened.pop()
        assert f.area_id == first["unit_id"] and f.include_closed
        assert (f.created_from, f.created_to) == (report.period.start, report.period.end)
        assert first["unit"] in f.title and "2026-W47" in f.title
        await pilot.press("t")  # categories and channels
        screen.query_one("#category-table").focus()
        await pilot.press("down", "enter")
        f = opened.pop()
        assert f.category_ids == (report.by_category[1]["category_id"],) and f.include_closed
        await pilot.press("t")  # hotspots and repeats
        screen.query_one("#repeat-table").focus()
        await pilot.press("enter")
        f = opened.pop()
        assert f.case_ids == tuple(report.repeat_complaints[0]["case_ids"])
        if report.hotspots:
            screen.query_one("#hotspot-table").focus()
            await pilot.press("enter")
            hot = report.hotspots[0]
            f = opened.pop()
            assert (f.category_ids == (hot["id"],)) if hot["kind"] == "category" \
                else (f.area_id == hot["id"])


def _officer(url):
    async def load():
        db = Database(url)
        try:
            return await load_actor(db, "demo")
        finally:
            await db.dispose()
    return asyncio.run(load())


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_charts(snap_compare, demo_url, lang, size):
    set_language(lang)
    app = console(demo_url, _officer(demo_url))

    async def run_before(pilot) -> None:
        screen = await open_stats(app, pilot)
        await pilot.press("left_square_bracket")  # the last complete week
        await screen.ready.wait()
        await settle(app, pilot)
        screen.query_one("#stats-tabs").active = "charts"
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_snapshot_kpis(snap_compare, demo_url):
    """The default view: the running week beside the last complete one."""
    app = console(demo_url, _officer(demo_url))

    async def run_before(pilot) -> None:
        await open_stats(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_commits_elsewhere_refresh_the_figures_at_most_once_per_interval(
        demo_url, officer, monkeypatch):
    """A busy district commits every few seconds and each commit posts
    DataChanged: the running bulletin is computed again once per REFRESH_S,
    however many arrive, and shows the time it is as of."""
    from gridconsole.console.messages import DataChanged
    from gridconsole.console.screens import stats as screen_module
    from gridconsole.db import stats

    monkeypatch.setattr(screen_module, "REFRESH_S", 2.0)
    computed = []
    real = stats.compute

    async def counted(*args, **kwargs):
        computed.append(args[2].label)
        return await real(*args, **kwargs)

    monkeypatch.setattr(stats, "compute", counted)
    app = console(demo_url, officer)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_stats(app, pilot)
        assert computed == ["2026-W47", "2026-W46"]
        assert "截至 10:00" in str(screen.query_one("#stats-period").render())
        for _ in range(10):
            screen.post_message(DataChanged())
        await pilot.pause(0.3)
        assert len(computed) == 2  # the figures are under REFRESH_S old
        for _ in range(50):
            if len(computed) == 4:
                break
            await pilot.pause(0.1)
        await settle(app, pilot)
        await pilot.pause(0.5)
        assert computed == ["2026-W47", "2026-W46"] * 2  # one refresh for ten commits
