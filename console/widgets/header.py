"""The top line of every screen: the center, the operator, the headline counts
and when the data was last refreshed."""
from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ...db import clock
from ...db.i18n import catalog, t
from ...db.overview import Headline
from ..text import clean


class CenterHeader(Static):
    DEFAULT_CSS = """
    CenterHeader { dock: top; height: 1; background: $primary-background; color: $text; }
    """
    headline: reactive[Headline | None] = reactive(None)

    def __init__(self, title_key: str) -> None:
        super().__init__()
        self.title_key = title_key

    def on_mount(self) -> None:
        self.headline = self.app.headline
        self.watch(self.app, "headline", self._set, init=False)
        self.watch(self.app, "db_waiting", lambda _: self.refresh(), init=False)

    def _set(self, value: Headline | None) -> None:
        self.headline = value

    def render(self) -> Text:
        app = self.app
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {t('app.center')} ", style="bold")
        line.append(f"│ {t(self.title_key)} ")
        if app.db_waiting:  # first, so that even 80 columns show it
            line.append(f"│ {t('header.waiting')} ", style="bold yellow")
        actor = app.actor
        if actor is not None:
            line.append(f"│ {clean(actor.name)} ({actor.role.label})")
            if app.demo:
                line.append(f" {t('header.demo')}", style="bold $warning" if False else "bold yellow")
            line.append(" ")
        h = self.headline
        if h is not None:
            line.append(f"│ {t('header.open')} {h.open:,} ")
            line.append(f"│ {t('header.overdue')} ", style="")
            line.append(f"{h.overdue:,}", style="bold red" if h.overdue else "")
            line.append(f" │ {t('header.refreshed')} {clock.to_local(h.at):%H:%M:%S}")
        return line


catalog({
    "app.center": ("即墨区社会治理指挥中心", "Jimo Social Governance Command Center"),
    "header.demo": ("[演示]", "[demo]"),
    "header.open": ("在办", "Open"),
    "header.overdue": ("超期", "Overdue"),
    "header.refreshed": ("刷新", "Refreshed"),
    "header.waiting": ("⏳ 等待数据库", "⏳ waiting for the database"),
})
