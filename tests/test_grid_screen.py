"""The grid status screen from the keyboard: expand, sort, drill down, jump, live."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from gridconsole.console.app import GridConsole
from gridconsole.console.messages import DataChanged
from gridconsole.console.screens.grid import GridScreen
from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.engine import Database
from gridconsole.db.i18n import set_language
from gridconsole.db.models import Case, Unit
from gridconsole.db.workflow import load_actor, supervise


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_grid(app, pilot) -> GridScreen:
    await pilot.press("2")
    screen = app.screen
    assert isinstance(screen, GridScreen)
    await screen.ready.wait()
    await settle(app, pilot)
    return screen


def shown(screen: GridScreen, ref) -> list:
    """The data of the children of ``ref`` in the order the tree shows them."""
    return [n.data for n in screen.tree_nodes[ref].children]


def console(url, actor) -> GridConsole:
    app = GridConsole(url, actor, watch=False)
    app.animation_level = "none"
    return app


async def test_expand_sort_and_drill_down_from_the_keyboard(demo_url, officer):
    app = console(demo_url, officer)
    asked: list[CaseFilter] = []

    async def open_queue(case_filter: CaseFilter) -> None:
        asked.append(case_filter)

    async with app.run_test(size=(100, 30)) as pilot:
        app.open_queue = open_queue
        screen = await open_grid(app, pilot)
        tree = screen.tree
        assert tree.cursor_node.data.kind == "district"
        district = tree.cursor_node.data.ref
        assert [s.name for s in shown(screen, district)[:2]] == ["潮海街道", "通济街道"]
        # Expand and fold.
        await pilot.press("down", "right")
        await settle(app, pilot)
        street = tree.cursor_node
        assert street.is_expanded and len(street.children) > 3
        assert street.children[0].data.kind == "community"
        await pilot.press("right")  # onto the first community
        assert tree.cursor_node is street.children[0]
        await pilot.press("left", "left")  # back to the street, then fold it
        assert tree.cursor_node is street and not street.is_expanded
        assert street.data.ref not in screen.expanded
        # Enter: the queue, filtered to the node.
        await pilot.press("enter")
        assert asked == [CaseFilter(area_id=street.data.ref[1], title="潮海街道")]
        # A branch head has no cases of its own: nothing opens.
        tree.move_cursor(screen.tree_nodes[("zones", None)])
        await pilot.press("enter")
        assert len(asked) == 1
        # s cycles the order of every level.
        for mode in ("open", "overdue", "new_today"):
            await pilot.press("s")
            assert screen.sort == mode
            values = [getattr(n.figures, mode) for n in shown(screen, district)]
            assert values == sorted(values, reverse=True) and values[0] > 0
        await pilot.press("s")
        assert screen.sort == "order"
        orders = [n.order for n in shown(screen, district)]
        assert orders == sorted(orders)
        assert tree.cursor_node.data.ref == ("zones", None)  # the cursor stayed put


async def test_show_area_jumps_to_a_grid_and_to_a_department_grid(demo_url, officer, demo_db):
    u = Unit.__table__.c
    async with demo_db.read() as conn:
        grid = (await conn.execute(select(u.id, u.name, u.street_id, u.community_id)
                                   .where(u.grid_kind == "basic").order_by(u.id.desc()))).first()
        station = (await conn.execute(select(u.id, u.parent_id).where(u.kind == "station"))).first()
    app = console(demo_url, officer)
    asked: list[CaseFilter] = []

    async def open_queue(case_filter: CaseFilter) -> None:
        asked.append(case_filter)

    async with app.run_test(size=(100, 30)) as pilot:
        app.open_queue = open_queue
        await pilot.press("2")
        # As the queue will: switch, then jump (before the first load has finished).
        assert await app.screen.show_area(grid.id)
        screen = app.screen
        await settle(app, pilot)
        node = screen.tree.cursor_node
        assert node.data.ref == ("area", grid.id) and node.data.name == grid.name
        assert {("area", grid.street_id), ("area", grid.community_id)} <= screen.expanded
        assert node.parent.is_expanded and node.parent.parent.is_expanded
        assert await screen.show_area(station.id)
        assert screen.tree.cursor_node.data.ref == ("held", station.id)
        assert screen.tree.cursor_node.parent.data.ref == ("held", station.parent_id)
        await pilot.press("enter")
        assert asked[-1].holder_unit_id == station.id
        # The earlier path stays open.
        assert screen.tree_nodes[("area", grid.community_id)].is_expanded


async def test_counts_follow_a_commit_keeping_expansion_and_cursor(demo_url, officer, demo_db):
    c = Case.__table__.c
    async with demo_db.read() as conn:
        case_id, street, community = (await conn.execute(
            select(c.id, c.street_id, c.community_id)
            .where(c.state == "in_progress", c.supervise_count == 0).limit(1))).one()
    app = console(demo_url, officer)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_grid(app, pilot)
        assert await screen.show_area(community)
        await settle(app, pilot)
        before = screen.tree.cursor_node.data.figures
        scroll = screen.tree.scroll_y
        await supervise(demo_db, officer, case_id, note="督办")  # as another terminal would
        screen.post_message(DataChanged())
        await settle(app, pilot)
        node = screen.tree.cursor_node
        assert node.data.ref == ("area", community)
        assert node.data.figures.supervised == before.supervised + 1
        assert screen.tree_nodes[("area", street)].is_expanded
        assert screen.tree.scroll_y == scroll


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
def test_snapshot(snap_compare, demo_url, lang, size):
    set_language(lang)
    app = console(demo_url, _officer(demo_url))

    async def run_before(pilot) -> None:
        screen = await open_grid(app, pilot)
        await pilot.press("down", "right")  # the first street, opened
        await settle(app, pilot)
        await pilot.press("down", "right")  # its first community, opened
        await settle(app, pilot)
        await pilot.press("down", "s")      # its first grid; sorted by open cases
        await settle(app, pilot)
        assert screen.sort == "open"

    assert snap_compare(app, terminal_size=size, run_before=run_before)
