"""What the duty officer sees: the queue, the detail pane, the dispatch picker,
the escalation picker with assisting units and the help screen, at 80x24 and
160x48, in Chinese and in English."""
from __future__ import annotations

import pytest
from textual.widgets import Input

from gridconsole.console.app import GridConsole
from gridconsole.console.screens.forms import HolderPicker
from gridconsole.console.screens.help import HelpScreen
from gridconsole.console.screens.queue import QueueScreen
from gridconsole.console.widgets.case_detail import CaseDetail
from gridconsole.db.domain import Role
from gridconsole.db.i18n import set_language
from gridconsole.db.scope import Actor

from test_queue_keys import until

#: The demo officer as the seed creates it (the same on every backend).
OFFICER = Actor(1, "demo", "区值班员（演示）", Role.DISTRICT_OFFICER)
SMALL, LARGE = (80, 24), (160, 48)


def console(url: str) -> GridConsole:
    app = GridConsole(url, OFFICER, watch=False)
    app.animation_level = "none"
    return app


async def settled(app, pilot) -> QueueScreen:
    """The page, the counts and the selected case's detail are all drawn."""
    await until(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.order
                and app.screen.counts)
    screen = app.screen
    body = screen.query_one(CaseDetail).query_one("#detail-body")
    await until(pilot, lambda: screen.selected is not None and screen.settle is None
                and str(body.render()).startswith(f"#{screen.selected} "))
    await app.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def on_view(app, pilot, key: str, view: str) -> None:
    await settled(app, pilot)
    await pilot.press(key)
    await until(pilot, lambda: app.screen.view == view)
    await settled(app, pilot)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_queue(snap_compare, demo_url, lang, size):
    set_language(lang)
    app = console(demo_url)

    async def run_before(pilot) -> None:
        await settled(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize(("lang", "size"), [("zh", LARGE), ("en", SMALL)])
def test_detail_of_a_supervised_case(snap_compare, demo_url, lang, size):
    set_language(lang)
    app = console(demo_url)

    async def run_before(pilot) -> None:
        await on_view(app, pilot, "left_square_bracket", "supervised")
        await pilot.press("J")  # the pane scrolls to the timeline
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize(("lang", "size"), [("zh", SMALL), ("en", LARGE)])
def test_dispatch_picker(snap_compare, demo_url, lang, size):
    set_language(lang)
    app = console(demo_url)

    async def run_before(pilot) -> None:
        await on_view(app, pilot, "right_square_bracket", "received")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        app.screen.query_one(Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize(("lang", "size"), [("zh", SMALL), ("en", LARGE)])
def test_escalate_picker_with_assisting_units(snap_compare, demo_url, lang, size):
    """吹哨: two departments marked as 协办 with Space, the lead highlighted."""
    set_language(lang)
    app = console(demo_url)

    async def run_before(pilot) -> None:
        await on_view(app, pilot, "right_square_bracket", "received")
        await pilot.press("right_square_bracket", "right_square_bracket")  # 处置中
        await until(pilot, lambda: app.screen.view == "in_progress")
        await settled(app, pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, HolderPicker) and app.screen.choices)
        picker = app.screen
        picker.query_one(Input).cursor_blink = False
        departments = [n for n, c in enumerate(picker.choices) if c.kind == "department"][:2]
        for index in departments:
            while picker.query_one("#choices").highlighted != index:
                await pilot.press("down")
            await pilot.press("space")
        while picker.query_one("#choices").highlighted != 0:
            await pilot.press("up")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize(("lang", "size"), [("zh", SMALL), ("en", LARGE)])
def test_help(snap_compare, demo_url, lang, size):
    set_language(lang)
    app = console(demo_url)

    async def run_before(pilot) -> None:
        await settled(app, pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
