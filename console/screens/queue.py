"""The live case queue (key 1): the duty officer's main tool.

The table holds a window of at most ``WINDOW`` rows of a keyset-paginated
query; moving near either end fetches the next page.  Every refresh (another
terminal's commit, an action done here) re-reads the window and updates rows
by key, so the selected case, the marks and the scroll position survive.
Marks outlive the window: a marked case keeps the row (and so the version)
last seen on screen until it leaves the view (checked by id on every
re-read), is acted on, or the view or filter changes; a batch acts on every
mark, and a version changed meanwhile is refused by the workflow as a
conflict and reported.
Database work runs in workers that post the ``*Loaded``/``*Acted`` messages.
"""
from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from ...db import clock
from ...db.casefilter import CaseFilter
from ...db.domain import TRANSITIONS, Action, Channel, State, Urgency
from ...db.i18n import catalog, t
from ...db.lifecycle import Refused
from ...db.operators import may_reveal, reveal_phone
from ...db.queue import (
    PAGE, VIEWS, Detail, Sort, arrivals, detail, filter_choices, page, rows_by_id, view_counts,
)
from ...db.workflow import perform
from ..actions import BY_NAME, Command, QueueCommands, bindings
from ..messages import DataChanged, FilterRequested
from ..text import clean, literal, one_line
from ..widgets.case_detail import CaseDetail
from ..widgets.deadline import age, time_left
from ..widgets.header import CenterHeader
from .forms import ActionForm, FilterForm, HolderPicker
from .help import HelpScreen

WINDOW = 2 * PAGE          # rows kept in the table (the stock DataTable slows with thousands)
NEAR_EDGE = 3              # rows from either end that trigger the next page
REBUILD_AT = 20            # more rows leaving than this: rebuild the table
SETTLE_S = 0.08            # the cursor rests this long before the detail is read
WIDE = 140                 # from this width the detail pane stands beside the table
#: column key -> (width in cells, sort name or None)
#: (what decides first stands first: an 80-column terminal shows id to text)
COLUMNS = {"mark": (1, None), "id": (6, "id"), "urgency": (4, "urgency"), "left": (8, "due"),
           "state": (7, "state"), "text": (24, "text"), "place": (14, "place"),
           "holder": (10, "holder"), "category": (8, "category"), "channel": (9, "channel"),
           "age": (4, "age")}
SORT_ORDER = [name for _, name in COLUMNS.values() if name]
BATCH = {"dispatch", "supervise"}   # marked cases can take these at once


class CaseTable(DataTable):
    """Home/End (and Ctrl+Home/End) go to the first and last case of the
    view, not of the loaded rows: the screen loads that end if need be."""
    BINDINGS = [("j", "cursor_down"), ("k", "cursor_up")]

    def action_scroll_top(self) -> None:
        self.screen.action_first()

    def action_scroll_bottom(self) -> None:
        self.screen.action_last()

    action_scroll_home = action_scroll_top
    action_scroll_end = action_scroll_bottom


class QueueFooter(Footer):
    """The footer, with a key for every command, shown or hidden in place.
    Textual recomposes a footer whenever its screen is suspended or resumed
    (every form and picker) and on every ``refresh_bindings``: ~35 keys
    mounted and styled again, 100–250 ms of CPU that delayed the acted row
    after each Enter and the cursor after a move to a case in another state.
    Here it is composed once with every key (``QueueScreen.every_key``); after
    that, which keys apply only hides, shows, dims or lights keys."""
    _layout: tuple | None = None

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        screen = self.screen
        screen.every_key = True
        try:
            widgets = list(super().compose())  # the registry's keys form no groups
        finally:
            screen.every_key = False
        yield from widgets

    def _every_key(self) -> tuple:
        screen = self.screen
        screen.every_key = True
        try:
            bindings = [b for _, b, _, _ in screen.active_bindings.values()]
        finally:
            screen.every_key = False
        return (self.compact, self.show_command_palette, self.combine_groups,
                self.app.ENABLE_COMMAND_PALETTE,
                tuple((b.key, b.action, b.description, b.key_display, b.group, b.show)
                      for b in bindings))

    async def recompose(self) -> None:
        if self._bindings_ready:
            layout = self._every_key()
            if layout == self._layout:
                self._show_applicable()
                return
            self._layout = layout
        await super().recompose()
        self._show_applicable()

    def _show_applicable(self) -> None:
        active = self.screen.active_bindings
        for key in self.query("FooterKey"):
            found = active.get(key.key)
            applies = found is not None and found.binding.action == key.action
            if key.display != applies:
                key.display = applies
            disabled = not (applies and found.enabled)
            if key._disabled != disabled:
                key._disabled = disabled
                key.set_class(disabled, "-disabled")


class QueueScreen(Screen):
    COMMANDS = {QueueCommands}
    DEFAULT_CSS = """
    QueueScreen #views { height: 1; background: $boost; }
    QueueScreen #status { height: 1; color: $text-muted; }
    QueueScreen #body { height: 1fr; }
    QueueScreen #body.wide { layout: horizontal; }
    QueueScreen #body.wide CaseTable { width: 1fr; height: 100%; }
    QueueScreen #body.wide CaseDetail { width: 64; height: 100%; }
    QueueScreen #body.narrow { layout: vertical; }
    QueueScreen #body.narrow CaseTable { height: 1fr; }
    QueueScreen #body.narrow CaseDetail { height: 9; border-left: none; border-top: hkey $primary; }
    QueueScreen #search { dock: bottom; display: none; }
    QueueScreen.searching #search { display: block; }
    """

    class PageLoaded(Message):
        def __init__(self, generation: int, rows: list[dict], where: str, more: bool,
                     counts: dict[str, int] | None, critical: list[int],
                     marked: dict[int, bool] | None = None) -> None:
            super().__init__()
            self.generation, self.rows, self.where, self.more = generation, rows, where, more
            self.counts, self.critical = counts, critical
            self.marked = marked or {}  # marked case outside the rows -> still in the view?

    class DetailLoaded(Message):
        def __init__(self, case_id: int, detail: Detail | None) -> None:
            super().__init__()
            self.case_id, self.detail = case_id, detail

    class CasesActed(Message):
        def __init__(self, action: Action, done: list[int], refusals: list[str],
                     found: dict[int, tuple[dict, bool]]) -> None:
            super().__init__()
            self.action, self.done, self.refusals, self.found = action, done, refusals, found

    def __init__(self) -> None:
        super().__init__()
        for binding in bindings():
            self._bindings.bind(binding.key, binding.action, binding.description,
                                show=binding.show, key_display=binding.key_display)
        self.view: str | None = "open"
        self.base = VIEWS["open"]
        self.search = ""
        self.sort = Sort()
        self.rows: dict[int, dict] = {}
        self.order: list[int] = []
        self.cells: dict[int, list] = {}
        self.cells_minute = None
        self.keys_for: tuple | None = None
        self.settle: Timer | None = None
        self.more_after = self.more_before = False
        self.paging = False
        self.generation = 0
        self.marked: dict[int, dict] = {}  # marked case -> its row as last seen
        self.selected: int | None = None
        self.counts: dict[str, int] = {}
        self.newest: int | None = None
        self.asking = 0            # forms of ours open: their closing skips a re-read
        self.every_key = False     # the footer is composing: every command applies

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield CenterHeader("queue.title")
        yield Static(id="views")
        yield Static(id="status")
        with Container(id="body", classes="narrow"):
            yield CaseTable(id="cases", cursor_type="row", zebra_stripes=True)
            yield CaseDetail(id="detail")
        yield Input(placeholder=t("queue.search_hint"), id="search")
        yield QueueFooter()

    @property
    def table(self) -> CaseTable:
        return self.query_one(CaseTable)

    def on_mount(self) -> None:
        table = self.table
        for key, (width, _) in COLUMNS.items():
            table.add_column(t(f"queue.col.{key}") if key != "mark" else " ", width=width, key=key)
        table.focus()
        self.reload(fresh=True)

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE
        body = self.query_one("#body")
        body.set_class(wide, "wide")
        body.set_class(not wide, "narrow")

    @property
    def case_filter(self) -> CaseFilter:
        return replace(self.base, text=self.search)

    # -- loading --------------------------------------------------------------

    def reload(self, fresh: bool = False) -> None:
        """Re-read what is shown (``fresh``: from the top, for a new filter)."""
        self.paging = False  # this read replaces any page on its way (same worker group)
        if fresh:
            self.generation += 1
            self.more_before = False
        start = None if fresh or not self.order else self.rows[self.order[0]]["key"]
        size = PAGE if fresh else max(PAGE, len(self.order))
        self.fetch(self.generation, "all", start=start, limit=size, counts=True)

    def action_first(self) -> None:
        """The first case of the view (Home): at hand, or its page loaded."""
        if self.more_before:
            self.paging = True
            self.fetch(self.generation, "first")
        elif self.order:
            self.table.move_cursor(row=0)

    def action_last(self) -> None:
        """The last case of the view (End): at hand, or its page loaded."""
        if self.more_after:
            self.paging = True
            self.fetch(self.generation, "last", last=True)
        elif self.order:
            self.table.move_cursor(row=len(self.order) - 1)

    @work(exclusive=True, group="page")
    async def fetch(self, generation: int, where: str, *, start=None, after=None, before=None,
                    last: bool = False, limit: int = PAGE, counts: bool = False) -> None:
        app = self.app
        rows = await page(app.db, app.actor, self.case_filter, self.sort, start=start,
                          after=after, before=before, last=last, limit=limit + 1)
        more = len(rows) > limit
        backwards = before is not None or last
        rows = (rows[1:] if backwards else rows[:limit]) if more else rows
        tally, critical, marked = None, [], {}
        if counts:
            tally = await view_counts(app.db, app.actor)
            newest, critical = await arrivals(app.db, app.actor, self.newest)
            self.newest = newest
        if where == "all":
            # Marked cases outside the rows: still in the view?  (by primary key)
            shown = {row["id"] for row in rows}
            outside = [case_id for case_id in self.marked if case_id not in shown]
            found = await rows_by_id(app.db, app.actor, self.case_filter, self.sort, outside)
            marked = {case_id: found.get(case_id, (None, False))[1] for case_id in outside}
        self.post_message(self.PageLoaded(generation, rows, where, more, tally, critical,
                                          marked))

    def on_queue_screen_page_loaded(self, message: PageLoaded) -> None:
        self.paging = False
        if message.generation != self.generation:
            return  # the filter changed while this page was on its way
        if message.counts is not None:
            self.counts = message.counts
        rows = message.rows
        for case_id, still in message.marked.items():
            if not still:
                self.marked.pop(case_id, None)  # it left the view
        if message.where == "all":
            self.more_after = message.more
        elif message.where == "first":
            self.more_before, self.more_after = False, message.more
        elif message.where == "last":
            self.more_before, self.more_after = message.more, False
        elif message.where == "after":
            rows = [self.rows[i] for i in self.order] + rows
            self.more_after = message.more
            if len(rows) > WINDOW:
                rows, self.more_before = rows[-WINDOW:], True
        else:
            rows = rows + [self.rows[i] for i in self.order]
            self.more_before = message.more
            if len(rows) > WINDOW:
                rows, self.more_after = rows[:WINDOW], True
        self._sync(rows, scroll=message.where != "all")
        if message.where in ("first", "last") and self.order:
            self.table.move_cursor(row=0 if message.where == "first" else len(self.order) - 1)
            self._select_current()
        self._draw_bars()
        self._refresh_keys()  # the selected case may be in another state now
        if message.critical:
            self.app.bell()
            self.notify(t("queue.critical", ids=", ".join(f"#{i}" for i in message.critical)),
                        severity="warning", timeout=10)
        self.load_detail()

    def _sync(self, rows: list[dict], scroll: bool) -> None:
        """Make the table show ``rows`` in order, touching only what changed.
        A page turn replaces most rows: rebuilding is then cheaper than
        ``remove_row`` (each call re-indexes the whole table)."""
        table = self.table
        keep = self._at_cursor()  # not self.selected: its event may still be queued
        new = {row["id"]: row for row in rows}
        gone = [i for i in self.order if i not in new]
        for case_id in self.marked.keys() & new.keys():
            self.marked[case_id] = new[case_id]  # seen again: its version as shown
        now = clock.now()
        minute = now.replace(second=0, microsecond=0)  # the cells show no finer time
        fresh = minute != self.cells_minute
        cells = {case_id: self.cells[case_id]
                 if not fresh and self.rows.get(case_id) == row
                 and self._mark_shown(case_id) == (case_id in self.marked)
                 else self._cells(row, now)
                 for case_id, row in new.items()}
        self.cells_minute = minute
        if len(gone) > REBUILD_AT:
            table.clear()
            for case_id, row_cells in cells.items():
                table.add_row(*row_cells, key=str(case_id))
        else:
            for case_id in gone:
                table.remove_row(str(case_id))
            for case_id, row_cells in cells.items():
                if case_id not in self.cells:
                    table.add_row(*row_cells, key=str(case_id))
                    continue
                for key, value, before in zip(COLUMNS, row_cells, self.cells[case_id]):
                    if value != before:
                        table.update_cell(str(case_id), key, value)
        self.rows, self.order, self.cells = new, list(new), cells
        position = {case_id: n for n, case_id in enumerate(self.order)}
        table.sort("id", key=lambda cell: position[int(cell.plain)])
        if keep in new:
            table.move_cursor(row=position[keep], scroll=scroll)
        elif self.order:
            table.move_cursor(row=min(table.cursor_row, len(self.order) - 1), scroll=scroll)
        self._select_current()

    def _mark_shown(self, case_id: int) -> bool:
        return self.cells[case_id][0].plain == "●"

    def _cells(self, row: dict, now) -> list:
        urgency = Urgency(row["urgency"])
        state = Text(State(row["state"]).label)
        if row["supervise_count"]:
            state.append(t("queue.supervised"), style="bold red")
        place = " ".join(filter(None, [row["street"], row["community"]]))
        cells = {
            "mark": Text("●" if row["id"] in self.marked else " ", style="bold magenta"),
            "id": Text(str(row["id"])),
            "urgency": Text(urgency.label, style="bold red" if urgency is Urgency.CRITICAL else
                            ("yellow" if urgency is Urgency.URGENT else "")),
            "left": time_left(row["state"], row["first_dispatched_at"], row["resolve_due"], now),
            "state": state,
            "text": literal(one_line(row["content"], 24)),
            "place": literal(one_line(place, 14)),
            "holder": literal(one_line(row["holder"] or "—", 10)),
            "category": literal(one_line(row["category"], 8)),
            "channel": Text(one_line(Channel(row["channel"]).label, 9)),
            "age": Text(age(row["created_at"], now)),
        }
        return [cells[key] for key in COLUMNS]

    def _draw_bars(self) -> None:
        views = Text(no_wrap=True, overflow="ellipsis")
        for name in VIEWS:
            label = f" {t(f'queue.view.{name}')} {self.counts.get(name, 0):,} "
            views.append(label, style="reverse bold" if name == self.view else "")
            views.append("│", style="dim")
        self.query_one("#views", Static).update(views)
        status = Text(no_wrap=True, overflow="ellipsis")
        title = self.base.title or (t(f"queue.view.{self.view}") if self.view else t("queue.custom"))
        status.append(f" {title}", style="bold")
        if self.search:
            status.append(f"  /{one_line(self.search, 20)}")
        arrow = "↓" if self.sort.descending else "↑"
        status.append(f"  {t('queue.sorted')} {t(f'queue.sort.{self.sort.column}')}{arrow}")
        status.append(f"  {t('queue.shown', n=len(self.order))}")
        if self.more_after or self.more_before:
            status.append(f" {t('queue.more')}")
        if self.marked:
            status.append(f"  {t('queue.marked', n=len(self.marked))}", style="bold magenta")
        self.query_one("#status", Static).update(status)

    # -- selection and detail -----------------------------------------------------

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._select_current()
        row = self.table.cursor_row  # not the event's: a rebuild may have moved on since
        if self.paging or not self.order:
            return
        if row >= len(self.order) - NEAR_EDGE and self.more_after:
            self.paging = True
            self.fetch(self.generation, "after", after=self.rows[self.order[-1]]["key"])
        elif row < NEAR_EDGE and self.more_before:
            self.paging = True
            self.fetch(self.generation, "before", before=self.rows[self.order[0]]["key"])

    def _at_cursor(self) -> int | None:
        table = self.table
        if self.order and 0 <= table.cursor_row < table.row_count:
            return int(table.get_row_at(table.cursor_row)[1].plain)
        return None

    def _select_current(self) -> None:
        current = self._at_cursor()
        if current != self.selected:
            self.selected = current
            # Holding a key moves through many rows: read the detail and redraw
            # the footer once the cursor rests.
            if self.settle is not None:
                self.settle.stop()
            self.settle = self.set_timer(SETTLE_S, self._settled)

    def _settled(self) -> None:
        self.settle = None
        self.load_detail()
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        """The footer shows the keys that apply; redrawing it is costly, so only
        when the answer can change (another state, or marks appearing)."""
        row = self.rows.get(self.selected) if self.selected is not None else None
        signature = (row and row["state"], frozenset(r["state"] for r in self.marked.values()))
        if signature != self.keys_for:
            self.keys_for = signature
            self.refresh_bindings()

    @work(exclusive=True, group="detail")
    async def load_detail(self) -> None:
        case_id = self.selected
        if case_id is None:
            self.post_message(self.DetailLoaded(0, None))
            return
        found = await detail(self.app.db, self.app.actor, case_id)
        self.post_message(self.DetailLoaded(case_id, found))

    def on_queue_screen_detail_loaded(self, message: DetailLoaded) -> None:
        if message.case_id == (self.selected or 0):
            self.query_one(CaseDetail).show(message.detail)

    # -- live -----------------------------------------------------------------

    def on_data_changed(self, _: DataChanged) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        # Changes announced while a form, the help or another mode was on top
        # went to that screen: catch up on return.  Not after a form of ours:
        # what follows it re-reads anyway (the action, the new filter, or the
        # catch-up after Escape), and a re-read here would compete with the
        # action's write for the moment after Enter.
        if self.asking:
            self.asking -= 1
        elif self.order:
            self.reload()

    async def _ask(self, form: Screen):
        """A form's answer (None: cancelled); its closing skips the resume re-read."""
        self.asking += 1
        return await self.app.push_screen_wait(form)

    def on_filter_requested(self, message: FilterRequested) -> None:
        f = message.case_filter
        self.view = next((name for name, v in VIEWS.items() if v == f), None)
        self.base, self.search = f, ""
        self.sort = Sort("id", descending=True) if f.include_closed else Sort()
        self.marked.clear()
        self.reload(fresh=True)

    # -- views, sort, search, filter ------------------------------------------------

    def _apply(self, base: CaseFilter, view: str | None) -> None:
        self.base, self.view = base, view
        self.marked.clear()
        self.reload(fresh=True)

    def action_next_view(self, step: int = 1) -> None:
        names = list(VIEWS)
        index = names.index(self.view) + step if self.view in names else 0
        name = names[index % len(names)]
        self._apply(VIEWS[name], name)

    def action_prev_view(self) -> None:
        self.action_next_view(-1)

    def action_next_sort(self, step: int = 1) -> None:
        index = SORT_ORDER.index(self.sort.column) + step
        self.sort = Sort(SORT_ORDER[index % len(SORT_ORDER)], self.sort.descending)
        self.reload(fresh=True)

    def action_prev_sort(self) -> None:
        self.action_next_sort(-1)

    def action_reverse(self) -> None:
        self.sort = Sort(self.sort.column, not self.sort.descending)
        self.reload(fresh=True)

    @on(DataTable.HeaderSelected)
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = COLUMNS[str(event.column_key.value)][1]
        if column:
            same = column == self.sort.column
            self.sort = Sort(column, not self.sort.descending if same else False)
            self.reload(fresh=True)

    def action_search(self) -> None:
        self.add_class("searching")
        box = self.query_one("#search", Input)
        box.value = self.search
        box.focus()

    @on(Input.Submitted, "#search")
    def searched(self, event: Input.Submitted) -> None:
        if event.value.strip() != self.search:
            self.marked.clear()  # another filter: marks belong to the view they were made in
        self.search = event.value.strip()
        self._end_search()
        self.reload(fresh=True)

    def _end_search(self) -> None:
        self.remove_class("searching")
        self.table.focus()

    def action_filter(self) -> None:
        self._choose_filter()

    @work(group="form")
    async def _choose_filter(self) -> None:
        choices = await filter_choices(self.app.db, self.app.actor)
        chosen = await self._ask(FilterForm(self.base, choices))
        if chosen is not None:
            self._apply(replace(chosen, title=""), None)
        else:
            self.reload()

    def action_clear(self) -> None:
        self.search = ""
        self._apply(VIEWS["open"], "open")

    def action_detail_down(self) -> None:
        self.query_one(CaseDetail).scroll_page_down()

    def action_detail_up(self) -> None:
        self.query_one(CaseDetail).scroll_page_up()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def key_escape(self) -> None:
        if self.has_class("searching"):
            self._end_search()

    @work(group="reveal")
    async def action_reveal(self) -> None:
        """The full number, for the callback only; the reveal itself is audited."""
        case_id = self.selected
        try:
            phone = await reveal_phone(self.app.db, self.app.actor, case_id)
        except Refused as refusal:
            self.notify(str(refusal), severity="error")
            return
        self.notify(t("queue.revealed", id=case_id, phone=clean(phone) or "—"), timeout=30)

    async def action_grid(self) -> None:
        grid_id = self.rows[self.selected]["grid_id"]
        await self.app.switch_mode("grid")
        await self.app.screen.show_area(grid_id)

    def action_mark(self) -> None:
        if self.selected is None:
            return
        if self.marked.pop(self.selected, None) is None:
            self.marked[self.selected] = self.rows[self.selected]
        cells = self._cells(self.rows[self.selected], clock.now())
        self.cells[self.selected] = cells
        self.table.update_cell(str(self.selected), "mark", cells[0])
        self._draw_bars()
        self._refresh_keys()
        self.table.action_cursor_down()

    # -- case actions -------------------------------------------------------------

    def _targets(self, command: Command) -> list[dict]:
        if command.name in BATCH and self.marked:
            return list(self.marked.values())  # also those paged out of the window
        return [self.rows[self.selected]] if self.selected in self.rows else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.every_key:
            return True
        row = self.rows.get(self.selected) if self.selected is not None else None
        if action == "reveal":
            return row is not None and may_reveal(self.app.actor, row["state"])
        if action == "grid":
            return row is not None and row.get("grid_id") is not None
        if action != "case":
            return True
        command = BY_NAME[str(parameters[0])]
        actor = self.app.actor
        if actor is None or not actor.may(command.case_action):
            return False
        sources = TRANSITIONS[command.case_action][0]
        return any(State(row["state"]) in sources for row in self._targets(command))

    def action_case(self, name: str) -> None:
        if self.check_action("case", (name,)):
            self._handle(BY_NAME[name])

    @work(group="form")
    async def _handle(self, command: Command) -> None:
        action = command.case_action
        targets = [(row["id"], row["version"]) for row in self._targets(command)
                   if State(row["state"]) in TRANSITIONS[action][0]]
        if not targets:
            return
        title = action.label + " " + ", ".join(f"#{i}" for i, _ in targets[:6])
        if len(targets) > 6:
            title += " " + t("queue.and_more", n=len(targets) - 6)
        params = await self._params(command, title, targets[0][0])
        if params is None:
            self.reload()  # cancelled: catch up on what the form hid
            return
        self.act(action, targets, params)

    async def _params(self, command: Command, title: str, first: int) -> dict | None:
        params: dict = {}
        if command.picker:
            picker = HolderPicker(title, first, command.case_action)
            chosen = await self._ask(picker)
            if chosen is None:
                return None
            params.update(chosen)  # unit_id, and assist_ids for an escalation
            title += " → " + picker.summary(chosen["unit_id"])
        if command.fields:
            return await self._ask(ActionForm(title, command.fields, params))
        return params

    @work(group="act")
    async def act(self, action: Action, targets: list[tuple[int, int]], params: dict) -> None:
        done, refusals = [], []
        for case_id, version in targets:
            try:
                await perform(self.app.db, self.app.actor, case_id, action, version=version,
                              **params)
                done.append(case_id)
            except Refused as refusal:
                refusals.append(str(refusal))
        # The acted rows first, by primary key: the officer sees the result at
        # once; the window, the counts and the detail follow in the background.
        acted = [case_id for case_id, _ in targets]
        found = await rows_by_id(self.app.db, self.app.actor, self.case_filter, self.sort, acted)
        self.post_message(self.CasesActed(action, done, refusals, found))

    def on_queue_screen_cases_acted(self, message: CasesActed) -> None:
        for case_id in message.done:
            self.marked.pop(case_id, None)
        self._update_rows({i: row for i, (row, _) in message.found.items()})
        self._draw_bars()
        self._refresh_keys()
        if message.done:
            self.notify(t("queue.done", action=message.action.label, n=len(message.done)))
        for refusal in message.refusals[:3]:
            self.notify(refusal, severity="error", timeout=8, markup=False)
        self.reload()

    def _update_rows(self, found: dict[int, dict]) -> None:
        """Show the rows read again in place.  Each keeps the sort key it was
        loaded with: the window's next re-read starts from the first row's key
        and puts a row whose key changed where it now belongs."""
        table, now = self.table, clock.now()
        for case_id, row in found.items():
            if case_id not in self.rows:
                continue
            row = {**row, "key": self.rows[case_id]["key"]}
            if case_id in self.marked:
                self.marked[case_id] = row
            cells = self._cells(row, now)
            for key, value, before in zip(COLUMNS, cells, self.cells[case_id]):
                if value != before:
                    table.update_cell(str(case_id), key, value)
            self.rows[case_id], self.cells[case_id] = row, cells


catalog({
    "queue.revealed": ("工单 {id} 来电人电话：{phone}（已记入审计）", "Case {id} caller's phone: {phone} (audited)"),
    "queue.title": ("工单队列", "Case queue"),
    "mode.queue": ("工单队列", "Case queue"),
    "queue.search_hint": ("搜索：编号、内容、地址、来电人、拼音或首字母；回车确认，Esc 取消",
                          "Search: id, text, address, reporter, pinyin or initials; Enter, Esc cancels"),
    "queue.col.id": ("编号", "ID"),
    "queue.col.age": ("已过", "Age"),
    "queue.col.urgency": ("紧急", "Urg."),
    "queue.col.channel": ("来源", "Channel"),
    "queue.col.category": ("类别", "Category"),
    "queue.col.text": ("诉求内容", "Text"),
    "queue.col.place": ("街道/社区", "Street/community"),
    "queue.col.holder": ("承办", "Holder"),
    "queue.col.state": ("状态", "State"),
    "queue.col.left": ("剩余", "Left"),
    "queue.view.received": ("待受理", "Received"),
    "queue.view.dispatched": ("待签收", "To sign"),
    "queue.view.in_progress": ("处置中", "In progress"),
    "queue.view.overdue": ("超期", "Overdue"),
    "queue.view.supervised": ("督办", "Supervised"),
    "queue.view.open": ("全部在办", "All open"),
    "queue.custom": ("自定义筛选", "Custom filter"),
    "queue.sorted": ("排序", "sorted by"),
    "queue.sort.due": ("时限", "deadline"),
    "queue.sort.id": ("编号", "id"),
    "queue.sort.age": ("登记时间", "age"),
    "queue.sort.urgency": ("紧急程度", "urgency"),
    "queue.sort.channel": ("来源", "channel"),
    "queue.sort.category": ("类别", "category"),
    "queue.sort.text": ("内容", "text"),
    "queue.sort.place": ("属地", "place"),
    "queue.sort.holder": ("承办", "holder"),
    "queue.sort.state": ("状态", "state"),
    "queue.shown": ("显示{n}件", "{n} shown"),
    "queue.more": ("（翻页加载更多）", "(page for more)"),
    "queue.marked": ("已标记{n}件", "{n} marked"),
    "queue.supervised": ("督", " S"),
    "queue.critical": ("新到特急工单 {ids}", "New critical case {ids}"),
    "queue.done": ("{action}完成 {n} 件", "{action}: {n} done"),
    "queue.and_more": ("等{n}件", "and {n} more"),
})
