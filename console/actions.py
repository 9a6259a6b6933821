"""The one registry of the queue's commands: it feeds the key bindings, the
footer, the help screen and the command palette, so they never disagree."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..db.domain import Action, ClosureReason, Satisfaction
from ..db.i18n import catalog, t


@dataclass(frozen=True)
class Field:
    """One input of an action's form."""
    name: str                    # the workflow parameter
    kind: str                    # "text", "int" or the name of an enum in CHOICES
    required: bool = True


CHOICES = {"closure_reason": ClosureReason, "satisfaction": Satisfaction}


@dataclass(frozen=True)
class Command:
    name: str                    # the screen's action_<name>
    key: str
    case_action: Action | None = None
    fields: tuple[Field, ...] = ()
    picker: bool = False         # choose a holder unit first
    show: bool = True            # in the footer

    @property
    def action(self) -> str:
        """The binding's action string: case actions share one handler."""
        return f"case('{self.name}')" if self.case_action is not None else self.name

    @property
    def label(self) -> str:
        if self.case_action is not None:
            return self.case_action.label
        return t(f"cmd.{self.name}")

    @property
    def help(self) -> str:
        return t(f"cmd.help.{self.name}")


_REASON, _NOTE = Field("reason", "text"), Field("note", "text", required=False)
_RESULT = Field("result", "text")

COMMANDS: list[Command] = [
    Command("dispatch", "a", Action.DISPATCH, picker=True),
    Command("sign", "s", Action.SIGN),
    Command("resolve", "v", Action.RESOLVE, (_RESULT, Field("closure_reason", "closure_reason"))),
    Command("callback", "c", Action.CALLBACK, (Field("satisfaction", "satisfaction"), _NOTE)),
    Command("escalate", "e", Action.ESCALATE, (_NOTE,), picker=True),
    Command("subdispatch", "b", Action.SUBDISPATCH, (_NOTE,), picker=True),
    Command("return", "r", Action.RETURN, (_REASON,)),
    Command("direct", "d", Action.DIRECT, (_RESULT, Field("closure_reason", "closure_reason"))),
    Command("invalidate", "x", Action.INVALIDATE, (_REASON,)),
    Command("merge", "m", Action.MERGE, (Field("parent_id", "int"), _NOTE)),
    Command("supervise", "u", Action.SUPERVISE, (_NOTE,)),
    Command("extend", "t", Action.EXTEND, (Field("days", "int"), _NOTE)),
    Command("redo", "o", Action.REDO, (_REASON,)),
    Command("note", "n", Action.NOTE, (Field("note", "text"),)),
    Command("reveal", "p"),
    Command("grid", "g"),
    Command("mark", "space"),
    Command("search", "slash"),
    Command("filter", "f"),
    Command("clear", "F", show=False),
    Command("next_view", "right_square_bracket", show=False),
    Command("prev_view", "left_square_bracket", show=False),
    Command("next_sort", "greater_than_sign", show=False),
    Command("prev_sort", "less_than_sign", show=False),
    Command("reverse", "minus", show=False),
    Command("first", "home", show=False),
    Command("last", "end", show=False),
    Command("detail_down", "J", show=False),
    Command("detail_up", "K", show=False),
    Command("help", "question_mark"),
]
BY_NAME = {c.name: c for c in COMMANDS}
CASE_COMMANDS = [c for c in COMMANDS if c.case_action is not None]
#: Keys as the help screen writes them.
KEY_NAMES = {"space": "Space", "slash": "/", "question_mark": "?", "right_square_bracket": "]",
             "left_square_bracket": "[", "greater_than_sign": ">", "less_than_sign": "<",
             "minus": "-", "home": "Home", "end": "End"}


def bindings() -> list[Binding]:
    """The screen's bindings, in the current language (make them per screen)."""
    return [Binding(c.key, c.action, c.label, show=c.show, key_display=KEY_NAMES.get(c.key))
            for c in COMMANDS]


def key_label(command: Command) -> str:
    return KEY_NAMES.get(command.key, command.key)


class QueueCommands(Provider):
    """The command palette's view of the registry (what applies right now)."""

    def _applicable(self):
        screen = self.screen
        for command in COMMANDS:
            name, params = (("case", (command.name,)) if command.case_action is not None
                            else (command.name, ()))
            if screen.check_action(name, params) is True:
                yield command, f"{command.label} ({key_label(command)})"

    async def discover(self) -> Hits:
        for command, text in self._applicable():
            yield DiscoveryHit(text, partial(self.screen.run_action, command.action), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command, text in self._applicable():
            if (score := matcher.match(f"{text} {command.name}")) > 0:
                yield Hit(score, matcher.highlight(text),
                          partial(self.screen.run_action, command.action), help=command.help)


catalog({
    "cmd.reveal": ("显示电话", "Reveal phone"),
    "cmd.help.reveal": ("回访时显示来电人完整电话（记入审计）",
                        "Show the caller's full number for the callback (audited)"),
    "cmd.grid": ("所在网格", "Its grid"),
    "cmd.help.grid": ("在网格态势中定位本工单所在网格", "Show the case's grid in the grid status tree"),
    "cmd.mark": ("标记", "Mark"),
    "cmd.search": ("搜索", "Search"),
    "cmd.filter": ("筛选", "Filter"),
    "cmd.clear": ("清除筛选", "Clear filter"),
    "cmd.next_view": ("下一视图", "Next view"),
    "cmd.prev_view": ("上一视图", "Previous view"),
    "cmd.next_sort": ("按下一列排序", "Sort by next column"),
    "cmd.prev_sort": ("按上一列排序", "Sort by previous column"),
    "cmd.reverse": ("倒序", "Reverse order"),
    "cmd.help": ("帮助", "Help"),
    "cmd.first": ("第一件", "First case"),
    "cmd.last": ("最后一件", "Last case"),
    "cmd.help.first": ("跳到本视图的第一件工单（不只是已加载的）",
                       "Go to the first case of the view (not just of the loaded rows)"),
    "cmd.help.last": ("跳到本视图的最后一件工单（不只是已加载的）",
                      "Go to the last case of the view (not just of the loaded rows)"),
    "cmd.detail_down": ("详情下翻", "Detail down"),
    "cmd.detail_up": ("详情上翻", "Detail up"),
    "cmd.help.detail_down": ("向下滚动工单详情", "Scroll the case detail down"),
    "cmd.help.detail_up": ("向上滚动工单详情", "Scroll the case detail up"),
    "cmd.help.dispatch": ("派单：按推荐顺序选择承办单位（可多选后批量派单）",
                          "Dispatch: choose a holder, best recommendation first (marked cases at once)"),
    "cmd.help.sign": ("签收：承办单位确认接单", "Sign: the holder accepts the case"),
    "cmd.help.resolve": ("办结：填写办理结果和办结类型", "Resolve: the result and a closure reason"),
    "cmd.help.callback": ("回访：记录群众满意度，结案", "Callback: the citizen's satisfaction; closes the case"),
    "cmd.help.escalate": ("吹哨：报上级或职能部门", "Escalate: to the level above or a department"),
    "cmd.help.subdispatch": ("下派：派给下级单位", "Subdispatch: to a unit below the holder"),
    "cmd.help.return": ("退单：派单后2个工作日内，须填理由", "Return: within 2 working days of dispatch, with a reason"),
    "cmd.help.direct": ("直办：指挥中心直接答复", "Direct answer: the center answers at once"),
    "cmd.help.invalidate": ("不予受理：须填理由", "Invalidate: with a reason"),
    "cmd.help.merge": ("合并：并入主工单", "Merge: into a parent case"),
    "cmd.help.supervise": ("督办：督办次数加一（可多选后批量督办）",
                           "Supervise: one more supervision (marked cases at once)"),
    "cmd.help.extend": ("延期：累计不超过10个工作日", "Extend: at most 10 working days in total"),
    "cmd.help.redo": ("重办：核查不通过或群众不满意", "Redo: verification failed or citizen dissatisfied"),
    "cmd.help.note": ("备注：在时间线上记一笔", "Note: add a line to the timeline"),
    "cmd.help.mark": ("标记/取消标记当前工单", "Mark or unmark the selected case"),
    "cmd.help.search": ("搜索编号、内容、地址、来电人，支持拼音和首字母",
                        "Search id, text, address, reporter; pinyin and initials work"),
    "cmd.help.filter": ("按状态、来源、类别、街道、紧急程度筛选", "Filter by state, channel, category, street, urgency"),
    "cmd.help.clear": ("清除筛选和搜索", "Clear the filter and the search"),
    "cmd.help.next_view": ("切换到下一个常用视图", "Switch to the next saved view"),
    "cmd.help.prev_view": ("切换到上一个常用视图", "Switch to the previous saved view"),
    "cmd.help.next_sort": ("按下一列排序", "Sort by the next column"),
    "cmd.help.prev_sort": ("按上一列排序", "Sort by the previous column"),
    "cmd.help.reverse": ("升序/降序切换", "Ascending or descending"),
    "cmd.help.help": ("显示本帮助", "Show this help"),
})
