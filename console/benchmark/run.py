"""``gridconsole bench``: every figure, its floor from the same run, the targets.

The database figures come from ``db/bench.py``; the ones that need the console
itself (start to first screen, live latency, memory) run it in child processes
(``probe.py``) exactly as an officer's terminal starts it.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from sqlalchemy import select

from ...db import bench
from ...db.engine import Database
from ...db.i18n import catalog, t
from ...db.scope import Actor

PROBE = f"{__package__}.probe"
CHILD_TIMEOUT_S = 180
LIVE_TIMEOUT_S = 15


@dataclass(frozen=True)
class Target:
    figure: str
    floor: str | None       # the figure it is divided by (same run), if any
    max_ratio: float | None = None
    max_median: float | None = None   # in the figure's unit
    min_median: float | None = None


#: The issue's targets (1M-case SQLite database, 2-core machine).  A ratio is
#: always cost over the floor's cost: time / floor time, or floor rate / rate.
TARGETS = [
    Target("startup_first_screen", "startup_bare", max_ratio=1.5),
    *(Target(name, None, max_median=100.0) for name in (
        "queue_first_page", "queue_first_page_with_counts", "queue_next_page",
        "queue_filter_street_state", "queue_search_text", "queue_search_absent",
        "queue_search_initials", "dispatch_enter_to_row", "dispatch_workflow",
        "dispatch_and_reread", "grid_open", "grid_expand_street", "grid_screen_open",
        "grid_screen_expand_street")),
    Target("stats_week", "stats_week_floor"),
    Target("stats_month", "stats_month_floor", max_ratio=2.0, max_median=500.0),
    Target("stats_week_kept", "stats_week_floor"),
    Target("stats_month_kept", "stats_month_floor", max_ratio=2.0, max_median=500.0),
    Target("stats_week_running", "stats_week_running_floor"),
    Target("stats_month_running", "stats_month_running_floor", max_ratio=2.0,
           max_median=500.0),
    Target("import_rows_per_s", "import_floor_rows_per_s", min_median=20_000),
    Target("live_latency", None, max_median=2000.0),
    Target("console_rss_mb", "bare_rss_mb", max_median=250.0),
]
#: Every key the JSON carries: a number or an explicit "not_available".
FIGURES = ["startup_bare", "startup_first_screen", "bare_rss_mb", "console_rss_mb",
           "queue_first_page", "queue_first_page_with_counts", "queue_next_page",
           "queue_filter_street_state", "queue_search_text", "queue_search_absent",
           "queue_search_initials", "dispatch_enter_to_row", "dispatch_workflow",
           "dispatch_and_reread",
           "grid_open", "grid_expand_street", "grid_screen_open", "grid_screen_expand_street",
           "stats_week", "stats_week_floor",
           "stats_month", "stats_month_floor", "stats_week_kept", "stats_month_kept",
           "stats_week_running", "stats_week_running_floor", "stats_month_running",
           "stats_month_running_floor",
           "import_rows_per_s",
           "import_floor_rows_per_s", "live_latency"]


@dataclass(frozen=True)
class Plan:
    runs: int
    heavy_runs: int     # statistics and imports: seconds each on a large database
    import_rows: int
    warm_start: bool    # one unmeasured start of each probe first (page cache, .pyc)


def plan(quick: bool, runs: int | None) -> Plan:
    if quick:
        runs = runs or 2
        return Plan(runs, min(runs, 2), 1_000, False)
    runs = runs or 7
    return Plan(runs, min(runs, 3), 20_000, True)


# -- child processes ---------------------------------------------------------------

async def _child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", PROBE, *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


async def _line(proc: asyncio.subprocess.Process, timeout: float) -> dict:
    raw = await asyncio.wait_for(proc.stdout.readline(), timeout)
    if not raw:
        error = (await proc.stderr.read()).decode(errors="replace").strip().splitlines()
        raise RuntimeError(error[-1] if error else f"probe exited with {await proc.wait()}")
    return json.loads(raw)


async def _start(*args: str) -> dict:
    """One start of a probe: seconds from before the spawn to its painted screen."""
    started = time.time()
    proc = await _child(*args)
    try:
        line = await _line(proc, CHILD_TIMEOUT_S)
    finally:
        if proc.returncode is None:
            await asyncio.wait_for(proc.wait(), CHILD_TIMEOUT_S)
    line["seconds"] = line["painted"] - started
    for phase in ("opened", "imported", "mounted"):
        if phase in line:
            line[phase] -= started
    return line


async def startup_figures(url: str, operator: str, runs: int, warm: bool) -> dict:
    """Bare app and console started alternately, so both see the same load."""
    bare, console = [], []
    try:
        for i in range(runs + warm):
            b = await _start("bare")
            c = await _start("console", url, operator)
            if i >= warm:
                bare.append(b)
                console.append(c)
    except (RuntimeError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
        reason = t("bench.probe_failed", error=str(exc) or type(exc).__name__)
        out = {name: bench.missing(reason) for name in
               ("startup_bare", "startup_first_screen", "bare_rss_mb", "console_rss_mb")}
        if bare:
            out["startup_bare"] = bench.summary([b["seconds"] for b in bare])
        return out
    first = bench.summary([c["seconds"] for c in console])
    first.update(cpu_median_ms=_median_ms(c["cpu"] for c in console),
                 bare_cpu_median_ms=_median_ms(b["cpu"] for b in bare),
                 screen=console[-1]["screen"], rows=console[-1]["rows"],
                 settled=all(c["settled"] for c in console),
                 phases_median_ms={p: round(sorted(c[p] for c in console)[len(console) // 2] * 1000)
                                   for p in ("opened", "imported", "mounted")})
    return {"startup_bare": bench.summary([b["seconds"] for b in bare]),
            "startup_first_screen": first,
            "bare_rss_mb": _mb([b["rss_mb"] for b in bare]),
            "console_rss_mb": _mb([c["rss_mb"] for c in console])}


def _median_ms(seconds) -> float:
    ordered = sorted(seconds)
    return round(ordered[len(ordered) // 2] * 1000, 1)


def _mb(values: list[float]) -> dict:
    return {"unit": "MB", "runs": len(values), "median": sorted(values)[len(values) // 2],
            "max": max(values), "samples": values}


async def ui_grid_figures(url: str, operator: str, runs: int) -> dict:
    """The grid screen opened with key 2 and one street expanded, in the console."""
    names = ("grid_screen_open", "grid_screen_expand_street")
    proc = await _child("grid", url, operator, str(runs))
    lines = []
    try:
        for _ in range(runs):
            line = await _line(proc, CHILD_TIMEOUT_S)
            if "error" in line:
                return {name: bench.missing(line["error"]) for name in names}
            lines.append(line)
    except (RuntimeError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
        reason = t("bench.probe_failed", error=str(exc) or type(exc).__name__)
        return {name: bench.missing(reason) for name in names}
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    out = {}
    for name, key in zip(names, ("opened", "expanded")):
        out[name] = bench.summary([line[key] for line in lines])
        out[name]["cpu_median_ms"] = _median_ms(line[f"{key}_cpu"] for line in lines)
    out["grid_screen_open"]["includes"] = "first: screen mount + tree; then back from the queue"
    return out


async def ui_dispatch_figures(db: Database, actor: Actor, url: str, runs: int) -> dict:
    """Enter in the holder picker until the queue shows the committed row again."""
    made = await bench.receive_cases(db, actor, runs, "ui-dispatch")
    if not made:
        return {"dispatch_enter_to_row": bench.missing("no case with a community to copy")}
    proc = await _child("dispatch", url, actor.code, ",".join(map(str, made)))
    samples, cpu = [], []
    try:
        for _ in made:
            line = await _line(proc, CHILD_TIMEOUT_S)
            if "error" in line:
                return {"dispatch_enter_to_row": bench.missing(line["error"])}
            samples.append(line["seconds"])
            cpu.append(line["cpu"])
    except (RuntimeError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
        return {"dispatch_enter_to_row": bench.missing(t("bench.probe_failed",
                                                         error=str(exc) or type(exc).__name__))}
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await bench.remove_cases(db, made)
    out = bench.summary(samples)
    out["includes"] = ("Enter -> dispatch committed -> the acted row re-read by id -> row updated "
                       "(headless; the window and counts are re-read after)")
    out["cpu_median_ms"] = _median_ms(cpu)
    return {"dispatch_enter_to_row": out}


async def live_figures(db: Database, actor: Actor, url: str, runs: int) -> dict:
    """A case received here (another process) until the console's headline shows it."""
    from ...db.models import Category
    from ...db.workflow import receive

    cats = Category.__table__
    async with db.read() as conn:
        leaf = await conn.scalar(select(cats.c.id).where(
            cats.c.id.not_in(select(cats.c.parent_id).where(cats.c.parent_id.is_not(None))))
            .order_by(cats.c.id).limit(1))
    proc = await _child("live", url, actor.code, str(runs))
    made, samples = [], []
    try:
        await _line(proc, CHILD_TIMEOUT_S)  # ready
        for i in range(runs):
            await asyncio.sleep(1.0)  # let the watcher settle between commits
            made.append(await receive(db, actor, channel="hotline", urgency="normal",
                                      source_ref=f"{bench.BENCH_REF}-live-{os.getpid()}-{i}-{time.time()}",
                                      category_id=leaf, content="bench: live latency"))
            committed = time.time()
            line = await _line(proc, LIVE_TIMEOUT_S)
            samples.append(line["changed"] - committed)
    except (RuntimeError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
        return {"live_latency": bench.missing(t("bench.probe_failed",
                                                error=str(exc) or type(exc).__name__))}
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if made:
            await bench.remove_cases(db, made)
    out = bench.summary(samples)
    out["includes"] = "commit in this process -> PRAGMA data_version / NOTIFY -> headline refreshed"
    return {"live_latency": out}


# -- the whole run ----------------------------------------------------------------

def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "machine": platform.machine(), "load_average": list(os.getloadavg())}


def versions() -> dict:
    out = {"python": platform.python_version(), "sqlite_library": sqlite3.sqlite_version}
    for name in ("textual", "sqlalchemy", "aiosqlite", "asyncpg", "alembic", "gridconsole"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


async def measure(db: Database, actor: Actor, url: str, how: Plan, workdir: Path,
                  step=lambda name: None) -> dict:
    """Every figure of ``FIGURES`` (measured or not available), ratios and targets."""
    started = time.time()
    load_before = os.getloadavg()
    figures: dict[str, dict] = {}
    steps = [
        ("startup", lambda: startup_figures(url, actor.code, how.runs, how.warm_start)),
        ("queue", lambda: bench.queue_figures(db, actor, how.runs)),
        ("grid", lambda: bench.grid_figures(db, actor, how.runs)),
        ("grid", lambda: ui_grid_figures(url, actor.code, how.runs)),
        ("dispatch", lambda: bench.dispatch_figures(db, actor, how.runs)),
        ("dispatch", lambda: ui_dispatch_figures(db, actor, url, how.runs)),
        ("stats", lambda: bench.stats_figures(db, actor, how.heavy_runs)),
        ("import", lambda: bench.import_figures(db, how.import_rows, how.heavy_runs, workdir)),
        ("live", lambda: live_figures(db, actor, url, how.runs)),
    ]
    took: dict[str, float] = {}
    for name, call in steps:
        step(name)
        begun = time.monotonic()
        try:
            figures.update(await call())
        except Exception as exc:  # one broken part must not cost the others
            reason = t("bench.step_failed", step=name, error=f"{type(exc).__name__}: {exc}")
            figures.update({k: bench.missing(reason) for k in FIGURES if k not in figures and (
                k.startswith(name) or (name == "startup" and k.endswith("rss_mb")))})
        took[name] = round(took.get(name, 0) + time.monotonic() - begun, 1)
    for key in FIGURES:
        figures.setdefault(key, bench.missing(t("bench.not_measured")))
    return {"figures": figures, "targets": judge(figures),
            "load_average_before": list(load_before), "load_average_after": list(os.getloadavg()),
            "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(),
            "duration_s": round(time.time() - started, 1), "step_seconds": took}


def judge(figures: dict) -> list[dict]:
    out = []
    for target in TARGETS:
        fig, floor = figures.get(target.figure, {}), figures.get(target.floor or "", {})
        row = {"figure": target.figure, "floor": target.floor, "median": fig.get("median"),
               "unit": fig.get("unit"), "floor_median": floor.get("median"), "ratio": None,
               "target": describe_target(target), "pass": None}
        if "not_available" in fig:
            row["not_available"] = fig["not_available"]
        if row["median"] is not None and row["floor_median"]:
            rate = fig.get("unit") == "rows/s"
            row["ratio"] = round(row["floor_median"] / row["median"] if rate
                                 else row["median"] / row["floor_median"], 2)
            fig["ratio_to_floor"] = row["ratio"]
        checks = []
        if target.max_ratio is not None:
            checks.append(row["ratio"] is not None and row["ratio"] <= target.max_ratio)
        if target.max_median is not None:
            checks.append(row["median"] is not None and row["median"] <= target.max_median)
        if target.min_median is not None:
            checks.append(row["median"] is not None and row["median"] >= target.min_median)
        if checks and row["median"] is not None:
            row["pass"] = all(checks)
        out.append(row)
    return out


def describe_target(target: Target) -> str | None:
    parts = []
    if target.max_ratio is not None:
        parts.append(f"≤ {target.max_ratio:g}× floor")
    if target.max_median is not None:
        parts.append(f"≤ {target.max_median:g}")
    if target.min_median is not None:
        parts.append(f"≥ {target.min_median:,.0f}")
    return ", ".join(parts) or None


def table(result: dict) -> str:
    """The terminal table: one line per target row, figures without a target after."""
    head = [t("bench.col.figure"), t("bench.col.median"), "p90", t("bench.col.floor"),
            t("bench.col.ratio"), t("bench.col.target"), t("bench.col.result")]
    lines = []
    figures = result["figures"]
    judged = {row["figure"]: row for row in result["targets"]}
    for key in FIGURES:
        fig = figures[key]
        row = judged.get(key, {})
        if "not_available" in fig:
            lines.append([key, t("bench.na"), "", "", "", row.get("target") or "",
                          fig["not_available"][:60]])
            continue
        unit = fig.get("unit", "")
        slow = fig.get("p90", fig.get("p10", fig.get("max", "")))
        verdict = {True: t("bench.pass"), False: t("bench.fail"), None: ""}[row.get("pass")]
        lines.append([key, f"{fig['median']:,} {unit}", f"{slow:,}" if slow != "" else "",
                      f"{row['floor_median']:,}" if row.get("floor_median") is not None else "",
                      f"{row['ratio']}×" if row.get("ratio") is not None else "",
                      row.get("target") or "", verdict])
    widths = [max(_width(r[i]) for r in [head, *lines]) for i in range(len(head))]
    return "\n".join("  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip()
                     for r in [head, *lines])


def _width(text: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


catalog({
    "bench.col.figure": ("指标", "figure"),
    "bench.col.median": ("中位数", "median"),
    "bench.col.floor": ("基线", "floor"),
    "bench.col.ratio": ("倍数", "ratio"),
    "bench.col.target": ("目标", "target"),
    "bench.col.result": ("结果", "result"),
    "bench.pass": ("达标", "pass"),
    "bench.fail": ("未达标", "FAIL"),
    "bench.na": ("不可用", "not available"),
    "bench.not_measured": ("本次未测量", "not measured in this run"),
    "bench.probe_failed": ("测量子进程失败：{error}", "probe process failed: {error}"),
    "bench.step_failed": ("{step} 测量失败：{error}", "{step} failed: {error}"),
})
