"""Bulletins on paper: the JSON report against independent SQL over the
documented schema, the xlsx against the JSON, the Markdown bulletin, the
command line (default period, bad period, formats)."""
from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from sqlalchemy import bindparam, text

from gridconsole.console.cli import main
from gridconsole.db.engine import Database
from gridconsole.db.models import UTCDateTime
from gridconsole.db.report import KPI_COLUMNS, value
from gridconsole.db.stats import KPI_NAMES, Period

OCTOBER = Period.parse("2026-10")
TOP_KEYS = ["period", "totals", "by_unit", "by_category", "by_channel", "hotspots",
            "repeat_complaints"]


def run_report(demo_url, capsys, *args) -> tuple[int, str, str]:
    code = main(["--db", demo_url, "report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def sql(query: str):
    """Independent SQL: timestamps are naive UTC in every engine."""
    return text(query).bindparams(bindparam("s", type_=UTCDateTime),
                                  bindparam("e", type_=UTCDateTime))


#: Each callback's satisfaction is in its data (SQLite, PostgreSQL spelling).
SATISFACTION = {
    True: "SELECT count(*), sum(CASE WHEN json_extract(data, '$.satisfaction') IN"
          " ('satisfied', 'basically') THEN 1 ELSE 0 END) FROM case_events"
          " WHERE action = 'callback' AND at >= :s AND at < :e"
          " AND json_extract(data, '$.satisfaction') <> 'unreachable'",
    False: "SELECT count(*), sum(CASE WHEN data->>'satisfaction' IN"
           " ('satisfied', 'basically') THEN 1 ELSE 0 END) FROM case_events"
           " WHERE action = 'callback' AND at >= :s AND at < :e"
           " AND data->>'satisfaction' <> 'unreachable'",
}


async def independent_figures(url):
    db = Database(url)
    params = {"s": OCTOBER.start, "e": OCTOBER.end}
    async with db.read() as conn:
        async def one(query):
            return (await conn.execute(sql(query), params)).one()

        received, = await one("SELECT count(*) FROM cases WHERE created_at >= :s AND created_at < :e")
        dispatched, = await one("SELECT count(*) FROM cases WHERE first_dispatched_at >= :s "
                                "AND first_dispatched_at < :e")
        direct, supervised, returns, handovers, redos = await one(
            "SELECT sum(CASE WHEN action = 'direct' THEN 1 ELSE 0 END),"
            " sum(CASE WHEN action = 'supervise' THEN 1 ELSE 0 END),"
            " sum(CASE WHEN action = 'return' THEN 1 ELSE 0 END),"
            " sum(CASE WHEN action IN ('dispatch', 'subdispatch', 'escalate') THEN 1 ELSE 0 END),"
            " sum(CASE WHEN action = 'redo' THEN 1 ELSE 0 END)"
            " FROM case_events WHERE at >= :s AND at < :e")
        resolved, = await one(
            "SELECT count(DISTINCT case_id) FROM case_events"
            " WHERE action IN ('resolve', 'direct') AND at >= :s AND at < :e")
        reached, happy = await one(SATISFACTION[conn.dialect.name == "sqlite"])
        due, kept = await one(
            "SELECT count(*), sum(CASE WHEN e.at <= e.due_at THEN 1 ELSE 0 END)"
            " FROM case_events e WHERE e.action = 'resolve' AND e.at >= :s AND e.at < :e"
            " AND e.due_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM case_events l"
            " WHERE l.case_id = e.case_id AND l.seq > e.seq AND l.at < :e"
            " AND l.action IN ('resolve', 'direct'))")
        streets = dict((await conn.execute(sql(
            "SELECT street_id, count(*) FROM cases WHERE created_at >= :s AND created_at < :e"
            " AND street_id IS NOT NULL GROUP BY street_id"), params)).all())
        channels = dict((await conn.execute(sql(
            "SELECT channel, count(*) FROM cases WHERE created_at >= :s AND created_at < :e"
            " GROUP BY channel"), params)).all())
        top = dict((await conn.execute(sql(
            "SELECT coalesce(k.parent_id, k.id), count(*) FROM cases c"
            " JOIN categories k ON k.id = c.category_id"
            " WHERE c.created_at >= :s AND c.created_at < :e GROUP BY coalesce(k.parent_id, k.id)"),
            params)).all())
    await db.dispose()
    return (received, dispatched, direct, supervised, returns, handovers, redos, resolved,
            reached, happy, due, kept, streets, channels, top)


def test_json_matches_independent_sql(demo_url, capsys):
    code, out, _ = run_report(demo_url, capsys, "monthly", "--period", "2026-10",
                              "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert list(report) == TOP_KEYS
    assert report["period"] == {"kind": "month", "label": "2026-10",
                                "start": "2026-09-30T16:00:00+00:00",
                                "end": "2026-10-31T16:00:00+00:00", "timezone": "Asia/Shanghai"}
    assert set(KPI_NAMES) <= set(report["totals"])
    figures = asyncio.run(independent_figures(demo_url))
    (received, dispatched, direct, supervised, returns, handovers, redos, resolved, reached,
     happy, due, kept, streets, channels, top) = figures
    totals = report["totals"]
    assert (totals["received"], totals["dispatched"], totals["direct"], totals["supervised"],
            totals["resolved"]) == (received, dispatched, direct, supervised, resolved)
    assert totals["return_rate"] == round(returns / handovers, 4)
    assert totals["redo_rate"] == round(redos / resolved, 4)
    assert totals["on_time_rate"] == round(kept / due, 4)
    assert totals["satisfaction_rate"] == round(happy / reached, 4)
    by_street = {u["unit_id"]: u["received"] for u in report["by_unit"] if u["group"] == "street"}
    assert {k: v for k, v in by_street.items() if v} == streets
    assert {c["channel"]: c["received"] for c in report["by_channel"]} == channels
    assert {c["category_id"]: c["received"] for c in report["by_category"] if c["received"]} == top
    # Rankings: ties share a rank, ranks follow the scores.
    ranked = [u for u in report["by_unit"] if u["group"] == "street" and u["rank"]]
    assert [u["rank"] for u in ranked] == sorted(u["rank"] for u in ranked)
    assert all(a["score"] >= b["score"] for a, b in zip(ranked, ranked[1:]))
    assert all(r["key"].count("*") >= 4 or r["kind"] != "phone"
               for r in report["repeat_complaints"])


def test_xlsx_holds_the_numbers_of_the_json(demo_url, tmp_path, capsys):
    from openpyxl import load_workbook

    book_path, json_path = tmp_path / "m.xlsx", tmp_path / "m.json"
    for form, path in (("xlsx", book_path), ("json", json_path)):
        code, _, _ = run_report(demo_url, capsys, "monthly", "--period", "2026-10",
                                "--format", form, "-o", str(path))
        assert code == 0
    report = json.loads(json_path.read_text(encoding="utf-8"))
    book = load_workbook(book_path)
    assert book.sheetnames == ["全区汇总", "单位排名", "分类别", "分渠道", "热点", "重复投诉", "指标口径"]
    totals = book["全区汇总"]
    heads = [c.value for c in totals[1]]
    assert heads[:2] == ["受理量", "派单量"]
    row = [c.value for c in totals[2]]
    assert row == [value(report["totals"], path) for path, _ in KPI_COLUMNS]
    rate_col = heads.index("按时办结率") + 1
    assert totals.cell(2, rate_col).number_format == "0.0%"
    units = book["单位排名"]
    assert units.max_row - 1 == len(report["by_unit"])
    for i, unit in enumerate(report["by_unit"], start=2):
        assert [units.cell(i, c).value for c in (2, 3, 4)] == [unit["unit"], unit["score"],
                                                               unit["rank"]]
        assert units.cell(i, 5).value == unit["received"]
    assert book["分类别"].max_row - 1 == len(report["by_category"])
    assert book["重复投诉"].max_row - 1 == len(report["repeat_complaints"])


def test_markdown_bulletin_and_csv(demo_url, capsys):
    code, md, _ = run_report(demo_url, capsys, "weekly", "--period", "2026-W46", "--format", "md")
    assert code == 0
    assert md.startswith("# 即墨区社会治理指挥中心 周调度通报（2026-W46）")
    for needle in ("统计周期：2026-11-09 至 2026-11-15", "Asia/Shanghai", "## 镇街排名",
                   "## 部门排名", "红榜（前三）：", "黑榜（后三）：", "## 热点", "## 指标口径",
                   "按时办结率（on_time_rate）：", "综合得分 = 100 ×"):
        assert needle in md
    code, out, _ = run_report(demo_url, capsys, "weekly", "--period", "2026-W46", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["周调度通报（2026-W46）"] or rows[0][0].startswith("周调度通报")
    assert ["全区汇总"] in rows and ["单位排名"] in rows


def test_default_period_bad_period_and_english(demo_url, capsys):
    code, out, _ = run_report(demo_url, capsys, "weekly", "--format", "json")
    assert code == 0 and json.loads(out)["period"]["label"] == "2026-W46"  # clock: Fri of W47
    code, out, _ = run_report(demo_url, capsys, "monthly", "--format", "json")
    assert json.loads(out)["period"]["label"] == "2026-10"
    for args in (("weekly", "--period", "2026-11"), ("monthly", "--period", "2026-13"),
                 ("monthly", "--period", "last")):
        code, out, err = run_report(demo_url, capsys, *args)
        assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    code, text_out, _ = run_report(demo_url, capsys, "--lang", "en", "weekly", "--period",
                                   "2026-W46")
    assert code == 0 and "Weekly dispatch review (2026-W46)" in text_out
    assert "Red list (top 3)" in text_out and "—" in text_out or "%" in text_out


@pytest.mark.parametrize("form", ["text", "md", "csv", "json"])
def test_every_format_prints_period_and_time_zone(demo_url, capsys, form):
    code, out, _ = run_report(demo_url, capsys, "monthly", "--period", "2026-11",
                              "--format", form)
    assert code == 0 and "Asia/Shanghai" in out
