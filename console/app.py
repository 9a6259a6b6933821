"""The Textual application: one database, one logged-in operator, and the
screens as modes (1 queue, 2 grid status, 3 statistics, 4 audit, 5 import)."""
from __future__ import annotations

import asyncio

from textual import work
from textual.app import App
from textual.reactive import reactive
from textual.worker import WorkerFailed

from ..db.casefilter import CaseFilter
from ..db.engine import Database, Unavailable
from ..db.i18n import catalog, t
from ..db.overview import Headline, headline
from ..db.scope import Actor
from ..db.watch import changes
from .messages import DataChanged, FilterRequested
from .screens.audit import AuditScreen
from .screens.grid import GridScreen
from .screens.intake import IntakeScreen
from .screens.queue import QueueScreen
from .screens.login import LoginScreen
from .screens.stats import StatsScreen

DEMO_FEED_PER_MINUTE = 20

#: mode name -> (key, screen class); the footer lists them in key order.
MODES = {
    "queue": ("1", QueueScreen),
    "audit": ("4", AuditScreen),
    "grid": ("2", GridScreen),
    "intake": ("5", IntakeScreen),
    "stats": ("3", StatsScreen),
}


class GridConsole(App):
    TITLE = "gridconsole"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    headline: reactive[Headline | None] = reactive(None)
    #: A write is waiting for the database (another writer holds it).
    db_waiting: reactive[bool] = reactive(False)

    def __init__(self, db_url: str, actor: Actor | None, *, demo: bool = False,
                 watch: bool = True, feed: bool = False) -> None:
        super().__init__()
        self.db = Database(db_url)
        self.db.on_wait = self._database_waits
        self._waits = 0
        self.actor = actor
        self.demo = demo
        self._watch = watch
        self._feed = feed
        for name, (key, screen) in sorted(MODES.items(), key=lambda item: item[1][0]):
            self.add_mode(name, screen)
            self.bind(key, f"switch_mode('{name}')", description=t(f"mode.{name}"))
        self.bind("q", "quit", description=t("app.quit"))

    async def on_mount(self) -> None:
        self.title = t("app.center")
        if self.actor is None:  # nothing behind the login screen until someone logs in
            self.push_screen(LoginScreen(), self._logged_in)
            return
        await self.switch_mode("queue")
        await self.refresh_headline()
        if self._watch:
            self.watch_database()
        if self._feed:
            self.run_demo_feed()

    async def _logged_in(self, actor: Actor) -> None:
        self.actor = actor
        await self.on_mount()

    async def refresh_headline(self) -> None:
        if self.actor is not None:
            self.headline = await headline(self.db, self.actor)

    @work(exclusive=True, group="watch")
    async def watch_database(self) -> None:
        async for _ in changes(self.db):
            try:
                await self.refresh_headline()
            except Unavailable:  # the server went away again: the next change retries
                continue
            self.screen.post_message(DataChanged())

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def run_demo_feed(self) -> None:
        """The demo district keeps living: calls arrive and field units work
        cases, through the same workflow as any terminal (DESIGN.md §6)."""
        from ..db.feed import run_feed

        await run_feed(self.db, rate=DEMO_FEED_PER_MINUTE)

    def _database_waits(self, waiting: bool) -> None:
        self._waits += 1 if waiting else -1
        self.db_waiting = self._waits > 0
        if waiting:
            self.notify(t("db.waiting"), severity="warning", timeout=4)

    def _handle_exception(self, error: Exception) -> None:
        """A database that cannot serve now (locked too long, read-only, full,
        the server restarting) is a one-line notice, not the end of the
        session: whatever did it was rolled back, and the next refresh
        redraws from the database.  Anything else still ends the app."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if isinstance(cause, Unavailable):
            self.notify(str(cause), severity="error", timeout=8, markup=False)
            return
        super()._handle_exception(error)

    async def open_queue(self, case_filter: CaseFilter) -> None:
        """Drill down: the queue, showing exactly the cases behind a figure."""
        await self.switch_mode("queue")
        self.screen.post_message(FilterRequested(case_filter))

    async def on_unmount(self) -> None:
        # Textual cancels the workers at shutdown without waiting for them.  One
        # still closing its database connection when the loop is torn down gets
        # cancelled again mid-close, and the driver's close then waits forever:
        # let every worker finish first, then close the pool.
        await asyncio.gather(*(worker.wait() for worker in list(self.workers)),
                             return_exceptions=True)
        await self.db.dispose()


catalog({
    "mode.grid": ("网格态势", "Grid status"),
    "mode.audit": ("审计", "Audit"),
    "mode.intake": ("导入", "Import"),
    "mode.stats": ("统计", "Statistics"),
    "app.quit": ("退出", "Quit"),
})
