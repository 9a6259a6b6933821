"""Database-side measurements for ``gridconsole bench`` (no Textual here).

Every figure is a list of wall-clock samples; every measured figure that has a
floor gets it from the same run on the same database, because the machines
this runs on are shared and noisy: the ratio is the figure to compare, the
absolute time only says how loaded the machine was.

Modules other work is still landing (queue, grid status, statistics, intake)
are imported when measured, and a missing one becomes a figure with a
``not_available`` reason instead of an error.
"""
from __future__ import annotations

import csv
import importlib
import io
import math
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import bindparam, delete, func, select, text

from . import snapshots
from .casefilter import CaseFilter
from .domain import State, UnitKind
from .engine import Database
from .models import Case, CaseEvent, Category, Unit, UTCDateTime
from .scope import Actor

cases, events, units, categories = (Case.__table__, CaseEvent.__table__, Unit.__table__,
                                    Category.__table__)

MONTHS = 12                 # a built database spreads its cases over a year
#: A built database ends here, whenever it is built: the same size is the same
#: data on every machine and every day, so two runs compare like with like.
UNTIL = datetime(2026, 11, 27, 10, tzinfo=timezone.utc)
BENCH_REF = "BENCH"         # source_ref prefix of the rows the import test adds


# -- figures ---------------------------------------------------------------------

def summary(samples: list[float], unit: str = "ms") -> dict:
    """Median and p90 (nearest rank) of samples in seconds, shown in ``unit``."""
    scale = 1000.0 if unit == "ms" else 1.0
    ordered = sorted(samples)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {"unit": unit, "runs": len(ordered), "median": round(statistics.median(ordered) * scale, 2),
            "p90": round(p90 * scale, 2), "samples": [round(s * scale, 2) for s in samples]}


def missing(reason: str) -> dict:
    return {"not_available": reason}


async def timed(call: Callable[[], Awaitable[object]], runs: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``runs`` awaited calls, after ``warmup`` unmeasured ones
    (the first call pays for SQLAlchemy's statement compilation and a cold page cache)."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def optional(module: str, *names: str):
    """The named attributes of ``gridconsole.db.<module>``, or the reason they are absent."""
    try:
        found = importlib.import_module(f"{__package__}.{module}")
    except ImportError as exc:
        return f"db/{module.replace('.', '/')}: {exc}"
    absent = [n for n in names if not hasattr(found, n)]
    if absent:
        return f"db/{module.replace('.', '/')} has no {', '.join(absent)}"
    return tuple(getattr(found, n) for n in names)


# -- the database ------------------------------------------------------------------

async def case_count(db: Database) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(cases)) or 0


async def build(db: Database, target: int, progress=None) -> int:
    """Seed an empty database with about ``target`` demo cases over ``MONTHS`` months."""
    from .demo.seed import seed_demo

    per_month = math.ceil(target / MONTHS)
    return await seed_demo(db, months=MONTHS, seed=1, until=UNTIL, cases_per_month=per_month,
                           progress=progress)


async def describe(db: Database) -> dict:
    async with db.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(cases))
        newest = await conn.scalar(select(func.max(cases.c.created_at)))
        open_ = await conn.scalar(select(func.count()).where(
            cases.c.state.in_([State.RECEIVED.value, State.DISPATCHED.value,
                               State.IN_PROGRESS.value])))
        version = await conn.scalar(text(
            "SELECT sqlite_version()" if db.is_sqlite else "SHOW server_version"))
    out = {"backend": db.url.get_backend_name(), "url": db.describe(), "cases": count,
           "open_cases": open_, "newest_case": newest.isoformat() if newest else None,
           "server_version": version}
    if db.is_sqlite:
        path = Path(db.url.database)
        out["file_bytes"] = sum(p.stat().st_size for p in
                                (path, Path(f"{path}-wal")) if p.exists())
    return out


async def _newest(db: Database) -> datetime:
    async with db.read() as conn:
        found = await conn.scalar(select(func.max(cases.c.created_at)))
    return found or datetime.now(timezone.utc)


async def _street(db: Database) -> int:
    """The street with the most open cases: the heaviest filter a street officer uses."""
    async with db.read() as conn:
        return await conn.scalar(
            select(cases.c.street_id).where(cases.c.street_id.is_not(None),
                                            cases.c.state == State.DISPATCHED.value)
            .group_by(cases.c.street_id).order_by(func.count().desc()).limit(1))


async def _initials(db: Database) -> str:
    """The pinyin initials of the busiest community, as an officer would type them."""
    async with db.read() as conn:
        community = await conn.scalar(
            select(cases.c.community_id).where(cases.c.community_id.is_not(None))
            .group_by(cases.c.community_id).order_by(func.count().desc()).limit(1))
        return await conn.scalar(select(units.c.initials).where(units.c.id == community)) or "sq"


async def _common_word(db: Database) -> str:
    """Two characters from the newest case's text: a word that occurs, not a made-up one."""
    async with db.read() as conn:
        content = await conn.scalar(select(cases.c.content).order_by(cases.c.id.desc()).limit(1))
    words = [content[i:i + 2] for i in range(len(content or "") - 1)
             if all("\u4e00" <= ch <= "\u9fff" for ch in content[i:i + 2])]
    return words[len(words) // 2] if words else "垃圾"


# -- queue -----------------------------------------------------------------------

async def queue_figures(db: Database, actor: Actor, runs: int) -> dict:
    found = optional("queue", "page", "view_counts", "Sort", "PAGE")
    names = ("queue_first_page", "queue_first_page_with_counts", "queue_next_page",
             "queue_filter_street_state", "queue_search_text", "queue_search_absent",
             "queue_search_initials")
    if isinstance(found, str):
        return {n: missing(found) for n in names}
    page, view_counts, Sort, size = found
    street, word, letters = await _street(db), await _common_word(db), await _initials(db)
    everything = CaseFilter()
    first = await page(db, actor, everything, Sort(), limit=size + 1)
    after = first[size - 1]["key"] if len(first) > size else None

    async def with_counts():
        await page(db, actor, everything, Sort(), limit=size + 1)
        await view_counts(db, actor)

    calls = {
        "queue_first_page": lambda: page(db, actor, everything, Sort(), limit=size + 1),
        "queue_first_page_with_counts": with_counts,
        "queue_next_page": lambda: page(db, actor, everything, Sort(), after=after, limit=size + 1),
        "queue_filter_street_state": lambda: page(
            db, actor, CaseFilter(states=(State.DISPATCHED.value,), area_id=street), Sort(),
            limit=size + 1),
        "queue_search_text": lambda: page(db, actor, CaseFilter(text=word), Sort(), limit=size + 1),
        "queue_search_absent": lambda: page(db, actor, CaseFilter(text="鳄鱼咬人"), Sort(),
                                            limit=size + 1),
        "queue_search_initials": lambda: page(db, actor, CaseFilter(text=letters), Sort(),
                                              limit=size + 1),
    }
    out = {}
    for name, call in calls.items():
        out[name] = summary(await timed(call, runs))
    out["queue_search_text"]["query"] = word
    out["queue_search_initials"]["query"] = letters
    out["queue_filter_street_state"]["street_id"] = street
    if after is None:
        out["queue_next_page"] = missing("fewer than one page of open cases")
    return out


# -- dispatch ----------------------------------------------------------------------

async def receive_cases(db: Database, actor: Actor, n: int, what: str) -> list[int]:
    """``n`` new received cases placed like the newest placed one, for a test to
    act on (and ``remove_cases`` after): a real database's cases stay untouched."""
    from .workflow import receive

    async with db.read() as conn:
        model = (await conn.execute(
            select(cases.c.category_id, cases.c.street_id, cases.c.community_id, cases.c.grid_id)
            .where(cases.c.community_id.is_not(None)).order_by(cases.c.id.desc()).limit(1))).first()
    if model is None:
        return []
    return [await receive(db, actor, channel="hotline", urgency="normal",
                          source_ref=f"{BENCH_REF}-{what}-{os.getpid()}-{i}-{time.time()}",
                          category_id=model.category_id, street_id=model.street_id,
                          community_id=model.community_id, grid_id=model.grid_id,
                          content=f"bench: {what}")
            for i in range(n)]


async def dispatch_figures(db: Database, actor: Actor, runs: int) -> dict:
    """The write path of a dispatch, on cases the benchmark receives for the
    purpose: the workflow call alone, and with what the queue reads around it
    (the holder picker's list before, the page and counts after)."""
    from .workflow import dispatch

    made = await receive_cases(db, actor, 2 * runs + 2, "dispatch")
    if not made:
        reason = "no case with a community to copy"
        return {"dispatch_workflow": missing(reason), "dispatch_and_reread": missing(reason)}
    async with db.read() as conn:
        community = await conn.scalar(select(cases.c.community_id).where(cases.c.id == made[0]))
    choices = optional("queue", "holder_choices", "page", "view_counts", "Sort", "PAGE")
    pending = list(made)

    async def one(reread: bool) -> None:
        case_id, unit = pending.pop(), community
        if reread:
            offered = await choices[0](db, actor, case_id)
            unit = offered[0].unit_id if offered else unit
        await dispatch(db, actor, case_id, unit_id=unit, version=1)
        if reread:
            _, page, view_counts, Sort, size = choices
            await page(db, actor, CaseFilter(), Sort(), limit=size + 1)
            await view_counts(db, actor)

    try:
        out = {"dispatch_workflow": summary(await timed(lambda: one(False), runs))}
        if isinstance(choices, str):
            out["dispatch_and_reread"] = missing(choices)
        else:
            out["dispatch_and_reread"] = summary(await timed(lambda: one(True), runs))
            out["dispatch_and_reread"]["includes"] = "holder_choices + dispatch + page + view_counts"
    finally:
        await remove_cases(db, made)
    return out


# -- grid tree ---------------------------------------------------------------------

async def grid_figures(db: Database, actor: Actor, runs: int) -> dict:
    found = optional("gridstatus", "open_tree", "children")
    if isinstance(found, str):
        return {"grid_open": missing(found), "grid_expand_street": missing(found)}
    open_tree, children = found
    roots, _ = await open_tree(db, actor)
    async with db.read() as conn:
        street = await conn.scalar(select(units.c.id).where(units.c.kind == UnitKind.STREET.value)
                                   .order_by(units.c.id).limit(1))
    return {"grid_open": summary(await timed(lambda: open_tree(db, actor), runs)),
            "grid_expand_street": summary(await timed(
                lambda: children(db, actor, ("area", street)), runs))}


# -- statistics --------------------------------------------------------------------

#: The hand-written floor: five of the bulletin's totals (DESIGN.md §4), one query
#: each, straight over the tables.  Only the JSON accessor differs by dialect.
FLOOR_SQL = {
    "received": "SELECT count(*) FROM cases WHERE created_at >= :s AND created_at < :e",
    "dispatched": "SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id "
                  "WHERE e.action = 'dispatch' AND e.at >= :s AND e.at < :e "
                  "AND e.at = c.first_dispatched_at",
    # A case resolved twice in P counts once, with its last resolution.
    "resolved": "SELECT count(*), "
                "sum(CASE WHEN action = 'resolve' AND due_at IS NOT NULL THEN 1 ELSE 0 END), "
                "sum(CASE WHEN action = 'resolve' AND at <= due_at THEN 1 ELSE 0 END) "
                "FROM (SELECT action, at, due_at, row_number() OVER "
                "(PARTITION BY case_id ORDER BY seq DESC) AS n FROM case_events "
                "WHERE action IN ('resolve', 'direct') AND at >= :s AND at < :e) r WHERE n = 1",
}
SATISFACTION_SQL = {
    "sqlite": "SELECT sum(CASE WHEN s <> 'unreachable' THEN 1 ELSE 0 END), "
              "sum(CASE WHEN s IN ('satisfied', 'basically') THEN 1 ELSE 0 END) "
              "FROM (SELECT json_extract(data, '$.satisfaction') AS s FROM case_events "
              "WHERE action = 'callback' AND at >= :s AND at < :e) c",
    "postgresql": "SELECT sum(CASE WHEN s <> 'unreachable' THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN s IN ('satisfied', 'basically') THEN 1 ELSE 0 END) "
                  "FROM (SELECT data->>'satisfaction' AS s FROM case_events "
                  "WHERE action = 'callback' AND at >= :s AND at < :e) c",
}


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


async def floor_kpis(db: Database, start: datetime, end: datetime) -> dict:
    params = {"s": start, "e": end}

    def q(sql: str):
        return text(sql).bindparams(bindparam("s", type_=UTCDateTime()),
                                    bindparam("e", type_=UTCDateTime()))

    async with db.read() as conn:
        received = await conn.scalar(q(FLOOR_SQL["received"]), params)
        dispatched = await conn.scalar(q(FLOOR_SQL["dispatched"]), params)
        resolved, due, on_time = (await conn.execute(q(FLOOR_SQL["resolved"]), params)).one()
        reached, satisfied = (await conn.execute(
            q(SATISFACTION_SQL[conn.dialect.name]), params)).one()
    return {"received": received, "dispatched": dispatched, "resolved": resolved,
            "on_time_rate": _rate(on_time or 0, due or 0),
            "satisfaction_rate": _rate(satisfied or 0, reached or 0)}


async def stats_figures(db: Database, actor: Actor, runs: int) -> dict:
    """A complete week and month (the last ones before the newest case): the full
    bulletin against the floor, and whether their shared figures agree; and the
    running week and month, as the statistics screen refreshes them."""
    newest = await _newest(db)
    found = optional("stats", "Period", "compute", "REBASE")
    out = {}
    for kind in ("week", "month"):
        if isinstance(found, str):
            start, end = _fallback_period(kind, newest)
            label = f"{start:%Y-%m-%d}"
        else:
            Period, compute, rebase = found
            period = Period.last_complete(kind, newest)
            start, end, label = period.start, period.end, period.label
        floor = await floor_kpis(db, start, end)
        # The call above was the warm-up.
        out[f"stats_{kind}_floor"] = summary(await timed(lambda: floor_kpis(db, start, end), runs,
                                                         warmup=0))
        out[f"stats_{kind}_floor"].update(period=label, figures=floor)
        if isinstance(found, str):
            for name in ("", "_kept", "_running", "_running_floor"):
                out[f"stats_{kind}{name}"] = missing(found)
            continue
        # Computed from the event log (as a period is the first time) …
        report = await compute(db, actor, period, kept=False)
        totals = {k: report.totals.get(k) for k in floor}
        out[f"stats_{kind}"] = summary(await timed(
            lambda: compute(db, actor, period, kept=False), runs, warmup=0))
        out[f"stats_{kind}"].update(period=label, figures=totals, agrees_with_floor=totals == floor)
        # … and read back once kept, as a closed period is after its first time.
        kept = await compute(db, actor, period)
        out[f"stats_{kind}_kept"] = summary(await timed(lambda: compute(db, actor, period), runs,
                                                        warmup=0))
        out[f"stats_{kind}_kept"].update(period=label,
                                         same_as_computed=kept.as_json() == report.as_json())
        # The running period up to the newest case, from tallies kept as of
        # REBASE + SETTLE (15 minutes) before it: the most a refresh brings forward.
        running = Period.containing(kind, newest)
        await snapshots.forget(db, running.kind, running.first)  # e.g. kept by a later run
        await compute(db, actor, running, now=newest - rebase)
        brought = await compute(db, actor, running, now=newest)
        out[f"stats_{kind}_running"] = summary(await timed(
            lambda: compute(db, actor, running, now=newest), runs, warmup=0))
        counted = await compute(db, actor, running, now=newest, kept=False)
        out[f"stats_{kind}_running"].update(
            period=running.label, same_as_computed=brought.as_json() == counted.as_json())
        out[f"stats_{kind}_running_floor"] = summary(await timed(
            lambda: floor_kpis(db, running.start, newest), runs))
        out[f"stats_{kind}_running_floor"].update(period=running.label)
    return out


def _fallback_period(kind: str, newest: datetime) -> tuple[datetime, datetime]:
    """Without db/stats: the last complete local week or month, as §4 defines them."""
    from zoneinfo import ZoneInfo

    local = newest.astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0,
                                                                 microsecond=0)
    if kind == "week":
        end = local - timedelta(days=local.weekday())
        start = end - timedelta(days=7)
    else:
        end = local.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


# -- import ------------------------------------------------------------------------

async def _sample(db: Database, n: int) -> list:
    """``n`` case descriptions taken from the database, to import again as new rows."""
    async with db.read() as conn:
        top = await conn.scalar(select(func.max(cases.c.id))) or 0
        rows = (await conn.execute(
            select(cases.c.content, cases.c.address, cases.c.reporter_name,
                   cases.c.reporter_phone, cases.c.category_id, categories.c.name.label("category"),
                   cases.c.street_id, cases.c.community_id, units.c.name.label("street"),
                   cases.c.urgency)
            .join(categories, categories.c.id == cases.c.category_id)
            .outerjoin(units, units.c.id == cases.c.street_id)
            .where(cases.c.id > top - 4 * n).order_by(cases.c.id).limit(n))).all()
    return rows


def _hotline_csv(rows: list, tag: str, now: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ticket_no", "received_at", "caller", "phone", "category", "content",
                     "address", "street", "urgency"])
    words = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
    local = now.astimezone(timezone(timedelta(hours=8)))
    for i, r in enumerate(rows):
        writer.writerow([f"{tag}-{i}", f"{local:%Y-%m-%d %H:%M}", r.reporter_name or "",
                         r.reporter_phone or "", r.category, r.content, r.address,
                         r.street or "", words.get(r.urgency, "")])
    return out.getvalue()


async def _remove(db: Database, first_id: int) -> None:
    """Take the test rows out again, so a database stays the size it was built."""
    async with db.write() as conn:
        await conn.execute(delete(events).where(events.c.case_id >= first_id))
        await conn.execute(delete(cases).where(cases.c.id >= first_id))


async def remove_cases(db: Database, ids: list[int]) -> None:
    """Remove cases the benchmark received (their audit entries stay: they happened)."""
    async with db.write() as conn:
        await conn.execute(delete(events).where(events.c.case_id.in_(ids)))
        await conn.execute(delete(cases).where(cases.c.id.in_(ids)))


def _floor_rows(rows: list, tag: str, now: datetime) -> list[dict]:
    from .domain import Channel, Urgency
    from .workflow import new_case_row

    return [new_case_row(channel=Channel.HOTLINE, source_ref=f"{tag}-{i}",
                         category_id=r.category_id, urgency=Urgency(r.urgency), content=r.content,
                         reported_at=now, created_at=now, address=r.address,
                         street_id=r.street_id, community_id=r.community_id,
                         reporter_name=r.reporter_name, reporter_phone=r.reporter_phone)
            for i, r in enumerate(rows)]


async def _floor_insert(db: Database, made: list[dict]) -> tuple[int, float]:
    """A bare executemany of ready rows (cases and their receive events) in one
    transaction: no parsing, no validation, no search key, no duplicate check.
    Returns the first id and the seconds it took."""
    from .bulk import insert_rows
    from .workflow import receive_event

    started = time.perf_counter()
    async with db.write() as conn:
        first = (await conn.scalar(select(func.max(cases.c.id))) or 0) + 1
        for i, row in enumerate(made):
            row["id"] = first + i
        await insert_rows(conn, cases, made)
        await insert_rows(conn, events, [receive_event(row["id"], row, None) for row in made])
    return first, time.perf_counter() - started


async def import_figures(db: Database, n: int, runs: int, workdir: Path) -> dict:
    """Rows per second of the hotline importer against the bare insert of the
    same rows.  Both add ``n`` cases to the measured database and remove them."""
    rows = await _sample(db, n)
    if len(rows) < n:
        reason = "not enough cases to sample import rows from"
        return {"import_rows_per_s": missing(reason), "import_floor_rows_per_s": missing(reason)}
    now = datetime.now(timezone.utc)
    floor, importer = [], []
    found = optional("intake", "import_file")
    for run in range(runs):
        tag = f"{BENCH_REF}-{os.getpid()}-{run}-{random.randrange(10**6)}"
        first, seconds = await _floor_insert(db, _floor_rows(rows, tag + "F", now))
        floor.append(seconds)
        await _remove(db, first)
        if isinstance(found, str):
            continue
        path = workdir / f"{tag}.csv"
        path.write_text(_hotline_csv(rows, tag, now), encoding="utf-8")
        async with db.read() as conn:
            first = (await conn.scalar(select(func.max(cases.c.id))) or 0) + 1
        try:
            started = time.perf_counter()
            result = await found[0](db, path)
            importer.append(time.perf_counter() - started)
        finally:
            await _remove(db, first)
            path.unlink(missing_ok=True)
        if result.imported != n:
            return {"import_rows_per_s": missing(f"imported {result.imported} of {n} rows"),
                    "import_floor_rows_per_s": _rates(floor, n)}
    out = {"import_floor_rows_per_s": _rates(floor, n)}
    out["import_rows_per_s"] = missing(found) if isinstance(found, str) else _rates(importer, n)
    return out


def _rates(samples: list[float], n: int) -> dict:
    """Rows per second: the median of the per-run rates, and the p10 (the slow end)."""
    rates = sorted(n / s for s in samples)
    p10 = rates[max(0, math.ceil(0.1 * len(rates)) - 1)]
    return {"unit": "rows/s", "runs": len(rates), "rows": n,
            "median": round(statistics.median(rates)), "p10": round(p10),
            "samples": [round(r) for r in rates]}
