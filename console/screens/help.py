"""``?``: every key of the queue, from the same registry as the footer."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...db.i18n import catalog, t
from ..actions import COMMANDS, key_label


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "close", show=False)]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
        table.add_column(no_wrap=True, style="bold")
        table.add_column(no_wrap=True)
        table.add_column(ratio=1)
        for command in COMMANDS:
            table.add_row(key_label(command), command.label, command.help)
        for keys, key in (("j/k ↑/↓", "help.move"), ("PgUp/PgDn", "help.page"),
                          ("1 2 3 4", "help.modes"), ("Ctrl+P", "help.palette"),
                          ("q", "help.quit")):
            table.add_row(keys, t(key), "")
        with VerticalScroll():
            yield Static(t("help.title"), classes="title")
            yield Static(table)
            yield Static(t("help.close"))

    def action_close(self) -> None:
        self.dismiss(None)


catalog({
    "help.title": ("工单队列 · 按键", "Case queue · keys"),
    "help.move": ("上下移动", "Move up and down"),
    "help.page": ("翻页（按需读取下一页）", "Page (fetches the next page as needed)"),
    "help.modes": ("切换界面", "Switch screens"),
    "help.palette": ("命令面板", "Command palette"),
    "help.quit": ("退出", "Quit"),
    "help.close": ("Esc 或 ? 关闭", "Esc or ? closes"),
})
