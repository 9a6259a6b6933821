"""Grid status (key 2): the area tree with live figures per node.

District → streets → communities → grids, then the functional areas and the
departments (db/gridstatus.py says how each branch counts).  Children load
when a node opens; another terminal's commit (DataChanged) refreshes every
open node, keeping what is expanded and where the cursor is.

Jumping from a case to its grid (for the queue): ::

    await app.switch_mode("grid")
    await app.screen.show_area(unit_id)
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from math import ceil

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree
from textual.widgets.tree import TreeNode

from ...db import clock, gridstatus
from ...db.domain import UnitKind
from ...db.gridstatus import Figures, Node, Ref
from ...db.i18n import catalog, t
from ..messages import DataChanged
from ..text import clean, literal, one_line
from ..widgets.header import CenterHeader

SORTS = ("order", "open", "overdue", "new_today")
SPARK = " ▁▂▃▄▅▆▇█"
OVERDUE_MARK, UNSTAFFED_MARK = "▲", "✕"
#: The figure columns: (name, width when narrow, width when wide).
COLUMNS = [("open", 6, 8), ("new_today", 5, 11), ("overdue", 6, 9), ("supervised", 5, 12),
           ("oldest", 5, 8), ("unstaffed", 5, 11), ("daily", 15, 17)]
FLAGS = 3                  # " ▲✕" after the name
WIDE = 120                 # from this width on, the wide columns and headers
NAME_MAX = 44              # names never take more than this on a wall screen


#: What a department holds itself comes first, the not-placed rest of an area last.
PLACE = {"self": 0, "rest": 2}


def sort_key(mode: str):
    def key(node: Node):
        place = PLACE.get(node.kind, 1)
        f = node.figures
        if mode == "order":
            return (place, node.order)
        return (place, -getattr(f, mode), -f.overdue, -f.open, node.order)
    return key


def widths(total: int) -> tuple[list[int], int]:
    """Column widths and the width of everything left of them (guides, name, flags)."""
    col = [w for _, w, _ in COLUMNS] if total < WIDE else [w for _, _, w in COLUMNS]
    return col, min(total - sum(col), NAME_MAX + FLAGS + 2)


def age_text(age: timedelta | None) -> str:
    if age is None:
        return "—"
    if age >= timedelta(days=1):
        return t("grid.days", n=age.days)
    return t("grid.hours", n=max(0, int(age.total_seconds() // 3600)))


def sparkline(daily: tuple[int, ...]) -> str:
    top = max(daily, default=0)
    if not top:
        return "·" * len(daily)
    return "".join(SPARK[0 if n == 0 else max(1, ceil(8 * n / top))] for n in daily)


def figure_cells(f: Figures, cols: list[int], now) -> Text:
    """The figures of a node, right-aligned under the column headers."""
    out = Text(no_wrap=True, overflow="ellipsis")

    def cell(value: str, width: int, style: str = "") -> None:
        out.append(value.rjust(width - cell_len(value) + len(value)), style=style)

    cell(f"{f.open:,}", cols[0], "bold" if f.open else "dim")
    cell(f"{f.new_today:,}", cols[1], "cyan" if f.new_today else "dim")
    cell(f"{f.overdue:,}", cols[2], "bold red" if f.overdue else "dim")
    cell(f"{f.supervised:,}", cols[3], "magenta" if f.supervised else "dim")
    cell(age_text(f.age(now)), cols[4], "" if f.oldest else "dim")
    cell(f"{f.unstaffed:,}", cols[5], "bold yellow" if f.unstaffed else "dim")
    cell(sparkline(f.daily), cols[6], "green")
    return out


def flags(f: Figures) -> Text:
    out = Text(" ")
    out.append(OVERDUE_MARK if f.overdue else " ", style="bold red")
    out.append(UNSTAFFED_MARK if f.unstaffed else " ", style="bold yellow")
    return out


def node_depth(node: TreeNode) -> int:
    depth = -1
    while node.parent is not None:
        depth, node = depth + 1, node.parent
    return depth


class GridTree(Tree[Node]):
    """The tree; each label is a row: name, marks and the figures in columns."""

    ICON_NODE = "▶ "
    ICON_NODE_EXPANDED = "▼ "
    BINDINGS = [Binding("right", "open_node", show=False),
                Binding("left", "close_node", show=False)]
    DEFAULT_CSS = """
    GridTree { overflow-x: hidden; scrollbar-gutter: stable; }
    """

    def __init__(self) -> None:
        super().__init__("", id="grid-tree")
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        # Tree's own enter and space bindings are hidden; these show in the footer.
        for key, action, label in (("enter", "select_cursor", "grid.key.queue"),
                                   ("space", "toggle_node", "grid.key.toggle")):
            self._bindings.key_to_bindings.pop(key, None)
            self._bindings.bind(key, action, t(label))

    def label_width(self) -> int:
        return max(20, self.scrollable_content_region.width)

    def get_label_width(self, node: TreeNode[Node]) -> int:
        # Rows are cut to the tree's width, so it never scrolls sideways.
        return 0

    def render_label(self, node: TreeNode[Node], base_style: Style, style: Style) -> Text:
        data = node.data
        if data is None:
            return Text("")
        cols, left = widths(self.label_width())
        icon = "" if not node.allow_expand else \
            self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        name_width = max(4, left - node_depth(node) * self.guide_depth - 2 - FLAGS)
        name = Text(one_line(data.name, name_width), style=style)
        if data.kind in ("rest", "self", "zones", "departments"):
            name.stylize("italic")
        name.pad_right(name_width - name.cell_len)
        row = Text.assemble((icon.ljust(2), base_style + Style(dim=True)), name,
                            flags(data.figures))
        row.append_text(figure_cells(data.figures, cols, clock.now()))
        return row

    def action_open_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    def action_close_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)


class ColumnHeader(Static):
    """The titles over the figure columns, aligned with the tree's rows."""

    def __init__(self) -> None:
        super().__init__(id="grid-columns")
        self.sort = "order"

    def render(self) -> Text:
        tree = self.screen.query_one(GridTree)
        total = tree.label_width()
        cols, left = widths(total)
        wide = total >= WIDE
        out = Text(no_wrap=True, overflow="ellipsis")
        name = t("grid.col.name") + ("" if self.sort != "order" else " ▾")
        out.append(f"  {name}".ljust(left - cell_len(name) + len(name) - 2), style="bold")
        for (key, _, _), width in zip(COLUMNS, cols):
            title = t(f"grid.col.{key}" if wide else f"grid.colshort.{key}")
            if key == self.sort:
                title = "▾" + title
            out.append(title.rjust(width - cell_len(title) + len(title)),
                       style="bold reverse" if key == self.sort else "bold")
        return out


class GridScreen(Screen):
    DEFAULT_CSS = """
    GridScreen #grid-columns { height: 1; background: $boost; }
    GridScreen #grid-tree { height: 1fr; }
    GridScreen #grid-detail { height: 6; border-top: solid $primary; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._bindings.bind("s", "cycle_sort", t("grid.key.sort"))
        self._bindings.bind("r", "reload", t("grid.key.reload"))
        self.sort = "order"
        self.roots: list[Node] = []
        #: children of the nodes loaded so far; refreshed for the expanded ones
        self.kids: dict[Ref, list[Node]] = {}
        self.expanded: set[Ref] = set()
        self.tree_nodes: dict[Ref, TreeNode[Node]] = {}
        self.ready = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield CenterHeader("grid.title")
        yield ColumnHeader()
        yield GridTree()
        yield Static(t("grid.loading"), id="grid-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    # -- loading ------------------------------------------------------------------

    @work(exclusive=True, group="grid-load")
    async def reload(self) -> None:
        """Figures of the top nodes and of every expanded node, in one go."""
        app = self.app
        roots, kids = await gridstatus.open_tree(app.db, app.actor)
        if not self.ready.is_set():
            self.expanded = {roots[0].ref} if roots and not roots[0].leaf else set()
        for ref in self.expanded - set(kids):
            kids[ref] = await gridstatus.children(app.db, app.actor, ref)
        self.roots, self.kids = roots, kids
        self.rebuild()
        self.ready.set()

    def action_reload(self) -> None:
        self.reload()

    def on_data_changed(self, _: DataChanged) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        # Changes while another mode was showing went to that screen only.
        if self.ready.is_set():
            self.reload()

    @work(group="grid-expand")
    async def load_children(self, ref: Ref) -> None:
        self.kids[ref] = await gridstatus.children(self.app.db, self.app.actor, ref)
        if ref in self.expanded:
            self.rebuild()  # not just this node: the cursor may already be on a child

    # -- the tree -----------------------------------------------------------------

    @property
    def tree(self) -> GridTree:
        return self.query_one(GridTree)

    def add_node(self, parent: TreeNode[Node], data: Node) -> None:
        open_ = data.ref in self.expanded and data.ref in self.kids
        # render_label draws the row; the label itself is kept literal (never markup).
        node = parent.add(literal(data.name), data, expand=open_, allow_expand=not data.leaf)
        self.tree_nodes[data.ref] = node
        if open_:
            self.fill(node)

    def fill(self, node: TreeNode[Node]) -> None:
        """Put the children of ``node`` (which has none yet) under it, in order."""
        for child in sorted(self.kids.get(node.data.ref, []), key=sort_key(self.sort)):
            self.add_node(node, child)

    def rebuild(self) -> None:
        """Rebuild the tree from the loaded figures; keep the cursor and scroll."""
        tree = self.tree
        cursor = tree.cursor_node.data.ref if tree.cursor_node and tree.cursor_node.data \
            else None
        scroll = tree.scroll_y
        tree.clear()
        self.tree_nodes = {}
        for root in self.roots:
            self.add_node(tree.root, root)
        tree.last_line  # lay the new lines out now, so the cursor lands on its node
        tree.scroll_to(y=scroll, animate=False, immediate=True)
        target = self.tree_nodes.get(cursor) or self.tree_nodes.get(
            self.roots[0].ref if self.roots else None)
        if target is not None:
            tree.move_cursor(target)
        self.show_detail(target)

    @on(Tree.NodeExpanded)
    def node_expanded(self, event: Tree.NodeExpanded[Node]) -> None:
        ref = event.node.data.ref
        self.expanded.add(ref)
        if ref in self.kids and not event.node.children:
            self.fill(event.node)
        self.load_children(ref)

    @on(Tree.NodeCollapsed)
    def node_collapsed(self, event: Tree.NodeCollapsed[Node]) -> None:
        self.expanded.discard(event.node.data.ref)

    @on(Tree.NodeHighlighted)
    def node_highlighted(self, event: Tree.NodeHighlighted[Node]) -> None:
        self.show_detail(event.node)

    @on(Tree.NodeSelected)
    async def node_selected(self, event: Tree.NodeSelected[Node]) -> None:
        data = event.node.data
        if data is None or data.case_filter is None:
            self.notify(t("grid.no_drill"), severity="warning")
            return
        await self.app.open_queue(data.case_filter)

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.query_one(ColumnHeader).sort = self.sort
        self.query_one(ColumnHeader).refresh()
        self.rebuild()

    async def show_area(self, unit_id: int) -> bool:
        """Open the tree down to ``unit_id`` and put the cursor on it (False: not
        in this operator's tree)."""
        await self.ready.wait()
        app = self.app
        path = await gridstatus.path_to(app.db, app.actor, unit_id)
        if not path or path[0] not in {r.ref for r in self.roots}:
            self.notify(t("grid.not_in_tree"), severity="warning")
            return False
        for ref in path[:-1]:
            if ref not in self.kids:
                self.kids[ref] = await gridstatus.children(app.db, app.actor, ref)
            self.expanded.add(ref)
        self.rebuild()
        node = self.tree_nodes.get(path[-1])
        if node is None:
            return False
        self.tree.move_cursor(node)
        self.tree.focus()
        self.show_detail(node)
        return True

    # -- the detail line ----------------------------------------------------------

    def show_detail(self, node: TreeNode[Node] | None) -> None:
        if node is None or node.data is None:
            return
        data = node.data
        f = data.figures
        text = Text(no_wrap=False)
        text.append(clean(data.name), style="bold")
        kind = t(f"UnitKind.{data.kind}") if data.kind in set(UnitKind) else ""
        if kind:
            text.append(f"  {kind}", style="dim")
        text.append("\n")
        text.append(t("grid.detail", open=f"{f.open:,}", new=f"{f.new_today:,}",
                      overdue=f"{f.overdue:,}", supervised=f"{f.supervised:,}",
                      oldest=age_text(f.age()), unstaffed=f"{f.unstaffed:,}",
                      days=sum(f.daily)))
        self.query_one("#grid-detail", Static).update(text)
        if data.ref[0] in ("area", "held") and data.ref[1] is not None:
            self.load_workers(data, text)

    @work(exclusive=True, group="grid-workers")
    async def load_workers(self, data: Node, text: Text) -> None:
        staff = await gridstatus.workers(self.app.db, self.app.actor, data.ref[1])
        if not staff:
            return
        text = text.copy()
        text.append("\n")
        if data.kind == UnitKind.GRID and data.figures.unstaffed:
            text.append(f"{UNSTAFFED_MARK} {t('grid.nobody')}  ", style="bold yellow")
        for index, w in enumerate(staff):
            if index:
                text.append(" │ ", style="dim")
            text.append(clean(w.name), style="bold" if w.on_duty else "dim")
            role = w.role.label + (f"·{t('grid.full_time')}" if w.full_time else "")
            text.append(f" {role} ", style="dim")
            text.append(t("grid.on_duty") if w.on_duty else t("grid.off_duty"),
                        style="green" if w.on_duty else "bold red")
            text.append(f" · {t('grid.load', n=w.load)}")
        self.query_one("#grid-detail", Static).update(text)


catalog({
    "grid.title": ("网格态势", "Grid status"),
    "grid.loading": ("正在统计…", "Counting…"),
    "grid.key.queue": ("查看工单", "Cases"),
    "grid.key.toggle": ("展开/收起", "Expand"),
    "grid.key.sort": ("排序", "Sort"),
    "grid.key.reload": ("刷新", "Refresh"),
    "grid.col.name": ("区域", "Area"),
    "grid.col.open": ("在办", "Open"),
    "grid.col.new_today": ("今日新增", "New today"),
    "grid.col.overdue": ("超期", "Overdue"),
    "grid.col.supervised": ("督办", "Supervised"),
    "grid.col.oldest": ("最久", "Oldest"),
    "grid.col.unstaffed": ("缺岗网格", "Unstaffed"),
    "grid.col.daily": ("近14天", "Last 14 days"),
    "grid.colshort.open": ("在办", "Open"),
    "grid.colshort.new_today": ("新增", "New"),
    "grid.colshort.overdue": ("超期", "Late"),
    "grid.colshort.supervised": ("督办", "Sup"),
    "grid.colshort.oldest": ("最久", "Age"),
    "grid.colshort.unstaffed": ("缺岗", "Unst"),
    "grid.colshort.daily": ("近14天", "14 days"),
    "grid.days": ("{n}天", "{n}d"),
    "grid.hours": ("{n}时", "{n}h"),
    "grid.detail": ("在办 {open} · 今日新增 {new} · 超期 {overdue} · 督办 {supervised} · "
                    "最久 {oldest} · 缺岗网格 {unstaffed} · 近14天 {days} 件",
                    "Open {open} · new today {new} · overdue {overdue} · supervised {supervised} · "
                    "oldest {oldest} · unstaffed grids {unstaffed} · last 14 days {days}"),
    "grid.nobody": ("无在岗网格员", "No grid worker on duty"),
    "grid.full_time": ("专职", "full-time"),
    "grid.on_duty": ("在岗", "on duty"),
    "grid.off_duty": ("离岗", "off duty"),
    "grid.load": ("在办{n}件", "{n} open"),
    "grid.no_drill": ("请选择具体单位", "Choose a unit to see its cases"),
    "grid.not_in_tree": ("该网格不在您的范围内", "That area is outside your scope"),
})
