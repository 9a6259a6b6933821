"""周调度 / 月通报: the figures of DESIGN.md §4 for one period, from the event log.

Everything is computed as of the period's end (or now, for the running
period), from events timestamped before it, so a bulletin regenerated later
gives the same figures.  Aggregation runs in SQL, grouped by the finest key
(street, category, channel, department); Python only rolls those rows up and
takes medians from compact lists of durations.

How figures are attributed (documented on every bulletin):

* streets: the case's street; categories: its top-level category; channels:
  its channel.
* departments: the department holding the case *at the action* (a dispatch,
  a sign, a resolution, a callback …) — a professional grid or a police
  station counts for the department it belongs to; a return counts for the
  unit that returned it; case-level figures (received, resolve rate, overdue)
  for the department holding the case at the end of the period.
* ``resolved``: cases whose (last) resolution in P falls in P, so a case
  resolved, redone and resolved again in one period counts once.
* ``on_time_rate``: resolutions that answer a deadline (``resolve``, not the
  center's ``direct`` answer, which has none).
* "dispatches": dispatch, subdispatch and escalate events (each asks for a
  sign); a dispatch counts as signed on time if the next hand-over of the
  case is a sign before both its sign deadline and the end of P.
"""
from __future__ import annotations

import asyncio
import functools
import math
import operator
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import (Text, and_, bindparam, case, cast, exists, extract, func,
                        literal, or_, select, true, tuple_, union, union_all)
from sqlalchemy.sql import ColumnElement

from . import clock, snapshots
from .nogc import without_gc
from .domain import HELD_STATES, Action, Satisfaction, State, UnitKind
from .engine import Database
from .models import Case, CaseEvent, Category, Unit, UTCDateTime
from .scope import Actor, case_scope, unit_scope

cases, events, units, categories = (Case.__table__, CaseEvent.__table__,
                                    Unit.__table__, Category.__table__)

#: Composite score weights (DESIGN.md §4 defaults).
WEIGHTS = {"on_time_rate": 35, "satisfaction_rate": 35, "ack_on_time_rate": 20,
           "return_rate": 10}
HOTSPOT_FACTOR, HOTSPOT_MIN, HOTSPOT_BASE_PERIODS = 1.5, 10, 4
REPEAT_MIN, REPEAT_WINDOW = 3, timedelta(days=30)
LIST_SIZE = 3
#: The version of the definitions below and of what is kept of them: bump it
#: when either changes, and what was kept under the old one is counted again.
FORMULAS = 2

KPI_NAMES = ("received", "dispatched", "direct", "resolved", "ack_on_time_rate",
             "resolve_rate", "on_time_rate", "overdue_open", "return_rate", "redo_rate",
             "satisfaction_rate", "handle_hours", "ack_minutes", "supervised")
RATE_NAMES = ("ack_on_time_rate", "resolve_rate", "on_time_rate", "return_rate",
              "redo_rate", "satisfaction_rate")

HANDOVERS = (Action.DISPATCH.value, Action.SUBDISPATCH.value, Action.ESCALATE.value)
RESOLUTIONS = (Action.RESOLVE.value, Action.DIRECT.value)
DURATIONS = ("handle_hours", "ack_minutes")


# ---------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    """An ISO week or a calendar month in Asia/Shanghai."""
    kind: str      # "week", "month" or "year"
    first: date    # its first local day

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}" if self.kind == "month" else f"{self.first:%Y}"

    @property
    def last_day(self) -> date:
        return self.next().first - timedelta(days=1)

    @property
    def start(self) -> datetime:
        return _local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return self.next().start

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.next().first - self.first).days)]

    def shift(self, n: int) -> Period:
        if self.kind == "week":
            return Period("week", self.first + timedelta(weeks=n))
        months = self.first.year * 12 + self.first.month - 1 + n * (12 if self.kind == "year" else 1)
        return Period(self.kind, date(months // 12, months % 12 + 1, 1))

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    @classmethod
    def containing(cls, kind: str, moment: datetime) -> Period:
        day = clock.to_local(moment).date()
        if kind == "week":
            return cls("week", day - timedelta(days=day.weekday()))
        if kind == "month":
            return cls("month", day.replace(day=1))
        if kind == "year":
            return cls("year", date(day.year, 1, 1))
        raise ValueError(kind)

    @classmethod
    def last_complete(cls, kind: str, moment: datetime | None = None) -> Period:
        return cls.containing(kind, moment or clock.now()).previous()

    @classmethod
    def parse(cls, text: str, kind: str | None = None) -> Period:
        """``2026-W47``, ``2026-11`` or ``2026``; ValueError for anything else
        (or another kind than ``kind``)."""
        text = text.strip()
        if m := re.fullmatch(r"(\d{4})-?W(\d{1,2})", text, re.IGNORECASE):
            year, week = int(m[1]), int(m[2])
            try:
                found = cls("week", date.fromisocalendar(year, week, 1))
            except ValueError:
                raise ValueError(f"no week {week} in {year}") from None
        elif m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            if not 1 <= int(m[2]) <= 12:
                raise ValueError(f"no month {m[2]}")
            found = cls("month", date(int(m[1]), int(m[2]), 1))
        elif re.fullmatch(r"\d{4}", text):
            found = cls("year", date(int(text), 1, 1))
        else:
            raise ValueError(f"not a period: {text!r} (e.g. 2026-W47, 2026-11 or 2026)")
        if kind and found.kind != kind:
            raise ValueError(f"{text} is not a {kind}")
        return found


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), clock.LOCAL_TZ).astimezone(timezone.utc)


# ---------------------------------------------------------------- tallies

#: The additive counters of a Tally, in the order of ``Tally.counts``.
COUNTS = ("received", "dispatched", "direct", "resolved",
          "created_valid",      # created in P, not invalid/merged at the end
          "created_resolved",   # … and resolved or closed at the end
          "handovers",          # dispatches in P (dispatch/subdispatch/escalate)
          "acked_on_time",
          "resolved_due",       # resolutions answering a deadline
          "resolved_on_time", "overdue_open", "returns", "redos", "callbacks_reached",
          "satisfied", "supervised")
_SLOT = {name: i for i, name in enumerate(COUNTS)}


@dataclass
class Tally:
    """Additive counts behind the KPIs of one group (one list of ints in the
    order of COUNTS, so a merge is one C-level map), plus duration samples."""
    counts: list[int] = field(default_factory=lambda: [0] * len(COUNTS))
    handle_hours: list[float] = field(default_factory=list)
    ack_minutes: list[float] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        # A month's roll-up merges thousands of tallies: no per-field Python.
        self.counts = list(map(operator.add, self.counts, other.counts))
        self.handle_hours += other.handle_hours
        self.ack_minutes += other.ack_minutes

    def __bool__(self) -> bool:
        return any(self.counts) or bool(self.handle_hours or self.ack_minutes)

    def sort(self) -> None:
        """Fine tallies keep their durations sorted: a group's list is then a
        few sorted runs, which sort for its median in little more than a merge."""
        self.handle_hours.sort()
        self.ack_minutes.sort()

    def subtract(self, other: Tally) -> None:
        """Take out what ``other`` once added; ValueError if it never was."""
        self.counts = list(map(operator.sub, self.counts, other.counts))
        if min(self.counts) < 0:
            raise ValueError("negative count")
        for mine, theirs in ((self.handle_hours, other.handle_hours),
                             (self.ack_minutes, other.ack_minutes)):
            for value in theirs:
                mine.remove(value)

    def kpis(self) -> dict:
        (received, dispatched, direct, resolved, created_valid, created_resolved, handovers,
         acked_on_time, resolved_due, resolved_on_time, overdue_open, returns, redos,
         callbacks_reached, satisfied, supervised) = self.counts
        hours = sorted(self.handle_hours)
        minutes = sorted(self.ack_minutes)
        return {
            "received": received,
            "dispatched": dispatched,
            "direct": direct,
            "resolved": resolved,
            "ack_on_time_rate": rate(acked_on_time, handovers),
            "resolve_rate": rate(created_resolved, created_valid),
            "on_time_rate": rate(resolved_on_time, resolved_due),
            "overdue_open": overdue_open,
            "return_rate": rate(returns, handovers),
            "redo_rate": rate(redos, resolved),
            "satisfaction_rate": rate(satisfied, callbacks_reached),
            "handle_hours": {"mean": _round(statistics.fmean(hours)) if hours else None,
                             "median": median(hours), "p90": p90(hours)},
            "ack_minutes": {"median": median(minutes), "p90": p90(minutes)},
            "supervised": supervised,
        }


def rate(part: int, whole: int) -> float | None:
    """A fraction rounded to 4 places; None (shown "—") for an empty denominator."""
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def median(ordered: list[float]) -> float | None:
    """The median of a sorted list (statistics.median's arithmetic)."""
    n = len(ordered)
    if not n:
        return None
    if n % 2:
        return _round(ordered[n // 2])
    return _round((ordered[n // 2 - 1] + ordered[n // 2]) / 2)


def p90(ordered: list[float]) -> float | None:
    """Nearest-rank 90th percentile of a sorted list."""
    if not ordered:
        return None
    return _round(ordered[math.ceil(0.9 * len(ordered)) - 1])


def score(kpis: dict) -> float | None:
    """Weighted mean (0–100) of the components that have a denominator;
    None when none has: a unit with nothing due."""
    parts = []
    for name, weight in WEIGHTS.items():
        value = kpis[name]
        if value is not None:
            parts.append((weight, 1 - value if name == "return_rate" else value))
    if not parts:
        return None
    return round(100 * sum(w * v for w, v in parts) / sum(w for w, _ in parts), 2)


def competition_ranks(scores: list[float]) -> list[int]:
    """1-based ranks, best first, ties sharing a rank (1, 1, 3)."""
    ordered = sorted(scores, reverse=True)
    return [ordered.index(s) + 1 for s in scores]


# ---------------------------------------------------------------- the report

@dataclass
class Report:
    period: Period
    as_of: datetime
    totals: dict
    by_unit: list[dict]
    by_category: list[dict]
    by_channel: list[dict]
    hotspots: list[dict]
    repeat_complaints: list[dict]

    def ranked(self, group: str) -> list[dict]:
        return [u for u in self.by_unit if u["group"] == group and u["rank"] is not None]

    def apart(self, group: str) -> list[dict]:
        return [u for u in self.by_unit if u["group"] == group and u["rank"] is None]

    def red_list(self, group: str) -> list[dict]:
        return [u for u in self.ranked(group) if u["rank"] <= LIST_SIZE]

    def black_list(self, group: str) -> list[dict]:
        """The bottom three (with ties), never a unit already on the red list."""
        ranked = self.ranked(group)
        if not ranked:
            return []
        cut = ranked[max(len(ranked) - LIST_SIZE, 0)]["rank"]
        return [u for u in reversed(ranked) if u["rank"] >= cut and u["rank"] > LIST_SIZE]

    def to_store(self) -> dict:
        return {"as_of": self.as_of.isoformat()} | {
            k: v for k, v in self.as_json().items() if k != "period"}

    @classmethod
    def stored(cls, period: Period, body: dict) -> Report:
        return cls(period, datetime.fromisoformat(body["as_of"]), body["totals"], body["by_unit"],
                   body["by_category"], body["by_channel"], body["hotspots"],
                   body["repeat_complaints"])

    def as_json(self) -> dict:
        p = self.period
        return {
            "period": {"kind": p.kind, "label": p.label, "start": p.start.isoformat(),
                       "end": p.end.isoformat(), "timezone": clock.LOCAL_TZ_NAME},
            "totals": self.totals,
            "by_unit": self.by_unit,
            "by_category": self.by_category,
            "by_channel": self.by_channel,
            "hotspots": self.hotspots,
            "repeat_complaints": self.repeat_complaints,
        }


#: How many of a bulletin's queries run at once, each on its own connection.
PARALLEL = 3


async def _parallel(db: Database, jobs) -> list:
    """Run ``jobs`` (each ``async (conn) -> result``) on up to PARALLEL read
    connections at once; results in the order of ``jobs``.  Each query only
    counts events before the cut-off, so separate snapshots agree."""
    gate = asyncio.Semaphore(PARALLEL)

    async def run(job):
        async with gate, db.read() as conn:
            return await job(conn)

    return list(await asyncio.gather(*(run(job) for job in jobs)))


def _rows(query, **params):
    async def job(conn):
        return query.selected_columns.keys(), (await conn.execute(query, params)).all()
    return job


#: A kept running tally older than this (past SETTLE) is brought forward and
#: kept again: the cases touched since it stay few, and so do the writes.
REBASE = timedelta(minutes=10)
#: Past this many cases touched since a kept tally (a day or more without a
#: request), the period is counted from the log; under SQLite's oldest limit
#: of 999 values in one statement.
TOUCHED_MAX = 900


@dataclass
class Tallied:
    """A district bulletin before its roll-up, exact as of ``cutoff``: the
    tallies by fine key (overdue left out: it moves with the clock alone),
    the hotspot counts per key and period, and each key's densest repeat run.

    Every figure but overdue is a sum over cases of what each case's own
    history before the cut-off contributes.  A case untouched since ``cutoff``
    contributes the same at any later time, so a later cut-off needs only the
    touched cases counted again: once as of ``cutoff`` (taken out), once as of
    the new one (put in).  That is how a running period's bulletin stays
    current without counting the whole period again."""
    cutoff: datetime
    fine: dict[tuple, Tally]
    hotspot_counts: dict[tuple, list[int]]
    repeats: dict[tuple, tuple]

    def to_store(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(),
                "fine": [[*key, t.counts, t.handle_hours, t.ack_minutes]
                         for key, t in self.fine.items()],
                "hotspot_counts": [[*key, n] for key, n in self.hotspot_counts.items()],
                "repeats": [[*key, *run] for key, run in self.repeats.items()]}

    @classmethod
    @without_gc
    def stored(cls, body: dict) -> Tallied:
        return cls(datetime.fromisoformat(body["cutoff"]),
                   {tuple(key): Tally(counts, hours, minutes)
                    for *key, counts, hours, minutes in body["fine"]},
                   {tuple(key): n for *key, n in body["hotspot_counts"]},
                   {tuple(key): (first, last, ids) for *key, first, last, ids in body["repeats"]})


async def compute(db: Database, actor: Actor, period: Period, now: datetime | None = None,
                  extras: bool = True, kept: bool = True) -> Report:
    """The bulletin of ``period`` within ``actor``'s scope.  ``extras=False``
    leaves out hotspots and repeat complaints (the statistics screen does not
    show them for the previous period).

    District bulletins are kept (db/snapshots.py).  A closed period's is
    computed once and then read back.  A running period's tallies are kept
    as of SETTLE ago, brought forward every REBASE, and brought up to now on
    each request from the cases touched since.  ``kept=False`` computes from
    the log all the same."""
    now = now or clock.now()
    end = min(period.end, now)
    scope = case_scope(actor)
    keeping = kept and snapshots.keeps(actor)
    found, seen = (await snapshots.load(db, period.kind, period.first, FORMULAS)
                   if keeping else (None, None))
    settled = min(period.end, now - snapshots.SETTLE)
    if found is not None and "report" in found and settled == period.end:
        return _trimmed(Report.stored(period, found["report"]), extras)
    async with db.read() as conn:
        names = await _names(conn, actor)
    base = Tallied.stored(found["tallied"]) if found is not None and "tallied" in found else None
    if not keeping or (found is not None and (base is None or base.cutoff > end)):
        # Not kept, or asked about a moment before what is kept: count, keep nothing.
        return _report(period, *await _tally(db, period, end, scope, names, extras), names)
    due = base is None or base.cutoff < settled - REBASE or base.cutoff < settled == period.end
    if settled > period.start and due:
        # Kept with hotspots and repeat complaints, whatever this request wants.
        closing = settled == period.end
        base, overdue = await _tally(db, period, settled, scope, names, True, since=base,
                                     held=closing)
        report = _report(period, base, overdue, names) if closing else None
        await snapshots.keep(db, period.kind, period.first, settled, FORMULAS,
                             {"report": report.to_store()} if closing
                             else {"tallied": base.to_store()}, seen)
        if closing:
            return _trimmed(report, extras)
    return _report(period, *await _tally(db, period, end, scope, names, extras, since=base), names)


def _trimmed(report: Report, extras: bool) -> Report:
    if not extras:
        report.hotspots, report.repeat_complaints = [], []
    return report


async def _tally(db: Database, period: Period, cutoff: datetime, scope, names: _Names,
                 extras: bool, since: Tallied | None = None,
                 held: bool = True) -> tuple[Tallied, dict]:
    """The tallies as of ``cutoff``, and (if ``held``) the overdue cases then
    by fine key: counted from the log, or brought forward from ``since`` (a
    district tally of the same period, used up) when few cases were touched
    after it.  Without ``extras``, no hotspot counts or repeat complaints."""
    dialect, top = db.engine.dialect.name, names.top_category
    start = period.start
    touched = None
    if since is not None:
        async with db.read() as conn:
            touched = await _touched(conn, since.cutoff)
    # The longest jobs first, so that no long one starts last: the repeats,
    # then the per-dispatch and per-resolution queries … (timed on a month).
    if touched is None:
        edges = _hotspot_edges(period, cutoff)
        jobs = [lambda conn: _repeats(conn, start, cutoff, scope),
                lambda conn: _hotspot_counts(conn, edges, scope)] if extras else []
        jobs += [_rows(q) for q in _fine_queries(start, cutoff, scope, dialect)]
    else:
        ids, phones, pairs = touched
        jobs = [lambda conn: _repeats(conn, start, cutoff, scope, (phones, pairs)),
                lambda conn: _hotspot_counts(conn, [since.cutoff, cutoff], scope)] if extras else []
        for moment in (since.cutoff, cutoff) if ids else ():
            jobs += [_rows(q, start=start, end=moment, ids=ids) for q in _touched_queries(dialect)]
    if held:
        jobs.append(_rows(_held_at(cutoff, scope)))
    results = await _parallel(db, jobs)
    repeats, hotspot_counts = (results.pop(0), results.pop(0)) if extras else ({}, {})
    overdue: dict[tuple, int] = defaultdict(int)
    for street, category, channel, dept, action, due_at, data in (results.pop()[1] if held
                                                                 else ()):
        if _deadline(action, due_at, data) < cutoff:
            overdue[street, top.get(category, category), channel, dept] += 1
    if touched is None:
        return Tallied(cutoff, _fold(results, top), hotspot_counts, repeats), overdue
    fine = since.fine
    half = len(results) // 2
    try:
        for key, tally in _fold(results[:half], top).items():
            fine[key].subtract(tally)
    except (KeyError, ValueError):  # not what was kept: never expected, but be exact
        return await _tally(db, period, cutoff, scope, names, extras, held=held)
    for key, tally in _fold(results[half:], top).items():
        mine = fine.setdefault(key, Tally())
        mine.merge(tally)
        mine.sort()
    for key in [k for k, t in fine.items() if not t]:  # all taken out again
        del fine[key]
    if not extras:
        return Tallied(cutoff, fine, {}, {}), overdue
    for key, (n,) in hotspot_counts.items():
        since.hotspot_counts.setdefault(key, [0] * (HOTSPOT_BASE_PERIODS + 1))[-1] += n
    new_keys = {("phone", p) for p in phones} | {("community_category", *p) for p in pairs}
    since.repeats = {k: e for k, e in since.repeats.items() if k not in new_keys} | repeats
    return Tallied(cutoff, fine, since.hotspot_counts, since.repeats), overdue


async def _touched(conn, since: datetime) -> tuple[list[int], list[str], list[tuple]] | None:
    """The cases changed, or with an event stamped, at or after ``since``, and
    the repeat-complaint keys of those created then (the only cases a key
    can gain); None past TOUCHED_MAX cases."""
    changed = union(select(cases.c.id).where(cases.c.updated_at >= since),
                    select(cases.c.id).where(cases.c.created_at >= since),
                    select(events.c.case_id).where(events.c.at >= since))
    ids = sorted((await conn.execute(changed.limit(TOUCHED_MAX + 1))).scalars())
    if len(ids) > TOUCHED_MAX:
        return None
    new = (await conn.execute(
        select(cases.c.reporter_phone, cases.c.community_id, cases.c.category_id)
        .where(cases.c.created_at >= since))).all()
    phones = sorted({r[0] for r in new if r[0] is not None})
    pairs = sorted({(r[1], r[2]) for r in new if r[1] is not None and r[2] is not None})
    return ids, phones, pairs


def _fine_queries(start, end, scope, dialect) -> tuple:
    """The queries behind the fine tallies, longest first."""
    return (_ack_counts(start, end, scope, dialect), _resolution_counts(start, end, scope, dialect),
            _callbacks(start, end, scope), _created(start, end, scope),
            _action_counts(start, end, scope), _returns(start, end, scope))


@functools.cache
def _touched_queries(dialect: str) -> tuple:
    """The fine queries over some cases (``ids``) from ``start`` to ``end``,
    built once: a refresh runs them twice, and building takes longer than
    running them."""
    start, end = bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    return _fine_queries(start, end, cases.c.id.in_(bindparam("ids", expanding=True)), dialect)


@without_gc
def _fold(results, top: dict[int, int]) -> dict[tuple, Tally]:
    """Tallies by the finest key that any group needs (street, top category,
    channel, department): one dict lookup per row."""
    fine: dict[tuple, Tally] = defaultdict(Tally)
    for columns, rows in results:
        slots = [(_SLOT.get(name), name) for name in columns[4:]]
        for street, category, channel, dept, *values in rows:
            tally = fine[street, top.get(category, category), channel, dept]
            counts = tally.counts
            for (slot, name), value in zip(slots, values):
                if slot is not None:
                    counts[slot] += value
                elif value:
                    getattr(tally, name).extend(map(float, value.split(",")))
    for tally in fine.values():
        tally.sort()
    return dict(fine)


@without_gc
def _report(period: Period, tallied: Tallied, overdue: dict, names: _Names) -> Report:
    """Roll the fine tallies up (a few thousand keys, each merge one C-level
    map over the counters) into the bulletin's groups and rankings."""
    tallies: dict[tuple, Tally] = defaultdict(Tally)
    slot = _SLOT["overdue_open"]
    for key in tallied.fine.keys() | overdue.keys():
        street, category, channel, dept = key
        tally = tallied.fine.get(key, Tally())
        if key in overdue:
            tally = Tally(tally.counts.copy(), tally.handle_hours, tally.ack_minutes)
            tally.counts[slot] += overdue[key]
        targets = [("total", None), ("street", street), ("category", category),
                   ("channel", channel)]
        if dept is not None:
            targets.append(("department", dept))
        for target in targets:
            tallies[target].merge(tally)

    def kpis_of(group, key):
        return tallies[(group, key)].kpis() if (group, key) in tallies else Tally().kpis()

    by_unit = []
    for group, unit_ids in (("street", names.streets), ("department", names.departments)):
        rows = [{"unit": names.unit[u], "unit_id": u, "group": group,
                 **(k := kpis_of(group, u)), "score": score(k), "rank": None}
                for u in unit_ids]
        scored = [r for r in rows if r["score"] is not None]
        for r, rank in zip(scored, competition_ranks([r["score"] for r in scored])):
            r["rank"] = rank
        rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["unit_id"]))
        by_unit += [_ordered(r) for r in rows]
    by_category = [{"category": names.category[c], "category_id": c, **kpis_of("category", c)}
                   for c in names.top_categories]
    # Channels something was counted for (whether a tally with nothing in it
    # is there depends on how it was reached: from the log or brought forward).
    channels = sorted(k for (g, k), t in tallies.items() if g == "channel" and t)
    by_channel = [{"channel": ch, **kpis_of("channel", ch)} for ch in channels]
    return Report(period, tallied.cutoff, kpis_of("total", None), by_unit, by_category,
                  by_channel, _hotspot_list(tallied.hotspot_counts, names),
                  _repeat_list(tallied.repeats, names))


def _ordered(row: dict) -> dict:
    head = {k: row[k] for k in ("unit", "unit_id", "group", "score", "rank")}
    return head | {k: row[k] for k in KPI_NAMES}


# ---------------------------------------------------------------- names

@dataclass
class _Names:
    unit: dict[int, str]
    streets: list[int]
    departments: list[int]
    category: dict[int, str]
    top_category: dict[int, int]
    top_categories: list[int]


async def _names(conn, actor: Actor) -> _Names:
    rows = (await conn.execute(
        select(units.c.id, units.c.kind, units.c.name)
        .where(units.c.kind.in_([UnitKind.STREET.value, UnitKind.DEPARTMENT.value,
                                 UnitKind.COMMUNITY.value]),
               or_(unit_scope(actor), units.c.id == actor.scope_unit_id))
        .order_by(units.c.code))).all()
    cats = (await conn.execute(select(categories.c.id, categories.c.parent_id, categories.c.name)
                               .order_by(categories.c.code))).all()
    return _Names(
        unit={r.id: r.name for r in rows},
        streets=[r.id for r in rows if r.kind == UnitKind.STREET.value],
        departments=[r.id for r in rows if r.kind == UnitKind.DEPARTMENT.value],
        category={c.id: c.name for c in cats},
        top_category={c.id: c.parent_id or c.id for c in cats},
        top_categories=[c.id for c in cats if c.parent_id is None],
    )


# ---------------------------------------------------------------- queries

def _dept(holder: ColumnElement) -> tuple[ColumnElement, list]:
    """The department of a holder unit (itself, or the department above a
    professional grid or a station), and the joins that expression needs."""
    hu, hp = units.alias("hu"), units.alias("hp")
    expr = case((hu.c.kind == UnitKind.DEPARTMENT.value, hu.c.id),
                (hp.c.kind == UnitKind.DEPARTMENT.value, hp.c.id), else_=None)
    return expr, [(hu, hu.c.id == holder), (hp, hp.c.id == hu.c.parent_id)]


def _keyed(source, holder: ColumnElement, *columns, on=None):
    """SELECT the grouping keys (+ ``columns``) from ``source`` joined to cases."""
    dept, joins = _dept(holder)
    frm = source.join(cases, on) if on is not None else source
    for table, cond in joins:
        frm = frm.outerjoin(table, cond)
    keys = [cases.c.street_id.label("street"), cases.c.category_id.label("category"),
            cases.c.channel.label("channel"), dept.label("dept")]
    return select(*keys, *columns).select_from(frm), keys


def _between(col, start, end):
    return and_(col >= start, col < end)


def _action_counts(start, end, scope):
    e = events
    is_ = e.c.action.__eq__
    query, keys = _keyed(e, e.c.holder_unit_id,
        func.count().filter(and_(is_(Action.DISPATCH.value),
                                 e.c.at == cases.c.first_dispatched_at)).label("dispatched"),
        func.count().filter(is_(Action.REDO.value)).label("redos"),
        func.count().filter(is_(Action.SUPERVISE.value)).label("supervised"),
        on=cases.c.id == e.c.case_id)
    wanted = [Action.DISPATCH.value, Action.REDO.value, Action.SUPERVISE.value]
    return query.where(e.c.action.in_(wanted), _between(e.c.at, start, end), scope).group_by(*keys)


def _callbacks(start, end, scope):
    """Callbacks apart: only they need the event's data (the satisfaction)."""
    e = events
    sat = e.c.data["satisfaction"].as_string()
    query, keys = _keyed(e, e.c.holder_unit_id,
        func.count().filter(sat != Satisfaction.UNREACHABLE.value).label("callbacks_reached"),
        func.count().filter(sat.in_([Satisfaction.SATISFIED.value,
                                     Satisfaction.BASICALLY.value])).label("satisfied"),
        on=cases.c.id == e.c.case_id)
    return query.where(e.c.action == Action.CALLBACK.value, _between(e.c.at, start, end),
                       scope).group_by(*keys)


def _returns(start, end, scope):
    """Returns, each counted for the unit that held the case before it."""
    e, before = events, events.alias("before")
    source = e.join(before, and_(before.c.case_id == e.c.case_id, before.c.seq == e.c.seq - 1))
    query, keys = _keyed(source, before.c.holder_unit_id, func.count().label("returns"),
                         on=cases.c.id == e.c.case_id)
    return query.where(e.c.action == Action.RETURN.value, _between(e.c.at, start, end),
                       scope).group_by(*keys)


def _at_end(column: str, end):
    """A case's ``state`` or ``holder_unit_id`` as it was at ``end``: the row's
    own value if nothing happened to it since, else its last event's."""
    event_column = events.c.to_state if column == "state" else events.c.holder_unit_id
    then = (select(event_column).where(events.c.case_id == cases.c.id, events.c.at < end)
            .order_by(events.c.seq.desc()).limit(1).scalar_subquery())
    return case((cases.c.updated_at < end, cases.c[column]), else_=then)


def _created(start, end, scope):
    """Cases created in P, with their state and holder at the end of P."""
    state = _at_end("state", end)
    valid = state.notin_([State.INVALID.value, State.MERGED.value])
    done = state.in_([State.RESOLVED.value, State.CLOSED.value])
    query, keys = _keyed(cases, _at_end("holder_unit_id", end),
                         func.count().label("received"),
                         func.count().filter(valid).label("created_valid"),
                         func.count().filter(done).label("created_resolved"))
    return query.where(_between(cases.c.created_at, start, end), scope).group_by(*keys)


def _acks(start, end, scope, dialect):
    """One row per dispatch in P: keys, signed on time, minutes to sign (or None).

    The next hand-over of a dispatch: the next row, by ``seq``, among the
    case's hand-overs, signs, returns and merges before ``end``.  SQLite finds
    its ``seq`` with one scalar subquery (a seek in (case_id, seq, …)) and
    joins that row by (case_id, seq): a subquery per column would be
    evaluated again for each use once the query is flattened (four seeks a
    dispatch, not one and a lookup).  PostgreSQL takes the whole row in one
    LATERAL probe, ordered and limited so that its planner cannot turn it
    into a hash over every move before ``end``."""
    e, x = events, events.alias("x")
    moves = HANDOVERS + (Action.SIGN.value, Action.RETURN.value, Action.MERGE.value)
    later = and_(x.c.case_id == e.c.case_id, x.c.seq > e.c.seq, x.c.action.in_(moves),
                 x.c.at < end)
    if dialect == "sqlite":
        n = events.alias("n")
        following = select(x.c.seq).where(later).order_by(x.c.seq).limit(1).scalar_subquery()
        source = e.outerjoin(n, and_(n.c.case_id == e.c.case_id, n.c.seq == following))
    else:
        n = select(x.c.action, x.c.at).where(later).order_by(x.c.seq).limit(1).lateral("n")
        source = e.outerjoin(n, true())
    rows = (select(e.c.case_id, e.c.at, e.c.due_at, e.c.holder_unit_id,
                   n.c.action.label("next_action"), n.c.at.label("next_at"))
            .select_from(source)
            .where(e.c.action.in_(HANDOVERS), _between(e.c.at, start, end)).subquery("d"))
    signed = rows.c.next_action == Action.SIGN.value
    on_time = and_(signed, rows.c.next_at <= rows.c.due_at)
    minutes = case((signed, _seconds(rows.c.next_at, rows.c.at, dialect) / 60.0), else_=None)
    query, _ = _keyed(rows, rows.c.holder_unit_id, case((on_time, 1), else_=0).label("on_time"),
                      minutes.label("minutes"), on=cases.c.id == rows.c.case_id)
    return query.where(scope)


def _ack_counts(start, end, scope, dialect):
    rows = _acks(start, end, scope, dialect).subquery()
    keys = rows.c[:4]
    return select(*keys, func.count().label("handovers"),
                  func.sum(rows.c.on_time).label("acked_on_time"),
                  _joined(rows.c.minutes, dialect).label("ack_minutes")).group_by(*keys)


def _resolution_counts(start, end, scope, dialect):
    rows = _resolutions(start, end, scope, dialect).subquery()
    keys = rows.c[:4]
    return select(*keys, func.count().label("resolved"), func.sum(rows.c.direct).label("direct"),
                  func.sum(rows.c.has_due).label("resolved_due"),
                  func.sum(rows.c.on_time).label("resolved_on_time"),
                  _joined(rows.c.hours, dialect).label("handle_hours")).group_by(*keys)


def _joined(values, dialect: str):
    """The group's non-null values as one comma-separated string: a median
    needs every value, and one string per group beats one row per value."""
    if dialect == "sqlite":
        return func.group_concat(values, ",")
    return func.string_agg(cast(values, Text), ",")


def _seconds(later, earlier, dialect: str):
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return extract("epoch", later - earlier)


def _superseded(e, end):
    """Whether the case of resolution ``e`` was resolved again before ``end``:
    a case counts once, at its last resolution (DESIGN.md §4 ``resolved``)."""
    later = events.alias("later")
    return exists().where(later.c.case_id == e.c.case_id, later.c.seq > e.c.seq,
                          later.c.action.in_(RESOLUTIONS), later.c.at < end)


def _resolutions(start, end, scope, dialect):
    """One row per case resolved in P (its last resolution in P): keys, direct,
    answering a deadline, on time, hours since first dispatch (or None), the
    action, when, and the deadline."""
    e = events
    resolve = e.c.action == Action.RESOLVE.value
    has_due = and_(resolve, e.c.due_at.is_not(None))
    hours = case((and_(resolve, cases.c.first_dispatched_at.is_not(None)),
                  _seconds(e.c.at, cases.c.first_dispatched_at, dialect) / 3600.0), else_=None)
    query, _ = _keyed(e, e.c.holder_unit_id,
                      case((resolve, 0), else_=1).label("direct"),
                      case((has_due, 1), else_=0).label("has_due"),
                      case((and_(has_due, e.c.at <= e.c.due_at), 1), else_=0).label("on_time"),
                      hours.label("hours"), e.c.at.label("at"),
                      on=cases.c.id == e.c.case_id)
    return query.where(e.c.action.in_(RESOLUTIONS), _between(e.c.at, start, end),
                       ~_superseded(e, end), scope)


def _held_at(end, scope):
    """Cases held (dispatched or in progress) at ``end``: keys (holder then),
    and the last event that set their resolve deadline."""
    d = events.alias("deadline")
    setters = (Action.DISPATCH.value, Action.EXTEND.value, Action.REDO.value)
    d_seq = (select(func.max(events.c.seq))
             .where(events.c.case_id == cases.c.id, events.c.at < end, events.c.action.in_(setters))
             .scalar_subquery())
    held = [s.value for s in HELD_STATES]
    # A case untouched since ``end`` is now in the state it had then: only those
    # still held, or changed since, can have been held at ``end``.
    candidates = cases.c.id.in_(
        select(cases.c.id).where(cases.c.state.in_(held))
        .union_all(select(cases.c.id).where(cases.c.updated_at >= end)))
    source = cases.join(d, and_(d.c.case_id == cases.c.id, d.c.seq == d_seq))
    query, _ = _keyed(source, _at_end("holder_unit_id", end), d.c.action, d.c.due_at,
                      d.c.data["resolve_due"].as_string())
    return query.where(candidates, cases.c.created_at < end,
                       _at_end("state", end).in_(held), scope)


def _deadline(action: str, due_at: datetime | None, dispatched_due: str | None) -> datetime:
    """A dispatch keeps its resolve deadline in its data; extend and redo in due_at."""
    if action == Action.DISPATCH.value:
        return clock.as_utc(datetime.fromisoformat(dispatched_due))
    return clock.as_utc(due_at)


def _buckets(col, edges: list[datetime]):
    """0 for [edges[0], edges[1]), 1 for the next … (rows are already within range)."""
    if len(edges) == 2:
        return literal(0)
    return case(*[(col < edge, i) for i, edge in enumerate(edges[1:-1])], else_=len(edges) - 2)


def _hotspot_edges(period: Period, end: datetime) -> list[datetime]:
    """The 4 periods before ``period``, then ``period`` up to ``end``."""
    before = [period.shift(-i) for i in range(HOTSPOT_BASE_PERIODS, 0, -1)]
    return [p.start for p in before] + [period.start, end]


async def _hotspot_counts(conn, edges: list[datetime], scope) -> dict[tuple, list[int]]:
    """Cases created per category and per community between each pair of
    ``edges``: one index range per period (cases by created_at), not a CASE
    bucket per case over all of them."""
    counts: dict[tuple, list[int]] = {}
    for kind, column in (("category", cases.c.category_id), ("community", cases.c.community_id)):
        query = union_all(*[
            select(column, literal(b), func.count())
            .where(_between(cases.c.created_at, lo, hi), column.is_not(None), scope)
            .group_by(column)
            for b, (lo, hi) in enumerate(zip(edges, edges[1:]))])
        for key, b, n in await conn.execute(query):
            counts.setdefault((kind, key), [0] * (len(edges) - 1))[b] = n
    return counts


def _hotspot_list(counts: dict[tuple, list[int]], names: _Names) -> list[dict]:
    found = []
    for (kind, key), series in counts.items():
        now_count, base = series[-1], sum(series[:-1]) / HOTSPOT_BASE_PERIODS
        if now_count >= HOTSPOT_MIN and now_count >= HOTSPOT_FACTOR * base:
            label = names.category if kind == "category" else names.unit
            found.append({"kind": kind, "id": key, "name": label.get(key, str(key)),
                          "count": now_count, "baseline": round(base, 2),
                          "ratio": round(now_count / base, 2) if base else None})
    found.sort(key=lambda h: (-h["count"], h["kind"], h["id"]))
    return found


async def _repeats(conn, start, end, scope, only=None) -> dict[tuple, tuple]:
    """Each key's densest run of 3+ cases within 30 days that ends in P (its
    first and last times, its case ids), by key: ``("phone", phone)`` or
    ``("community_category", community, category)``.  ``only`` limits the
    search to some phones and (community, category) pairs.

    SQL returns one row per key with 3+ cases in P and the 30 days before, its
    case ids and creation times as two lists; the window search is then a
    short scan per key."""
    dialect = conn.dialect.name
    window_start = start - REPEAT_WINDOW
    p_start = _micros(clock.as_utc(start).replace(tzinfo=None))
    created = (cases.c.created_at if dialect == "sqlite"  # stored as that text
               else func.to_char(cases.c.created_at, "YYYY-MM-DD HH24:MI:SS.US"))
    found = {}
    for i, (kind, key_cols) in enumerate((
            ("phone", (cases.c.reporter_phone,)),
            ("community_category", (cases.c.community_id, cases.c.category_id)))):
        wanted = true()
        if only is not None:
            if not only[i]:
                continue
            wanted = (key_cols[0].in_(only[i]) if len(key_cols) == 1
                      else tuple_(*key_cols).in_(only[i]))
        query = (select(*key_cols, _joined(cases.c.id, dialect), _joined(created, dialect))
                 .where(_between(cases.c.created_at, window_start, end), scope, wanted,
                        *[c.is_not(None) for c in key_cols])
                 .group_by(*key_cols)
                 .having(func.count() >= REPEAT_MIN, func.max(cases.c.created_at) >= start))
        for *key, ids, times in (await conn.execute(query)).all():
            # Both lists come in the same (unspecified) order: sort the pairs.
            times = map(_micros, map(datetime.fromisoformat, times.split(",")))
            best = _densest(sorted(zip(times, map(int, ids.split(",")))), p_start)
            if best is not None:
                found[(kind, *key)] = (_iso(best[0][0]), _iso(best[-1][0]), [i for _, i in best])
    return found


def _repeat_list(repeats: dict[tuple, tuple], names: _Names) -> list[dict]:
    """The bulletin's entries: most cases first; then by kind, first case and
    key (rows come grouped in no particular order)."""
    from .privacy import mask_phone

    found = []
    for (kind, *key), (first, last, ids) in repeats.items():
        if kind == "phone":
            entry = {"kind": kind, "key": mask_phone(key[0])}
        else:
            entry = {"kind": kind, "key": f"{names.unit.get(key[0], key[0])} / "
                                          f"{names.category.get(key[1], key[1])}",
                     "community_id": key[0], "category_id": key[1]}
        entry.update(count=len(ids), first=first, last=last, case_ids=ids)
        found.append(((-len(ids), kind, first, key), entry))
    found.sort(key=operator.itemgetter(0))
    return [entry for _, entry in found]


def _densest(seen: list[tuple[int, int]], start: int) -> list | None:
    """The largest run of 3+ cases within 30 days ending at a case in P
    (times in microseconds since 1970); the earliest such run on a tie."""
    best, size = None, 0
    lo, window = 0, REPEAT_WINDOW // _MICROSECOND
    for hi, (at, _) in enumerate(seen):
        while at - seen[lo][0] >= window:
            lo += 1
        if at >= start and hi - lo + 1 >= REPEAT_MIN and hi - lo + 1 > size:
            best, size = (lo, hi), hi - lo + 1
    return seen[best[0]:best[1] + 1] if best else None


_EPOCH, _MICROSECOND = datetime(1970, 1, 1), timedelta(microseconds=1)


def _micros(naive_utc: datetime) -> int:
    """Microseconds since 1970: integers order and subtract exactly, and
    cost less than datetimes in the window search."""
    return (naive_utc - _EPOCH) // _MICROSECOND


def _iso(micros: int) -> str:
    """The UTC ISO time to the millisecond (rounded half up), from integer
    milliseconds and a cached date: thousands of these per month."""
    day, ms = divmod((micros + 500) // 1000, 86_400_000)
    sec, ms = divmod(ms, 1000)
    text = f"{_iso_day(day)}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
    return f"{text}.{ms:03d}000+00:00" if ms else f"{text}+00:00"


@functools.lru_cache(maxsize=4096)
def _iso_day(days: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


# ---------------------------------------------------------------- chart series

async def daily(db: Database, actor: Actor, period: Period,
                now: datetime | None = None) -> list[tuple[date, int, int]]:
    """(local day, received, resolved) for each day of ``period``."""
    end = min(period.end, now or clock.now())
    days = period.days()
    edges = [_local_midnight(d) for d in days] + [period.end]
    scope = case_scope(actor)
    received = [0] * len(days)
    resolved = [0] * len(days)
    async with db.read() as conn:
        # One bucket expression object in SELECT and GROUP BY: PostgreSQL only
        # accepts the grouping if both use the same bound parameters.
        bucket = _buckets(cases.c.created_at, edges)
        query = (select(bucket, func.count())
                 .where(_between(cases.c.created_at, period.start, end), scope).group_by(bucket))
        for b, n in await conn.execute(query):
            received[b] = n
        e = events
        bucket = _buckets(e.c.at, edges)
        query = (select(bucket, func.count())
                 .select_from(e.join(cases, cases.c.id == e.c.case_id))
                 .where(e.c.action.in_(RESOLUTIONS), _between(e.c.at, period.start, end),
                        ~_superseded(e, end), scope)
                 .group_by(bucket))
        for b, n in await conn.execute(query):
            resolved[b] = n
    return list(zip(days, received, resolved))


async def on_time_trend(db: Database, actor: Actor, last: Period, weeks: int = 12,
                        now: datetime | None = None) -> list[tuple[Period, float | None]]:
    """The on-time rate of each of the ``weeks`` ISO weeks ending with the one
    that holds ``last``'s final day, each week's resolutions taken as of that
    week's end, as its own bulletin does: so a closed week whose district
    bulletin is kept reads it there, and one query counts the other weeks."""
    cutoff = now or clock.now()
    final = Period.containing("week", _local_midnight(last.last_day))
    periods = [final.shift(-i) for i in range(weeks - 1, -1, -1)]
    closed = [w.first for w in periods if w.end + snapshots.SETTLE <= cutoff]
    known = (await snapshots.kept_figure(db, "week", closed, FORMULAS, "on_time_rate")
             if snapshots.keeps(actor) else {})
    missing = [w for w in periods if w.first not in known]
    counted = await _on_time_counts(db, actor, missing, cutoff) if missing else {}
    return [(w, known[w.first] if w.first in known else rate(*counted[w.first]))
            for w in periods]


async def _on_time_counts(db: Database, actor: Actor, weeks: list[Period],
                          cutoff: datetime) -> dict[date, tuple[int, int]]:
    """(on time, resolutions answering a deadline) of each of ``weeks`` (in
    order), by first day, each as of its end (or ``cutoff``): one query, one
    index range a week."""
    e = events
    ranges = [(w.start, min(w.end, cutoff)) for w in weeks]
    ends = [end for _, end in ranges]
    # The end of the row's week (or the cut-off), as its bulletin sees it;
    # typed as the column is, or PostgreSQL would compare it with time zone.
    typed = [literal(end, UTCDateTime()) for end in ends]
    week_end = (case(*[(e.c.at < end, t) for end, t in zip(ends, typed[:-1])], else_=typed[-1])
                if len(ends) > 1 else typed[0])
    has_due = and_(e.c.action == Action.RESOLVE.value, e.c.due_at.is_not(None))
    # One bucket expression object in SELECT and GROUP BY: PostgreSQL only
    # accepts the grouping if both use the same bound parameters.
    bucket = _buckets(e.c.at, [ranges[0][0], *ends])
    query = (select(bucket, func.count().filter(and_(has_due, e.c.at <= e.c.due_at)),
                    func.count().filter(has_due))
             .select_from(e.join(cases, cases.c.id == e.c.case_id))
             .where(e.c.action.in_(RESOLUTIONS),
                    or_(*[_between(e.c.at, lo, hi) for lo, hi in ranges]),
                    ~_superseded(e, week_end), case_scope(actor))
             .group_by(bucket))
    counts = {w.first: (0, 0) for w in weeks}
    async with db.read() as conn:
        for b, part, whole in await conn.execute(query):
            counts[weeks[b].first] = (part, whole)
    return counts
