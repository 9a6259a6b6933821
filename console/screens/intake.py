"""The import screen (key 5): a file path in, the same summary as
``gridconsole import`` out, with the rejected rows listed by line."""
from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, ProgressBar, Static

from ...db.i18n import catalog, t
from ...db.intake import ImportResult, IntakeError, import_file
from ..text import literal, one_line
from ..widgets.header import CenterHeader


class ImportProgressed(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total


class ImportFinished(Message):
    """``result`` on success; ``error`` (one line) when the file was unreadable."""

    def __init__(self, result: ImportResult | None, error: str | None = None) -> None:
        super().__init__()
        self.result, self.error = result, error


class IntakeScreen(Screen):
    DEFAULT_CSS = """
    IntakeScreen #intake-hint, IntakeScreen #intake-summary { height: auto; padding: 0 1; }
    IntakeScreen ProgressBar { padding: 0 1; }
    IntakeScreen DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield CenterHeader("intake.title")
        yield Static(t("intake.screen.hint"), id="intake-hint")
        yield Input(placeholder=t("intake.screen.path"), id="intake-path")
        yield ProgressBar(id="intake-progress", show_eta=False)
        yield Static("", id="intake-summary")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="intake-rejected")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(t("intake.screen.line"), key="line")
        table.add_column(t("intake.screen.reason"), key="reason")
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            return
        self.query_one("#intake-summary", Static).update(
            literal(t("intake.screen.running", name=Path(path).name)))
        self.query_one(DataTable).clear()
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.run_import(Path(path).expanduser())

    @work(exclusive=True, group="intake")
    async def run_import(self, path: Path) -> None:
        try:
            result = await import_file(
                self.app.db, path, actor=self.app.actor,
                progress=lambda done, total: self.post_message(ImportProgressed(done, total)))
        except IntakeError as exc:
            self.post_message(ImportFinished(None, str(exc)))
            return
        self.post_message(ImportFinished(result))

    def on_import_progressed(self, message: ImportProgressed) -> None:
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def on_import_finished(self, message: ImportFinished) -> None:
        summary = self.query_one("#intake-summary", Static)
        if message.result is None:
            summary.update(literal(message.error, "bold red"))
            return
        result = message.result
        summary.update(literal(result.summary(), "bold" if not result.rejected else "bold yellow"))
        table = self.query_one(DataTable)
        for index, rejection in enumerate(result.rejected):
            table.add_row(str(rejection.line), literal(one_line(rejection.reason, 100)),
                          key=str(index))


catalog({
    "intake.title": ("导入工单", "Import cases"),
    "intake.screen.hint": ("输入 12345 热线 CSV 或 Open311 JSON 文件的路径，回车导入；已导入的工单不会重复",
                           "Type the path of a 12345 hotline CSV or an Open311 JSON file and press Enter; cases already imported are not duplicated"),
    "intake.screen.path": ("文件路径，如 /data/12345-1120.csv", "file path, e.g. /data/12345-1120.csv"),
    "intake.screen.running": ("正在导入 {name}…", "Importing {name}…"),
    "intake.screen.line": ("行号", "Line"),
    "intake.screen.reason": ("拒收原因", "Reason"),
})
