"""The first screen, until the queue screen replaces it."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...db.i18n import catalog, t
from ..widgets.header import CenterHeader


class HomeScreen(Screen):
    def compose(self) -> ComposeResult:
        yield CenterHeader("home.title")
        yield Static(t("home.hint"), id="hint")
        yield Footer()


catalog({
    "home.title": ("总览", "Overview"),
    "home.hint": ("按 1 工单队列，? 帮助，q 退出", "Press 1 for the case queue, ? for help, q to quit"),
})
