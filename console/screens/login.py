"""The login screen: operator code and password.  Modal, so no mode key
reaches the data behind it before someone has logged in."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...db.i18n import catalog, t
from ...db.lifecycle import Refused
from ...db.operators import authenticate, operator_count
from ...db.scope import Actor
from ..text import literal


class LoginScreen(ModalScreen[Actor]):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; background: $surface; }
    LoginScreen > Vertical { width: 64; height: auto; border: round $primary; padding: 1 2; }
    LoginScreen #login-title { text-style: bold; margin-bottom: 1; }
    LoginScreen Input { margin-bottom: 1; }
    LoginScreen #login-error { color: $error; height: 1; }
    """
    BINDINGS = [Binding("escape", "app.quit", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(t("login.title"), id="login-title")
            yield Input(placeholder=t("login.code"), id="login-code", max_length=32)
            yield Input(placeholder=t("login.password"), id="login-password", password=True)
            yield Static("", id="login-error")

    async def on_mount(self) -> None:
        if not await operator_count(self.app.db):
            self._say(t("login.no_operators"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        code = self.query_one("#login-code", Input).value.strip()
        password = self.query_one("#login-password", Input)
        if event.input.id == "login-code" or not code:
            self.set_focus(password if code else self.query_one("#login-code"))
            return
        self.try_login(code, password.value)

    @work(exclusive=True, group="login")
    async def try_login(self, code: str, password: str) -> None:
        try:
            actor = await authenticate(self.app.db, code, password)
        except Refused as refusal:
            field = self.query_one("#login-password", Input)
            field.value = ""
            field.focus()
            self._say(str(refusal))
            return
        self.dismiss(actor)

    def _say(self, message: str) -> None:
        self.query_one("#login-error", Static).update(literal(message))


catalog({
    "login.title": ("即墨区社会治理指挥中心 · 登录", "Jimo Social Governance Command Center · log in"),
    "login.code": ("操作员代码", "Operator code"),
    "login.password": ("密码", "Password"),
    "login.no_operators": ("尚无操作员：请先运行 gridconsole operator add",
                           "No operators yet: run gridconsole operator add first"),
})
