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
from ...db.domain import ESCALATION_KINDS, Action, Channel, State, Urgency
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
HolderPicker OptionList { height: auto; max-height: 50vh; }  /* the hint stays in view at 80x24 */
HolderPicker Label.hint { width: 100%; }
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


class NarrowInput(Input):
    """The picker's narrowing input; in an escalation it leaves Space to the
    picker (marking an assisting unit): unit names hold no spaces."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if key == "space" and getattr(self.screen, "assisting", False):
            return False
        return super().check_consume_key(key, character)


class HolderPicker(ModalScreen[dict | None]):
    """Holder units ranked by the recommendation rule, each with its reason;
    typing narrows by Chinese or pinyin initials, Enter confirms.  The answer
    is the action's parameters: ``unit_id`` and, for an escalation (吹哨),
    ``assist_ids``: Space marks or unmarks the highlighted department or
    police station as assisting (协办), and Enter makes the highlighted unit
    the lead (主办).  Escape cancels with no change."""
    DEFAULT_CSS = FORM_CSS
    BINDINGS = [Binding("escape", "cancel", show=False),
                Binding("down", "move(1)", show=False, priority=True),
                Binding("up", "move(-1)", show=False, priority=True),
                Binding("space", "toggle_assist", show=False, priority=True)]

    class ChoicesLoaded(Message):
        def __init__(self, choices: list[Candidate]) -> None:
            super().__init__()
            self.choices = choices

    def __init__(self, title: str, case_id: int, action: Action) -> None:
        super().__init__()
        self.title_text, self.case_id, self.action = title, case_id, action
        self.choices: list[Candidate] = []
        self.assisting = action is Action.ESCALATE
        self.assists: dict[int, str] = {}  # marked assisting unit -> its name

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(self.title_text), classes="title")
            yield NarrowInput(placeholder=t("picker.placeholder"), id="narrow")
            yield OptionList(id="choices")
            if self.assisting:
                yield Label("", id="chosen")
                yield Label(t("picker.hint_assist"), classes="hint")
            else:
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
            options.add_option(Option(self._line(candidate), id=str(candidate.unit_id)))
        if message.choices:
            options.highlighted = 0
        else:
            options.add_option(Option(t("picker.none"), disabled=True))
        self._show_chosen()

    def _line(self, candidate: Candidate) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.assisting:
            marked = candidate.unit_id in self.assists
            line.append("● " if marked else "  ", style="bold magenta")
        line.append(one_line(candidate.name, 24), style="bold")
        line.append("  ")
        line.append(clean(candidate.reason), style="dim")
        return line

    def _highlighted(self) -> Candidate | None:
        index = self.query_one("#choices", OptionList).highlighted
        if self.choices and index is not None and index < len(self.choices):
            return self.choices[index]
        return None

    @on(OptionList.OptionHighlighted)
    def _moved(self) -> None:
        self._show_chosen()

    def _show_chosen(self) -> None:
        """主办 (the highlighted unit) and 协办 (the marked ones), as Enter takes them."""
        if not self.assisting:
            return
        lead = self._highlighted()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(t("picker.lead"), style="bold")
        line.append(one_line(lead.name, 24) if lead else "—")
        line.append("  ")
        line.append(t("picker.assists"), style="bold magenta")
        line.append(self._helpers(lead and lead.unit_id) or t("picker.no_assists"))
        self.query_one("#chosen", Label).update(line)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_assist":
            return self.assisting  # otherwise Space is a space in the narrowing input
        return True

    def action_toggle_assist(self) -> None:
        candidate = self._highlighted()
        if candidate is None:
            return
        if candidate.kind not in ESCALATION_KINDS:  # said where 主办/协办 stand, until the next move
            refusal = Text(t("picker.not_assist", name=one_line(candidate.name, 24)),
                           style="bold red", no_wrap=True, overflow="ellipsis")
            self.query_one("#chosen", Label).update(refusal)
            return
        if self.assists.pop(candidate.unit_id, None) is None:
            self.assists[candidate.unit_id] = candidate.name
        options = self.query_one("#choices", OptionList)
        options.replace_option_prompt_at_index(options.highlighted, self._line(candidate))
        self._show_chosen()

    def _answer(self, unit_id: int) -> dict:
        params: dict = {"unit_id": unit_id}
        if self.assisting:
            params["assist_ids"] = [i for i in self.assists if i != unit_id]
        return params

    def summary(self, unit_id: int) -> str:
        """The lead and assisting units, for the next form's title."""
        names = {c.unit_id: c.name for c in self.choices} | self.assists
        text = one_line(names.get(unit_id, str(unit_id)), 24)
        if helpers := self._helpers(unit_id):
            text += " " + t("picker.assists") + helpers
        return text

    def _helpers(self, lead: int | None) -> str:
        """The marked assisting units but the lead, as one line."""
        return "、".join(one_line(name, 24) for i, name in self.assists.items() if i != lead)

    def action_move(self, step: int) -> None:
        options = self.query_one("#choices", OptionList)
        if self.choices:
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self.choices) - 1, current + step))

    @on(Input.Submitted, "#narrow")
    def confirm(self) -> None:
        lead = self._highlighted()
        if lead is not None:
            self.dismiss(self._answer(lead.unit_id))

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(self._answer(int(event.option.id)))

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
    "picker.hint_assist": ("↑↓ 选择 · 空格 标记/取消协办 · 回车 选中单位主办并确认 · Esc 取消",
                           ("↑↓ choose · Space marks an assisting unit · Enter: the highlighted unit "
                            "leads, confirm · Esc cancels")),
    "picker.lead": ("主办：", "Lead: "),
    "picker.assists": ("协办：", "Assisting: "),
    "picker.no_assists": ("无", "none"),
    "picker.not_assist": ("{name} 不是职能部门或派出所，不能协办",
                          "{name} is not a department or police station: it cannot assist"),
})
