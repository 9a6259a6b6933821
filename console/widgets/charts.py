"""Terminal charts for the statistics screen, drawn by plotext.

plotext measures every character as one cell, so Chinese inside a plot breaks
its frame (DESIGN.md §8): inside the plot there are only numbers and ASCII
(day numbers, 1…n for bars, week labels); the Chinese title and the legend
that names each number or colour are Textual widgets around it.
"""
from __future__ import annotations

from datetime import date
from math import ceil

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...db.i18n import catalog, t
from ..text import one_line

RECEIVED_COLOUR, RESOLVED_COLOUR, BAR_COLOUR = "cyan", "green", "orange"


class Chart(Vertical):
    """The plot in a frame titled in Chinese (Textual measures CJK width), and
    a legend under it."""

    DEFAULT_CSS = """
    Chart { height: 1fr; border: round $primary-darken-2; border-title-style: bold;
            padding: 0 1; }
    Chart > .chart-legend { height: auto; max-height: 2; color: $text-muted; }
    Chart > PlotextPlot { height: 1fr; min-height: 3; }
    """

    def __init__(self, title_key: str, *, id: str) -> None:
        super().__init__(id=id)
        self.title_key = title_key

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot  # plotext is slow to import: only here

        self.border_title = t(self.title_key)
        yield PlotextPlot()
        yield Static("", classes="chart-legend")

    @property
    def plt(self):
        from textual_plotext import PlotextPlot

        return self.query_one(PlotextPlot).plt

    def redraw(self, legend: Text) -> None:
        from textual_plotext import PlotextPlot

        self.query_one(".chart-legend", Static).update(legend)
        self.query_one(PlotextPlot).refresh()

    def reset(self):
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.frame(True)
        return plt


class DailyChart(Chart):
    """Cases received and resolved on each day of the period."""

    def show(self, days: list[tuple[date, int, int]]) -> None:
        plt = self.reset()
        xs = [d.day for d, _, _ in days]
        plt.plot(xs, [r for _, r, _ in days], color=RECEIVED_COLOUR, marker="braille")
        plt.plot(xs, [s for _, _, s in days], color=RESOLVED_COLOUR, marker="braille")
        plt.ylim(0, max([max(r, s) for _, r, s in days] + [1]))
        plt.xticks(xs[::max(1, len(xs) // 8)])
        legend = Text.assemble(("━ ", RECEIVED_COLOUR), t("charts.received"), "   ",
                               ("━ ", RESOLVED_COLOUR), t("charts.resolved"), "   ",
                               (t("charts.x_day"), "dim"))
        self.redraw(legend)


class BarsChart(Chart):
    """Bars numbered 1…n; the legend names each number."""

    def show(self, items: list[tuple[str, int]]) -> None:
        plt = self.reset()
        if items:
            xs = list(range(1, len(items) + 1))
            plt.bar(xs, [v for _, v in items], color=BAR_COLOUR, width=0.6)
            plt.ylim(0, max(v for _, v in items) or 1)
            # Ticks chosen here, not by plotext (whose choice is not stable): at
            # most ten numbers, which fit even a quarter of an 80-column screen.
            step = ceil(len(xs) / 10)
            plt.xticks(xs[::step], [str(x) for x in xs[::step]])
        legend = Text("  ".join(f"{i}.{one_line(name, 8)} {v:,}"
                                for i, (name, v) in enumerate(items, start=1)) or t("charts.none"))
        self.redraw(legend)


class TrendChart(Chart):
    """The on-time rate per ISO week; weeks without resolutions are left out."""

    def show(self, weeks: list[tuple[str, float | None]]) -> None:
        plt = self.reset()
        points = [(i, label, v) for i, (label, v) in enumerate(weeks, start=1) if v is not None]
        if points:
            plt.plot([i for i, _, _ in points], [v * 100 for _, _, v in points],
                     color=RESOLVED_COLOUR, marker="braille")
            plt.xticks([i for i, _, _ in points][::3], [w[-3:] for _, w, _ in points][::3])
        self.redraw(Text(t("charts.trend_legend", first=weeks[0][0] if weeks else "",
                           last=weeks[-1][0] if weeks else "")))


catalog({
    "charts.daily": ("每日受理与办结", "Received and resolved per day"),
    "charts.streets": ("各镇街受理量", "Received per street/town"),
    "charts.categories": ("类别构成（受理量）", "Category mix (received)"),
    "charts.trend": ("近12周按时办结率（%）", "On-time rate, last 12 weeks (%)"),
    "charts.received": ("受理", "received"),
    "charts.resolved": ("办结", "resolved"),
    "charts.x_day": ("横轴：日期", "x: day of month"),
    "charts.none": ("（无数据）", "(no data)"),
    "charts.trend_legend": ("{first} 至 {last}，横轴为周次", "{first} to {last}; x: ISO week"),
})
