"""Statistics (key 3): the weekly dispatch review and the monthly bulletin on
screen (DESIGN.md §4).

The chosen period and its predecessor side by side: the district KPIs, the
rankings of streets/towns and departments with red and black lists, the
breakdown by category and channel, hotspots and repeat complaints, and
charts.  ``w`` switches week/month, ``[`` ``]`` step through periods, ``t``
cycles the tabs, Enter on a street, department, category, hotspot or repeat
complaint opens the queue on the cases behind the figure (closed included).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from ...db import clock, stats
from ...db.casefilter import CaseFilter
from ...db.i18n import catalog, t
from ...db.report import KPI_COLUMNS, RATE_NAMES, channel_label, fmt, value
from ..messages import DataChanged
from ..text import literal
from ..widgets.charts import BarsChart, DailyChart, TrendChart
from ..widgets.header import CenterHeader

TABS = ("kpi", "rank", "breakdown", "hot", "charts")
REFRESH_S = 60  # commits elsewhere refresh the figures at most this often
REPEATS_SHOWN = 200  # a long tail of repeat pairs stays in the report files
RANK_KPIS = ("received", "on_time_rate", "satisfaction_rate", "ack_on_time_rate",
             "return_rate", "overdue_open")
BREAKDOWN_KPIS = ("received", "resolved", "on_time_rate", "satisfaction_rate", "overdue_open")


@dataclass
class Loaded:
    period: stats.Period
    report: stats.Report
    previous: stats.Report
    daily: list
    trend: list


class StatsLoaded(Message):
    """The figures of a period (and of its predecessor) were computed."""

    def __init__(self, loaded: Loaded) -> None:
        super().__init__()
        self.loaded = loaded


def change(path: tuple[str, ...], now, before) -> str:
    if now is None or before is None:
        return "—"
    diff = now - before
    if path[0] in RATE_NAMES:
        return f"{diff * 100:+.1f}pt"
    return f"{diff:+,.1f}" if isinstance(diff, float) else f"{diff:+,}"


def cell(path: tuple[str, ...], v) -> Text:
    return Text(fmt(path, v), justify="right", style="dim" if v is None else "")


class StatsScreen(Screen):
    DEFAULT_CSS = """
    StatsScreen #stats-period { height: 1; background: $boost; padding: 0 1; }
    StatsScreen TabbedContent { height: 1fr; }
    StatsScreen TabPane { padding: 0; }
    StatsScreen .stats-caption { height: 1; text-style: bold; padding: 0 1; }
    StatsScreen .stats-lists { height: auto; max-height: 3; padding: 0 1; }
    StatsScreen DataTable { height: 1fr; }
    StatsScreen #stats-charts { grid-size: 2 2; grid-gutter: 0; height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._bindings.bind("w", "toggle_kind", t("stats.key.kind"))
        self._bindings.bind("left_square_bracket", "step(-1)", t("stats.key.prev"))
        self._bindings.bind("right_square_bracket", "step(1)", t("stats.key.next"))
        self._bindings.bind("t", "next_tab", t("stats.key.tab"))
        self._bindings.bind("r", "reload", t("stats.key.reload"))
        self.period = stats.Period.containing("week", clock.now())
        self.loaded: Loaded | None = None
        self.filters: dict[str, CaseFilter] = {}
        self.ready = asyncio.Event()
        self._loading, self._stale, self._loaded_at = False, False, float("-inf")
        self._refresh: Timer | None = None

    def compose(self) -> ComposeResult:
        yield CenterHeader("stats.title")
        yield Static(id="stats-period")
        with TabbedContent(id="stats-tabs"):
            with TabPane(t("stats.tab.kpi"), id="kpi"):
                yield DataTable(id="kpi-table", cursor_type="row", zebra_stripes=True)
            with TabPane(t("stats.tab.rank"), id="rank"):
                for group in ("street", "department"):
                    yield Static(t(f"stats.rank.{group}"), classes="stats-caption")
                    yield Static("", id=f"{group}-lists", classes="stats-lists")
                    yield DataTable(id=f"{group}-table", cursor_type="row")
            with TabPane(t("stats.tab.breakdown"), id="breakdown"):
                yield Static(t("stats.by_category"), classes="stats-caption")
                yield DataTable(id="category-table", cursor_type="row")
                yield Static(t("stats.by_channel"), classes="stats-caption")
                yield DataTable(id="channel-table", cursor_type="row")
            with TabPane(t("stats.tab.hot"), id="hot"):
                yield Static(t("stats.hotspots"), classes="stats-caption")
                yield DataTable(id="hotspot-table", cursor_type="row")
                yield Static(t("stats.repeats"), classes="stats-caption")
                yield DataTable(id="repeat-table", cursor_type="row")
            with TabPane(t("stats.tab.charts"), id="charts"):
                with Grid(id="stats-charts"):
                    yield DailyChart("charts.daily", id="chart-daily")
                    yield BarsChart("charts.streets", id="chart-streets")
                    yield BarsChart("charts.categories", id="chart-categories")
                    yield TrendChart("charts.trend", id="chart-trend")
        yield Footer()

    def on_mount(self) -> None:
        self.show_period(loading=True)
        self.load()

    # -- loading ------------------------------------------------------------------

    @work(exclusive=True, group="stats-load")
    async def load(self) -> None:
        self._loading = True
        try:
            await self._load()
        finally:
            self._loading, self._loaded_at = False, time.monotonic()
            if self._stale:
                self._stale = False
                self.on_data_changed()

    async def _load(self) -> None:
        app, period = self.app, self.period
        now = clock.now()
        # Independent figures, computed together; the previous period only
        # for comparison, so without its hotspots and repeat complaints.
        report, previous, daily, trend = await asyncio.gather(
            stats.compute(app.db, app.actor, period, now),
            stats.compute(app.db, app.actor, period.previous(), now, extras=False),
            stats.daily(app.db, app.actor, period, now),
            stats.on_time_trend(app.db, app.actor, period, now=now))
        self.post_message(StatsLoaded(Loaded(period, report, previous, daily, trend)))

    def on_stats_loaded(self, message: StatsLoaded) -> None:
        if message.loaded.period != self.period:
            return  # the officer has stepped on meanwhile
        self.loaded = message.loaded
        self.filters = {}
        self.show_period()
        self.fill_kpis()
        for group in ("street", "department"):
            self.fill_ranking(group)
        self.fill_breakdown()
        self.fill_hot()
        self.fill_charts()
        self.ready.set()

    def on_data_changed(self, _: DataChanged | None = None) -> None:
        # A busy district commits every few seconds, and a refresh (bulletin,
        # charts, trend) costs a few tenths of a second: refresh at most every
        # REFRESH_S (the period line says as of when), and never restart a
        # load under way.
        if self._loading:
            self._stale = True
        elif self._refresh is None:
            wait = self._loaded_at + REFRESH_S - time.monotonic()
            self._refresh = self.set_timer(max(wait, 0), self._refreshed)

    def _refreshed(self) -> None:
        self._refresh = None
        self.load()

    # -- actions ------------------------------------------------------------------

    def action_toggle_kind(self) -> None:
        kind = "month" if self.period.kind == "week" else "week"
        self.change_period(stats.Period.containing(kind, clock.now()))

    def action_step(self, n: int) -> None:
        target = self.period.shift(n)
        if target.start <= clock.now():  # no future periods
            self.change_period(target)

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + 1) % len(TABS)]

    def action_reload(self) -> None:
        self.load()

    def change_period(self, period: stats.Period) -> None:
        self.period = period
        self.ready.clear()
        self.show_period(loading=True)
        self.load()

    @on(DataTable.RowSelected)
    async def drill_down(self, event: DataTable.RowSelected) -> None:
        case_filter = self.filters.get(f"{event.data_table.id}:{event.row_key.value}")
        if case_filter is not None:
            await self.app.open_queue(case_filter)

    # -- filling ------------------------------------------------------------------

    def show_period(self, loading: bool = False) -> None:
        p = self.period
        running = p.end > clock.now()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{t('stats.kind.' + p.kind)} {p.label}", style="bold")
        line.append(f" {p.first:%m-%d}~{p.last_day:%m-%d}")
        if running:
            line.append(f" {t('stats.running')}", style="yellow")
            if self.loaded and self.loaded.period == p:
                as_of = clock.to_local(self.loaded.report.as_of)
                line.append(f" {t('stats.as_of')} {as_of:%H:%M}", style="yellow")
        line.append(f" │ {t('stats.versus')} {p.previous().label}")
        line.append(f" │ {clock.LOCAL_TZ_NAME}", style="dim")
        if loading:
            line.append(f" │ {t('stats.loading')}", style="italic")
        self.query_one("#stats-period", Static).update(line)

    def _drill(self, table: str, key: str, title: str, **criteria) -> None:
        p = self.period
        self.filters[f"{table}:{key}"] = CaseFilter(
            include_closed=True, created_from=p.start, created_to=p.end,
            title=t("stats.drill", what=title, period=p.label), **criteria)

    @staticmethod
    def _table(table: DataTable, columns: list[tuple[str, str]]) -> None:
        table.clear(columns=True)
        for key, label in columns:
            table.add_column(label, key=key)

    def fill_kpis(self) -> None:
        loaded = self.loaded
        table = self.query_one("#kpi-table", DataTable)
        self._table(table, [("kpi", t("stats.col.kpi")), ("now", loaded.period.label),
                            ("before", loaded.period.previous().label),
                            ("change", t("stats.col.change"))])
        for path, key in KPI_COLUMNS:
            now, before = value(loaded.report.totals, path), value(loaded.previous.totals, path)
            table.add_row(t(key), cell(path, now), cell(path, before),
                          Text(change(path, now, before), justify="right"), key=".".join(path))

    def fill_ranking(self, group: str) -> None:
        report, previous = self.loaded.report, self.loaded.previous
        before = {u["unit_id"]: u["rank"] for u in previous.by_unit if u["group"] == group}
        red = {u["unit_id"] for u in report.red_list(group)}
        black = {u["unit_id"] for u in report.black_list(group)}
        table = self.query_one(f"#{group}-table", DataTable)
        self._table(table, [("rank", t("stats.col.rank")), ("unit", t("stats.col.unit")),
                            ("list", t("stats.col.list")), ("score", t("stats.col.score")),
                            ("before", t("stats.col.before"))]
                    + [(k, t(f"report.kpi.{k}")) for k in RANK_KPIS])
        for u in report.ranked(group) + report.apart(group):
            uid = u["unit_id"]
            mark = Text(t("stats.red"), style="bold red") if uid in red else \
                Text(t("stats.black"), style="bold reverse") if uid in black else \
                Text(t("stats.apart"), style="dim") if u["rank"] is None else Text("")
            table.add_row(Text(str(u["rank"] or "—"), justify="right"), literal(u["unit"]), mark,
                          cell(("score",), u["score"]),
                          Text(str(before.get(uid) or "—"), justify="right"),
                          *[cell((k,), u[k]) for k in RANK_KPIS], key=str(uid))
            self._drill(f"{group}-table", str(uid), u["unit"], area_id=uid)
        names = lambda units: "、".join(u["unit"] for u in units) or "—"  # noqa: E731
        self.query_one(f"#{group}-lists", Static).update(Text(
            f"{t('stats.red')}：{names(report.red_list(group))}   "
            f"{t('stats.black')}：{names(report.black_list(group))}"))

    def fill_breakdown(self) -> None:
        report, previous = self.loaded.report, self.loaded.previous
        for name, rows, before_rows, key in (
                ("category", report.by_category, previous.by_category, "category_id"),
                ("channel", report.by_channel, previous.by_channel, "channel")):
            before = {r[key]: r["received"] for r in before_rows}
            table = self.query_one(f"#{name}-table", DataTable)
            self._table(table, [("name", t(f"stats.col.{name}"))]
                        + [(k, t(f"report.kpi.{k}")) for k in BREAKDOWN_KPIS]
                        + [("before", t("stats.col.before_received"))])
            for row in rows:
                label = row["category"] if name == "category" else channel_label(row["channel"])
                table.add_row(literal(label), *[cell((k,), row[k]) for k in BREAKDOWN_KPIS],
                              cell(("received",), before.get(row[key], 0)), key=str(row[key]))
                criteria = ({"category_ids": (row[key],)} if name == "category"
                            else {"channels": (row[key],)})
                self._drill(f"{name}-table", str(row[key]), label, **criteria)

    def fill_hot(self) -> None:
        report = self.loaded.report
        table = self.query_one("#hotspot-table", DataTable)
        self._table(table, [("kind", t("stats.col.kind")), ("name", t("stats.col.name")),
                            ("count", t("stats.col.count")), ("base", t("stats.col.base")),
                            ("ratio", t("stats.col.ratio"))])
        for h in report.hotspots:
            key = f"{h['kind']}:{h['id']}"
            table.add_row(t(f"report.hot.{h['kind']}"), literal(h["name"]),
                          cell(("count",), h["count"]), cell(("base",), h["baseline"]),
                          cell(("ratio",), h["ratio"]), key=key)
            criteria = ({"category_ids": (h["id"],)} if h["kind"] == "category"
                        else {"area_id": h["id"]})
            self._drill("hotspot-table", key, h["name"], **criteria)
        table = self.query_one("#repeat-table", DataTable)
        self._table(table, [("kind", t("stats.col.kind")), ("key", t("stats.col.key")),
                            ("count", t("stats.col.count")), ("first", t("stats.col.first")),
                            ("last", t("stats.col.last"))])
        for i, r in enumerate(report.repeat_complaints[:REPEATS_SHOWN]):
            first, last = (clock.to_local(_when(r[k])) for k in ("first", "last"))
            table.add_row(t(f"report.rep.{r['kind']}"), literal(r["key"]),
                          cell(("count",), r["count"]), f"{first:%m-%d %H:%M}",
                          f"{last:%m-%d %H:%M}", key=str(i))
            self.filters[f"repeat-table:{i}"] = CaseFilter(
                include_closed=True, case_ids=tuple(r["case_ids"]),
                title=t("stats.drill_repeat", what=r["key"]))

    def fill_charts(self) -> None:
        loaded = self.loaded
        self.query_one(DailyChart).show(loaded.daily)
        streets = [(u["unit"], u["received"]) for u in loaded.report.by_unit
                   if u["group"] == "street"]
        self.query_one("#chart-streets", BarsChart).show(streets)
        self.query_one("#chart-categories", BarsChart).show(
            [(c["category"], c["received"]) for c in loaded.report.by_category])
        self.query_one(TrendChart).show([(w.label, v) for w, v in loaded.trend])


def _when(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso)


catalog({
    "stats.title": ("周调度 / 月通报", "Weekly review / monthly bulletin"),
    "stats.key.kind": ("周/月", "Week/month"),
    "stats.key.prev": ("上一期", "Previous"),
    "stats.key.next": ("下一期", "Next"),
    "stats.key.tab": ("切换页", "Next tab"),
    "stats.key.reload": ("刷新", "Reload"),
    "stats.tab.kpi": ("指标", "KPIs"),
    "stats.tab.rank": ("排名", "Rankings"),
    "stats.tab.breakdown": ("类别/渠道", "Categories/channels"),
    "stats.tab.hot": ("热点/重复", "Hotspots/repeats"),
    "stats.tab.charts": ("图表", "Charts"),
    "stats.kind.week": ("周", "Week"),
    "stats.kind.month": ("月", "Month"),
    "stats.kind.year": ("年", "Year"),
    "stats.running": ("（进行中）", "(running)"),
    "stats.as_of": ("截至", "as of"),
    "stats.versus": ("对比上期", "vs."),
    "stats.loading": ("计算中…", "computing…"),
    "stats.rank.street": ("镇街排名", "Streets and towns"),
    "stats.rank.department": ("部门排名", "Departments"),
    "stats.by_category": ("分类别", "By category"),
    "stats.by_channel": ("分渠道", "By channel"),
    "stats.hotspots": ("热点（≥前四期均值1.5倍且≥10件）", "Hotspots (≥ 1.5 × mean of previous 4, ≥ 10)"),
    "stats.repeats": ("重复投诉（30天内3次及以上）", "Repeat complaints (3+ within 30 days)"),
    "stats.red": ("红榜", "Red list"),
    "stats.black": ("黑榜", "Black list"),
    "stats.apart": ("无考核", "Nothing due"),
    "stats.col.kpi": ("指标", "Figure"),
    "stats.col.change": ("变化", "Change"),
    "stats.col.rank": ("名次", "Rank"),
    "stats.col.unit": ("单位", "Unit"),
    "stats.col.list": ("榜单", "List"),
    "stats.col.score": ("得分", "Score"),
    "stats.col.before": ("上期名次", "Prev. rank"),
    "stats.col.before_received": ("上期受理", "Prev. received"),
    "stats.col.category": ("类别", "Category"),
    "stats.col.channel": ("渠道", "Channel"),
    "stats.col.kind": ("类型", "Kind"),
    "stats.col.name": ("名称", "Name"),
    "stats.col.key": ("对象", "Who/where"),
    "stats.col.count": ("件数", "Cases"),
    "stats.col.base": ("前四期均值", "Mean of prev. 4"),
    "stats.col.ratio": ("倍数", "Ratio"),
    "stats.col.first": ("首次", "First"),
    "stats.col.last": ("末次", "Last"),
    "stats.drill": ("{what} · {period} 受理", "{what} · received in {period}"),
    "stats.drill_repeat": ("{what} · 重复投诉", "{what} · repeat complaints"),
})
