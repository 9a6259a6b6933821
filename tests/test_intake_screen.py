"""The import screen (key 5): the same summary as the command, rejections by line."""
from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from gridconsole.console.app import GridConsole
from gridconsole.console.screens.intake import IntakeScreen

from test_intake import hotline_row, write_hotline


async def _summary(pilot, screen, contains: str) -> str:
    for _ in range(200):
        text = str(screen.query_one("#intake-summary", Static).render())
        if contains in text:
            return text
        await pilot.pause(0.05)
    raise AssertionError(f"summary never showed {contains!r}: {text!r}")


async def test_import_screen_shows_the_summary(demo_url, officer, tmp_path):
    path = write_hotline(tmp_path / "s.csv", [
        hotline_row("SC1"), hotline_row("SC2", content="[b]x[/b]"), hotline_row("SC3", category="??")])
    app = GridConsole(demo_url, officer, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await _summary(pilot, screen, "导入 2 件，重复 0 件，拒收 1 行")
        table = screen.query_one(DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[0]) == "4"
        await pilot.press("enter")  # the same file again: duplicates only
        await _summary(pilot, screen, "导入 0 件，重复 2 件")
        screen.query_one(Input).value = str(tmp_path / "missing.csv")
        await pilot.press("enter")
        await _summary(pilot, screen, "missing.csv")
