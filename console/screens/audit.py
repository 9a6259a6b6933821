"""The audit screen (key 4): the audit trail, newest first, a page at a time,
refreshed when another terminal writes."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...db import clock
from ...db.i18n import catalog, t
from ...db.operators import AuditRow, audit_entries, result_label, what_label
from ..messages import DataChanged
from ..text import literal, one_line
from ..widgets.header import CenterHeader

PAGE = 100
COLUMNS = ("at", "operator", "what", "case", "ok", "detail")


class AuditLoaded(Message):
    def __init__(self, rows: list[AuditRow], before_id: int | None) -> None:
        super().__init__()
        self.rows, self.before_id = rows, before_id


class AuditScreen(Screen):
    DEFAULT_CSS = """
    AuditScreen DataTable { height: 1fr; }
    AuditScreen #audit-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        #: ``before_id`` of each page shown so far; the last is the current page.
        self._pages: list[int | None] = [None]
        self._rows: list[AuditRow] = []
        # Bound here, not in BINDINGS, so the footer speaks the current language.
        self._bindings.bind("right_square_bracket", "older", t("audit.older"))
        self._bindings.bind("left_square_bracket", "newer", t("audit.newer"))

    def compose(self) -> ComposeResult:
        yield CenterHeader("audit.title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="audit-table")
        yield Static("", id="audit-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key in COLUMNS:
            table.add_column(t(f"audit.col.{key}"), key=key)
        self.load()

    @work(exclusive=True, group="audit")
    async def load(self) -> None:
        before = self._pages[-1]
        rows = await audit_entries(self.app.db, self.app.actor, before_id=before, limit=PAGE)
        self.post_message(AuditLoaded(rows, before))

    def on_audit_loaded(self, message: AuditLoaded) -> None:
        if message.before_id != self._pages[-1]:
            return  # a page the officer has already left
        self._rows = message.rows
        table = self.query_one(DataTable)
        keep = self._cursor_key(table)
        table.clear()
        for row in message.rows:
            table.add_row(*self._cells(row), key=str(row.id))
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self._show_status()

    @staticmethod
    def _cursor_key(table: DataTable):
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key

    @staticmethod
    def _cells(row: AuditRow) -> tuple:
        return (clock.to_local(row.at).strftime("%m-%d %H:%M:%S"), literal(row.operator_code),
                what_label(row.what), "" if row.case_id is None else str(row.case_id),
                literal(result_label(row.ok), "" if row.ok else "bold red"),
                literal(one_line(row.detail, 60)))

    def _show_status(self) -> None:
        page = len(self._pages)
        if not self._rows:
            text = t("audit.empty")
        else:
            text = t("audit.status", page=page, first=self._rows[0].id, last=self._rows[-1].id)
        self.query_one("#audit-status", Static).update(literal(text))

    def action_older(self) -> None:
        if len(self._rows) == PAGE:
            self._pages.append(self._rows[-1].id)
            self.load()

    def action_newer(self) -> None:
        if len(self._pages) > 1:
            self._pages.pop()
            self.load()

    def on_data_changed(self, _: DataChanged) -> None:
        self.load()


catalog({
    "audit.title": ("审计日志", "Audit trail"),
    "audit.col.at": ("时间", "Time"),
    "audit.col.operator": ("操作员", "Operator"),
    "audit.col.what": ("事项", "What"),
    "audit.col.case": ("工单", "Case"),
    "audit.col.ok": ("结果", "Result"),
    "audit.col.detail": ("说明", "Detail"),
    "audit.older": ("较早", "Older"),
    "audit.newer": ("较新", "Newer"),
    "audit.empty": ("暂无审计记录", "No audit rows yet"),
    "audit.status": ("第 {page} 页 · 记录 {first}–{last} · ] 较早 [ 较新",
                     "Page {page} · rows {first}–{last} · ] older [ newer"),
})
