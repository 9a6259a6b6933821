"""A computed bulletin (db.stats.Report) on paper: text for the terminal, the
Markdown bulletin to paste (周调度通报 / 月通报), CSV and xlsx tables, JSON.

Every rendering prints the period, the time zone and the formulas
(DESIGN.md §4); a rate with an empty denominator is "—" (empty in CSV/xlsx).
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable

from . import clock
from .domain import Channel
from .i18n import catalog, t
from .stats import KPI_NAMES, RATE_NAMES, WEIGHTS, Report

FORMATS = ("text", "md", "csv", "json", "xlsx")
_DURATIONS = [(("handle_hours", "mean"), "report.col.handle_mean"),
               (("handle_hours", "median"), "report.col.handle_median"),
               (("handle_hours", "p90"), "report.col.handle_p90"),
               (("ack_minutes", "median"), "report.col.ack_median"),
               (("ack_minutes", "p90"), "report.col.ack_p90")]
#: Flattened KPI columns, in the order of DESIGN.md §4: (path, catalog key).
KPI_COLUMNS = [((k,), f"report.kpi.{k}") for k in KPI_NAMES
               if k not in ("handle_hours", "ack_minutes", "supervised")] + _DURATIONS + [
               (("supervised",), "report.kpi.supervised")]
#: The short columns of the ranking tables on a terminal or in a bulletin.
RANK_COLUMNS = ("received", "resolved", "on_time_rate", "satisfaction_rate",
                "ack_on_time_rate", "return_rate", "overdue_open")


def value(row: dict, path: tuple[str, ...]):
    for key in path:
        row = row[key]
    return row


def fmt(path: tuple[str, ...], v) -> str:
    """A figure for reading: rates as percentages, None as "—"."""
    if v is None:
        return "—"
    if path[0] in RATE_NAMES:
        return f"{v * 100:.1f}%"
    if isinstance(v, float):
        return f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def title(report: Report) -> str:
    return t(f"report.title.{report.period.kind}", label=report.period.label)


def period_line(report: Report) -> str:
    p = report.period
    return t("report.period", first=p.first.isoformat(), last=p.last_day.isoformat(),
             tz=clock.LOCAL_TZ_NAME, as_of=f"{clock.to_local(report.as_of):%Y-%m-%d %H:%M}")


def formulas() -> list[str]:
    weights = " + ".join(f"{t('report.kpi.' + k)}×{w}" for k, w in WEIGHTS.items())
    return ([f"{t('report.kpi.' + k)}（{k}）：{t('report.def.' + k)}" for k in KPI_NAMES]
            + [t("report.def.score", weights=weights), t("report.def.lists"),
               t("report.def.hotspot"), t("report.def.repeat"), t("report.def.attribution")])


def channel_label(code: str) -> str:
    try:
        return Channel(code).label
    except ValueError:
        return code


# ---------------------------------------------------------------- tables

def tables(report: Report) -> list[tuple[str, list[str], list[list], list[tuple | None]]]:
    """(sheet name, headers, rows of raw values, column paths) for CSV and xlsx."""
    kpi_heads = [t(key) for _, key in KPI_COLUMNS]
    kpi_paths = [path for path, _ in KPI_COLUMNS]

    def kpis(row):
        return [value(row, path) for path in kpi_paths]

    unit_rows = [[t(f"report.group.{u['group']}"), u["unit"], u["score"], u["rank"], *kpis(u)]
                 for u in report.by_unit]
    return [
        (t("report.sheet.totals"), kpi_heads, [kpis(report.totals)], kpi_paths),
        (t("report.sheet.units"),
         [t("report.col.group"), t("report.col.unit"), t("report.col.score"),
          t("report.col.rank"), *kpi_heads], unit_rows, [None] * 4 + kpi_paths),
        (t("report.sheet.categories"), [t("report.col.category"), *kpi_heads],
         [[c["category"], *kpis(c)] for c in report.by_category], [None] + kpi_paths),
        (t("report.sheet.channels"), [t("report.col.channel"), *kpi_heads],
         [[channel_label(c["channel"]), *kpis(c)] for c in report.by_channel], [None] + kpi_paths),
        (t("report.sheet.hotspots"),
         [t("report.col.kind"), t("report.col.name"), t("report.col.count"),
          t("report.col.baseline"), t("report.col.ratio")],
         [[t(f"report.hot.{h['kind']}"), h["name"], h["count"], h["baseline"], h["ratio"]]
          for h in report.hotspots], [None] * 5),
        (t("report.sheet.repeats"),
         [t("report.col.kind"), t("report.col.key"), t("report.col.count"),
          t("report.col.first"), t("report.col.last"), t("report.col.cases")],
         [[t(f"report.rep.{r['kind']}"), r["key"], r["count"], _local(r["first"]),
           _local(r["last"]), " ".join(map(str, r["case_ids"]))]
          for r in report.repeat_complaints], [None] * 6),
    ]


def _local(iso: str) -> str:
    from datetime import datetime

    return f"{clock.to_local(datetime.fromisoformat(iso)):%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- renderings

def render(report: Report, form: str) -> str | bytes:
    return RENDERERS[form](report)


def as_json(report: Report) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"


def as_csv(report: Report) -> str:
    """One table per block, each with its name on the line above its header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title(report)])
    writer.writerow([period_line(report)])
    for name, heads, rows, _ in tables(report):
        writer.writerow([])
        writer.writerow([name])
        writer.writerow(heads)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def as_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, heads, rows, paths in tables(report):
        sheet = book.create_sheet(name[:31])
        sheet.append(heads)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for col, path in enumerate(paths, start=1):
            if path is not None and path[0] in RATE_NAMES:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=col, max_col=col):
                    cell.number_format = "0.0%"
        sheet.freeze_panes = "A2"
    notes = book.create_sheet(t("report.sheet.formulas"))
    for line in [title(report), period_line(report), "", *formulas()]:
        notes.append([line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_len(text: str) -> int:
    """Terminal cells: Chinese (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _grid(heads: list[str], rows: list[list[str]], md: bool) -> list[str]:
    if md:
        lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    widths = [max(cell_len(c) for c in col) for col in zip(heads, *rows)]

    def line(cells):
        return "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(cells, widths)).rstrip()
    return [line(heads), line(["-" * w for w in widths]), *map(line, rows)]


def _short(row: dict) -> list[str]:
    return [fmt((k,), row[k]) for k in RANK_COLUMNS]


def as_document(report: Report, md: bool) -> str:
    h1, h2 = ("# ", "## ") if md else ("", "")
    out = [f"{h1}{t('report.center')} {title(report)}", "", period_line(report), ""]

    def section(key: str, lines: list[str]):
        out.extend([f"{h2}{t(key)}" if md else f"【{t(key)}】", "", *lines, ""])

    section("report.sec.totals", _grid(
        [t("report.col.kpi"), t("report.col.value")],
        [[t(key), fmt(path, value(report.totals, path))] for path, key in KPI_COLUMNS], md))
    short_heads = [t(f"report.kpi.{k}") for k in RANK_COLUMNS]
    for group in ("street", "department"):
        ranked = report.ranked(group)
        lines = _grid([t("report.col.rank"), t("report.col.unit"), t("report.col.score"),
                       *short_heads],
                      [[str(u["rank"]), u["unit"], f"{u['score']:.2f}", *_short(u)]
                       for u in ranked], md) if ranked else [t("report.none")]
        red = "、".join(u["unit"] for u in report.red_list(group)) or "—"
        black = "、".join(u["unit"] for u in report.black_list(group)) or "—"
        apart = "、".join(u["unit"] for u in report.apart(group)) or "—"
        lines += ["", f"{t('report.red')}：{red}", f"{t('report.black')}：{black}",
                  f"{t('report.apart')}：{apart}"]
        section(f"report.sec.{group}", lines)
    section("report.sec.categories", _grid(
        [t("report.col.category"), *short_heads],
        [[c["category"], *_short(c)] for c in report.by_category], md))
    section("report.sec.channels", _grid(
        [t("report.col.channel"), *short_heads],
        [[channel_label(c["channel"]), *_short(c)] for c in report.by_channel], md))
    hot = report.hotspots
    section("report.sec.hotspots", _grid(
        [t("report.col.kind"), t("report.col.name"), t("report.col.count"),
         t("report.col.baseline")],
        [[t(f"report.hot.{h['kind']}"), h["name"], str(h["count"]), f"{h['baseline']:.1f}"]
         for h in hot], md) if hot else [t("report.none")])
    reps = report.repeat_complaints
    shown = reps[:REPEATS_SHOWN]
    lines = _grid([t("report.col.kind"), t("report.col.key"), t("report.col.count"),
                   t("report.col.first"), t("report.col.last")],
                  [[t(f"report.rep.{r['kind']}"), r["key"], str(r["count"]),
                    _local(r["first"]), _local(r["last"])] for r in shown], md) if reps else [
        t("report.none")]
    if len(reps) > len(shown):
        lines += ["", t("report.more", shown=len(shown), total=len(reps))]
    section("report.sec.repeats", lines)
    section("report.sec.formulas", [f"- {f}" if md else f"· {f}" for f in formulas()])
    return "\n".join(out).rstrip() + "\n"


REPEATS_SHOWN = 20
RENDERERS: dict[str, Callable[[Report], str | bytes]] = {
    "text": lambda r: as_document(r, md=False),
    "md": lambda r: as_document(r, md=True),
    "csv": as_csv,
    "json": as_json,
    "xlsx": as_xlsx,
}

catalog({
    "report.center": ("即墨区社会治理指挥中心", "Jimo Social Governance Command Center"),
    "report.title.week": ("周调度通报（{label}）", "Weekly dispatch review ({label})"),
    "report.title.month": ("月通报（{label}）", "Monthly bulletin ({label})"),
    "report.title.year": ("年度通报（{label}）", "Annual bulletin ({label})"),
    "report.period": ("统计周期：{first} 至 {last}（时区 {tz}，截至 {as_of}）",
                      "Period: {first} to {last} (time zone {tz}, as of {as_of})"),
    "report.sec.totals": ("全区指标", "District figures"),
    "report.sec.street": ("镇街排名", "Streets and towns ranked"),
    "report.sec.department": ("部门排名", "Departments ranked"),
    "report.sec.categories": ("分类别", "By category"),
    "report.sec.channels": ("分渠道", "By channel"),
    "report.sec.hotspots": ("热点", "Hotspots"),
    "report.sec.repeats": ("重复投诉", "Repeat complaints"),
    "report.sec.formulas": ("指标口径", "Formulas"),
    "report.red": ("红榜（前三）", "Red list (top 3)"),
    "report.black": ("黑榜（后三）", "Black list (bottom 3)"),
    "report.apart": ("本期无考核事项（不参与排名）", "Nothing due this period (not ranked)"),
    "report.none": ("（无）", "(none)"),
    "report.more": ("另有记录见 json/csv/xlsx（显示 {shown} / 共 {total}）",
                    "More in json/csv/xlsx ({shown} shown of {total})"),
    "report.group.street": ("镇街", "Street/town"),
    "report.group.department": ("部门", "Department"),
    "report.hot.category": ("类别", "Category"),
    "report.hot.community": ("社区/村居", "Community"),
    "report.rep.phone": ("同一电话", "Same phone"),
    "report.rep.community_category": ("同社区同类别", "Same community + category"),
    "report.sheet.totals": ("全区汇总", "District"),
    "report.sheet.units": ("单位排名", "Units ranked"),
    "report.sheet.categories": ("分类别", "Categories"),
    "report.sheet.channels": ("分渠道", "Channels"),
    "report.sheet.hotspots": ("热点", "Hotspots"),
    "report.sheet.repeats": ("重复投诉", "Repeat complaints"),
    "report.sheet.formulas": ("指标口径", "Formulas"),
    "report.col.kpi": ("指标", "Figure"),
    "report.col.value": ("数值", "Value"),
    "report.col.group": ("分组", "Group"),
    "report.col.unit": ("单位", "Unit"),
    "report.col.score": ("综合得分", "Score"),
    "report.col.rank": ("排名", "Rank"),
    "report.col.category": ("类别", "Category"),
    "report.col.channel": ("渠道", "Channel"),
    "report.col.kind": ("类型", "Kind"),
    "report.col.name": ("名称", "Name"),
    "report.col.key": ("对象", "Who/where"),
    "report.col.count": ("件数", "Cases"),
    "report.col.baseline": ("前四期均值", "Mean of previous 4"),
    "report.col.ratio": ("倍数", "Ratio"),
    "report.col.first": ("首次", "First"),
    "report.col.last": ("末次", "Last"),
    "report.col.cases": ("工单编号", "Case ids"),
    "report.col.handle_mean": ("办理时长均值(时)", "Handling mean (h)"),
    "report.col.handle_median": ("办理时长中位数(时)", "Handling median (h)"),
    "report.col.handle_p90": ("办理时长P90(时)", "Handling p90 (h)"),
    "report.col.ack_median": ("签收时长中位数(分)", "Sign median (min)"),
    "report.col.ack_p90": ("签收时长P90(分)", "Sign p90 (min)"),
    "report.kpi.received": ("受理量", "Received"),
    "report.kpi.dispatched": ("派单量", "Dispatched"),
    "report.kpi.direct": ("直办量", "Direct"),
    "report.kpi.resolved": ("办结量", "Resolved"),
    "report.kpi.ack_on_time_rate": ("及时签收率", "Signed on time"),
    "report.kpi.resolve_rate": ("办结率", "Resolve rate"),
    "report.kpi.on_time_rate": ("按时办结率", "Resolved on time"),
    "report.kpi.overdue_open": ("超期未办结", "Overdue open"),
    "report.kpi.return_rate": ("回退率", "Return rate"),
    "report.kpi.redo_rate": ("重办率", "Redo rate"),
    "report.kpi.satisfaction_rate": ("满意率", "Satisfaction"),
    "report.kpi.handle_hours": ("办理时长", "Handling time"),
    "report.kpi.ack_minutes": ("签收时长", "Time to sign"),
    "report.kpi.supervised": ("督办数", "Supervised"),
    "report.def.received": ("本期新建工单数", "cases created in the period"),
    "report.def.dispatched": ("本期首次派单的工单数", "cases first dispatched in the period"),
    "report.def.direct": ("本期以直办方式办结的工单数", "cases resolved by a direct answer in the period"),
    "report.def.resolved": ("本期办结的工单数（同一工单本期多次办结计一次）",
                            "cases that reached resolved in the period (once per case)"),
    "report.def.ack_on_time_rate": ("本期派单（含下派、吹哨）在签收时限内且在期末前签收的次数 ÷ 本期派单次数",
                                    "dispatches (incl. subdispatch, escalate) in the period signed within their sign deadline and before the period's end ÷ dispatches in the period"),
    "report.def.resolve_rate": ("本期新建且期末已办结的工单数 ÷ 本期新建工单数（期末不予受理、已合并的除外）",
                                "cases created in the period and resolved by its end ÷ cases created in the period (invalid and merged at the end excluded)"),
    "report.def.on_time_rate": ("本期办结且不晚于（延期后）办结时限的工单数 ÷ 本期有办结时限的办结工单数（直办件无时限，不计）",
                                "cases resolved in the period by their (extended) deadline ÷ cases resolved in the period against a deadline (direct answers have none)"),
    "report.def.overdue_open": ("期末处于待签收/处置中且已过办结时限的工单数",
                                "cases dispatched or in progress at the period's end past their resolve deadline"),
    "report.def.return_rate": ("本期退单次数 ÷ 本期派单次数", "returns in the period ÷ dispatches in the period"),
    "report.def.redo_rate": ("本期重办次数 ÷ 本期办结工单数", "redo actions in the period ÷ cases resolved in the period"),
    "report.def.satisfaction_rate": ("（满意 + 基本满意）÷ 本期联系上群众的回访数",
                                     "(satisfied + basically satisfied) ÷ callbacks in the period that reached the citizen"),
    "report.def.handle_hours": ("首次派单至办结，小时：均值、中位数、P90（最近秩法）",
                                "first dispatch to resolved, hours: mean, median, p90 (nearest rank)"),
    "report.def.ack_minutes": ("派单至签收，分钟：中位数、P90", "dispatch to sign, minutes: median, p90"),
    "report.def.supervised": ("本期督办次数", "supervise actions in the period"),
    "report.def.score": ("综合得分 = 100 ×（{weights}，回退率以 1 − 回退率计）÷ 有分母指标的权重之和",
                         "Score = 100 × ({weights}, return rate counted as 1 − return rate) ÷ the weights of the figures that have a denominator"),
    "report.def.lists": ("红榜为得分前三、黑榜为后三，同分同名次；本期无考核事项的单位另列",
                         "Red list: top 3 by score; black list: bottom 3; ties share a rank; units with nothing due are listed apart"),
    "report.def.hotspot": ("热点：本期某类别（细类）或社区的受理量 ≥ 前四期均值的 1.5 倍且 ≥ 10 件",
                           "Hotspot: a category or community whose count in the period is ≥ 1.5 × the mean of the previous 4 periods and ≥ 10"),
    "report.def.repeat": ("重复投诉：同一电话，或同一社区同一类别，30 天内 3 次及以上（窗口止于本期内）",
                          "Repeat complaints: the same phone, or the same community + category, 3 or more times within 30 days (a window ending in the period)"),
    "report.def.attribution": ("归属：镇街按工单所属镇街，类别按一级类别；部门按动作发生时的承办单位（专业网格、派出所归其部门），退单记退单单位，受理、办结率、超期按期末承办单位",
                               "Attribution: streets by the case's street, categories by top-level category; departments by the unit holding the case at the action (professional grids and police stations count for their department), returns for the returning unit, received/resolve rate/overdue for the holder at the period's end"),
})
