"""The selected case in full: every field, the timeline, deadlines, related
and repeat cases.  Outside text goes through ``clean``; the phone is masked."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...db import clock
from ...db.domain import Action, Channel, ClosureReason, Satisfaction, State, Urgency
from ...db.i18n import catalog, t
from ...db.privacy import mask_phone
from ...db.queue import Detail
from ..text import clean, one_line
from .deadline import local, time_left

NOTE_CELLS = 300


def _label(enum, value) -> str:
    return enum(value).label if value else "—"


def render_detail(d: Detail, now: datetime) -> Text:
    c = d.case
    out = Text()

    def field(key: str, value: object, style: str = "") -> None:
        out.append(f"{t(key)}: ", style="bold")
        out.append(clean(value) if value not in (None, "") else "—", style=style)
        out.append("\n")

    out.append(f"#{c['id']} ", style="bold")
    out.append(State(c["state"]).label, style="bold reverse")
    out.append(" ")
    urgency = Urgency(c["urgency"])
    out.append(urgency.label, style="bold red" if urgency is Urgency.CRITICAL else "")
    if c["supervise_count"]:
        out.append(f" {t('detail.supervised', n=c['supervise_count'])}", style="bold red")
    out.append("\n")
    out.append(clean(c["content"]))
    out.append("\n\n")
    field("detail.category", c["category"])
    field("detail.channel", f"{Channel(c['channel']).label} {clean(c['source_ref'])}")
    field("detail.created", local(c["created_at"]))
    field("detail.reporter", " ".join(filter(None, [clean(c["reporter_name"]),
                                                   mask_phone(c["reporter_phone"])])))
    field("detail.address", c["address"])
    field("detail.place", " / ".join(filter(None, [c["street"], c["community"], c["grid"]])))
    field("detail.holder", " / ".join(filter(None, [c["holder"], c["holder_person"]])))
    out.append(f"{t('detail.sign_due')}: ", style="bold")
    out.append(f"{local(c['sign_due'])}  ")
    out.append(f"{t('detail.resolve_due')}: ", style="bold")
    out.append(f"{local(c['resolve_due'])} ")
    out.append(time_left(c["state"], c["first_dispatched_at"], c["resolve_due"], now))
    out.append("\n")
    field("detail.counts", t("detail.counts_value", ret=c["return_count"], esc=c["escalate_count"],
                             redo=c["redo_count"], ext=c["extended_days"]))
    if d.assists:
        field("detail.assists", "、".join(d.assists))
    if c["result"] or c["closure_reason"]:
        field("detail.result", f"{_label(ClosureReason, c['closure_reason'])} {clean(c['result'] or '')}")
    if c["satisfaction"]:
        field("detail.satisfaction", _label(Satisfaction, c["satisfaction"]))
    if c["invalid_reason"]:
        field("detail.invalid", c["invalid_reason"])
    if d.parent:
        field("detail.parent", _brief(d.parent))
    _cases(out, "detail.merged", d.merged)
    _cases(out, "detail.same_phone", d.same_phone)
    _cases(out, "detail.same_place", d.same_place)
    out.append(f"\n{t('detail.timeline')}\n", style="bold underline")
    for e in d.events:
        out.append(f"{local(e['at'])} ", style="dim")
        out.append(clean(e["who"] or t("detail.system")))
        out.append(f" {Action(e['action']).label}", style="bold")
        if e["from_state"] and e["from_state"] != e["to_state"]:
            out.append(f" {State(e['from_state']).label}→{State(e['to_state']).label}")
        if e["holder"] and e["action"] in ("dispatch", "subdispatch", "escalate"):
            out.append(f" → {clean(e['holder'])}")
        if e["note"]:
            out.append(f"  {one_line(e['note'], NOTE_CELLS)}", style="italic")
        out.append("\n")
    return out


def _brief(case: dict) -> str:
    return f"#{case['id']} {State(case['state']).label} {one_line(case['content'], 30)}"


def _cases(out: Text, key: str, found: list[dict]) -> None:
    if not found:
        return
    out.append(f"{t(key, n=len(found))}\n", style="bold yellow")
    for case in found:
        out.append(f"  {local(case['created_at'])} {_brief(case)}\n")


class CaseDetail(VerticalScroll):
    """The pane beside (wide terminals) or under (80x24) the queue.  The table
    keeps the focus; the screen scrolls this pane (J/K)."""
    can_focus = False
    DEFAULT_CSS = """
    CaseDetail { border-left: vkey $primary; padding: 0 1; }
    CaseDetail > Static { width: 100%; }
    """

    def compose(self):
        yield Static(t("detail.empty"), id="detail-body")

    def show(self, d: Detail | None) -> None:
        body = self.query_one("#detail-body", Static)
        body.update(render_detail(d, clock.now()) if d else Text(t("detail.empty")))


catalog({
    "detail.empty": ("（未选中工单）", "(no case selected)"),
    "detail.supervised": ("督办×{n}", "supervised ×{n}"),
    "detail.category": ("类别", "Category"),
    "detail.channel": ("来源", "Channel"),
    "detail.created": ("登记", "Received"),
    "detail.reporter": ("来电人", "Reporter"),
    "detail.address": ("地址", "Address"),
    "detail.place": ("属地", "Area"),
    "detail.holder": ("承办", "Holder"),
    "detail.sign_due": ("签收时限", "Sign by"),
    "detail.resolve_due": ("办结时限", "Resolve by"),
    "detail.counts": ("记录", "Record"),
    "detail.counts_value": ("退单{ret} 吹哨{esc} 重办{redo} 延期{ext}天",
                            "returned {ret} escalated {esc} redone {redo} extended {ext}d"),
    "detail.assists": ("协办", "Assisting"),
    "detail.result": ("办理结果", "Result"),
    "detail.satisfaction": ("满意度", "Satisfaction"),
    "detail.invalid": ("不予受理理由", "Invalid because"),
    "detail.parent": ("并入", "Merged into"),
    "detail.merged": ("已并入本件 {n} 件", "{n} merged into this case"),
    "detail.same_phone": ("同一电话30天内 {n} 件（重复投诉）", "Same phone within 30 days: {n} (repeat complaint)"),
    "detail.same_place": ("同社区同类别30天内 {n} 件（重复投诉）",
                          "Same community and category within 30 days: {n} (repeat complaint)"),
    "detail.timeline": ("办理过程", "Timeline"),
    "detail.system": ("系统", "system"),
})
