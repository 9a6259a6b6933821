"""Small modal forms: the reason, result or note of an action, and the holder
picker.  Escape always cancels with no change (the screen returns None)."""
from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from ...db.casefilter import CaseFilter
from ...db.domain import Action, Channel, State, Urgency
from ...db.i18n import catalog, t
from ...db.queue import Candidate, holder_choices
from ..actions import CHOICES, Field
from ..text import clean, literal, one_line

FORM_CSS = """
ActionForm, HolderPicker { align: center middle; }
ActionForm > Vertical, HolderPicker > Vertical {
    width: 72; max-width: 95%; height: auto; max-height: 90%;
    border: thick $primary; background: $surface; padding: 0 1;
}
ActionForm Label.title, HolderPicker Label.title { text-style: bold; width: 100%; }
ActionForm Label.error { color: $error; }
ActionForm Input, ActionForm Select { margin-bottom: 0; }
HolderPicker OptionList { height: auto; max-height: 16; }
"""


class ActionForm(ModalScreen[dict | None]):
    """The inputs of one action; Enter submits, Escape cancels."""
    DEFAULT_CSS = FORM_CSS
    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, title: str, fields: tuple[Field, ...], params: dict | None = None) -> None:
        super().__init__()
        self.title_text, self.fields, self.params = title, fields, dict(params or {})

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(self.title_text), classes="title")
            for field in self.fields:
                yield Label(t(f"param.{field.name}") + ("" if field.required else t("form.optional")))
                if field.kind in CHOICES:
                    options = [(member.label, member.value) for member in CHOICES[field.kind]]
                    yield Select(options, allow_blank=False, id=f"f-{field.name}")
                else:
                    yield Input(id=f"f-{field.name}", type="integer" if field.kind == "int" else "text")
            yield Label("", classes="error", id="error")
            yield Label(t("form.hint"))

    def on_mount(self) -> None:
        first = self.query(Input).first()
        first.focus()

    @on(Input.Submitted)
    def submit(self) -> None:
        values = dict(self.params)
        for field in self.fields:
            widget = self.query_one(f"#f-{field.name}")
            value = widget.value if isinstance(widget, Select) else widget.value.strip()
            if field.kind == "int" and value:
                value = int(value)
            if value in ("", None):
                if field.required:
                    self.query_one("#error", Label).update(
                        t("refused.missing", what=t(f"param.{field.name}")))
                    widget.focus()
                    return
                value = None
            values[field.name] = value
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HolderPicker(ModalScreen[int | None]):
    """Holder units ranked by the recommendation rule, each with its reason;
    typing narrows by Chinese or pinyin initials, Enter confirms."""
    DEFAULT_CSS = FORM_CSS
    BINDINGS = [Binding("escape", "cancel", show=False),
                Binding("down", "move(1)", show=False, priority=True),
                Binding("up", "move(-1)", show=False, priority=True)]

    class ChoicesLoaded(Message):
        def __init__(self, choices: list[Candidate]) -> None:
            super().__init__()
            self.choices = choices

    def __init__(self, title: str, case_id: int, action: Action) -> None:
        super().__init__()
        self.title_text, self.case_id, self.action = title, case_id, action
        self.choices: list[Candidate] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(self.title_text), classes="title")
            yield Input(placeholder=t("picker.placeholder"), id="narrow")
            yield OptionList(id="choices")
            yield Label(t("picker.hint"))

    def on_mount(self) -> None:
        self.query_one("#narrow", Input).focus()
        self.load("")

    @work(exclusive=True, group="picker")
    async def load(self, text: str) -> None:
        choices = await holder_choices(self.app.db, self.app.actor, self.case_id,
                                       self.action, text)
        self.post_message(self.ChoicesLoaded(choices))

    @on(Input.Changed, "#narrow")
    def narrow(self, event: Input.Changed) -> None:
        self.load(event.value)

    def on_holder_picker_choices_loaded(self, message: ChoicesLoaded) -> None:
        self.choices = message.choices
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        for candidate in message.choices:
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(one_line(candidate.name, 24), style="bold")
            line.append("  ")
            line.append(clean(candidate.reason), style="dim")
            options.add_option(Option(line, id=str(candidate.unit_id)))
        if message.choices:
            options.highlighted = 0
        else:
            options.add_option(Option(t("picker.none"), disabled=True))

    def action_move(self, step: int) -> None:
        options = self.query_one("#choices", OptionList)
        if self.choices:
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self.choices) - 1, current + step))

    @on(Input.Submitted, "#narrow")
    def confirm(self) -> None:
        index = self.query_one("#choices", OptionList).highlighted
        if self.choices and index is not None:
            self.dismiss(self.choices[index].unit_id)

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilterForm(ModalScreen[CaseFilter | None]):
    """The queue's filters; Ctrl+S or the button applies, Escape cancels."""
    DEFAULT_CSS = FORM_CSS + """
    FilterForm { align: center middle; }
    FilterForm > Vertical { width: 60; max-width: 95%; height: auto; max-height: 95%;
        border: thick $primary; background: $surface; padding: 0 1; }
    FilterForm Select { width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", show=False),
                Binding("ctrl+s", "apply", show=False, priority=True)]

    def __init__(self, current: CaseFilter, choices: dict[str, list[tuple[str, int]]]) -> None:
        super().__init__()
        self.current, self.choices = current, choices

    def compose(self) -> ComposeResult:
        f = self.current
        enums = {"states": State, "channels": Channel, "urgencies": Urgency}
        with Vertical():
            yield Label(t("filter.title"), classes="title")
            for name, enum in enums.items():
                chosen = getattr(f, name)
                yield Select([(m.label, m.value) for m in enum], prompt=t(f"filter.{name}"),
                             value=chosen[0] if chosen else Select.NULL, id=f"f-{name}")
            for name, attr in (("category", "category_ids"), ("street", "area_id")):
                chosen = getattr(f, attr)
                chosen = (chosen[0] if chosen else None) if isinstance(chosen, tuple) else chosen
                options = [(clean(label), value) for label, value in self.choices[name]]
                values = {value for _, value in options}
                yield Select(options, prompt=t(f"filter.{name}"), id=f"f-{name}",
                             value=chosen if chosen in values else Select.NULL)
            yield Checkbox(t("filter.overdue"), f.overdue_only, id="f-overdue")
            yield Checkbox(t("filter.unassigned"), f.unassigned_only, id="f-unassigned")
            yield Button(t("filter.apply"), variant="primary", id="apply")
            yield Label(t("filter.hint"))

    def on_mount(self) -> None:
        self.query_one(Select).focus()

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        def one(name: str):
            value = self.query_one(f"#f-{name}", Select).value
            return () if value is Select.NULL else (value,)

        area = one("street")
        self.dismiss(replace(
            self.current, states=one("states"), channels=one("channels"),
            urgencies=one("urgencies"), category_ids=one("category"),
            area_id=area[0] if area else None, include_closed=False,
            overdue_only=self.query_one("#f-overdue", Checkbox).value,
            unassigned_only=self.query_one("#f-unassigned", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


catalog({
    "filter.title": ("筛选", "Filter"),
    "filter.states": ("状态：全部在办", "State: every open state"),
    "filter.channels": ("来源：全部", "Channel: all"),
    "filter.urgencies": ("紧急程度：全部", "Urgency: all"),
    "filter.category": ("类别：全部", "Category: all"),
    "filter.street": ("镇街：全部", "Street/town: all"),
    "filter.overdue": ("只看超期", "Overdue only"),
    "filter.unassigned": ("只看未派单", "Unassigned only"),
    "filter.apply": ("应用 (Ctrl+S)", "Apply (Ctrl+S)"),
    "filter.hint": ("Esc 取消", "Esc cancels"),
    "form.optional": ("（可选）", " (optional)"),
    "form.hint": ("回车确认 · Esc 取消", "Enter confirms · Esc cancels"),
    "picker.placeholder": ("输入单位名称或拼音首字母筛选", "Type a unit name or its pinyin initials"),
    "picker.hint": ("↑↓ 选择 · 回车确认 · Esc 取消", "↑↓ choose · Enter confirms · Esc cancels"),
    "picker.none": ("没有匹配的单位", "No unit matches"),
})
