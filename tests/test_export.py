"""Open311 export: what it writes reads back unchanged through the importer."""
from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from gridconsole.console.cli import main
from gridconsole.db.engine import Database
from gridconsole.db.intake import import_file
from gridconsole.db.intake.export import export_open311
from gridconsole.db.models import AuditEntry, Case

from conftest import _fresh_url
from test_intake import hotline_row, write_hotline

cases = Case.__table__
#: The fields an import sets: the same after export → import.
FIELDS = ("channel", "source_ref", "category_id", "urgency", "content", "address", "street_id",
          "community_id", "reporter_name", "reporter_phone", "reported_at", "needs_triage_area",
          "search_key", "state", "version")


async def _imported(db, prefix):
    async with db.read() as conn:
        rows = (await conn.execute(select(*[cases.c[f] for f in FIELDS])
                                   .where(cases.c.source_ref.like(f"{prefix}%"))
                                   .order_by(cases.c.source_ref))).all()
    return [tuple(row) for row in rows]


async def test_round_trip_changes_nothing(demo_db, officer, demo_template, tmp_path):
    source = write_hotline(tmp_path / "in.csv", [
        hotline_row("X1", content="多行\n内容 [b]原样[/b]", urgency="特急"),
        hotline_row("X2", street="", address="某某路", phone="", caller=""),
        hotline_row("X3", category="wm_hjws", at="2026-11-19 23:59:59"),
    ])
    assert (await import_file(demo_db, source)).imported == 3
    out = tmp_path / "out.json"
    with open(out, "w", encoding="utf-8") as handle:
        total = await export_open311(demo_db, officer, handle, unmasked=True)
    again = await import_file(demo_db, out)
    assert (again.imported, again.duplicates, again.rejected) == (0, total, [])  # nothing new
    other = Database(_fresh_url(tmp_path, demo_template))  # the same district, without X1..X3
    try:
        moved = await import_file(other, out)
        assert moved.imported == 3 and moved.rejected == []
        assert await _imported(other, "X") == await _imported(demo_db, "X")
    finally:
        await other.dispose()


async def test_phones_masked_by_default_and_not_stored_back(demo_db, officer, demo_template, tmp_path):
    await import_file(demo_db, write_hotline(tmp_path / "p.csv", [hotline_row("M1")]))
    out = tmp_path / "m.json"
    with open(out, "w", encoding="utf-8") as handle:
        await export_open311(demo_db, officer, handle)
    item = next(i for i in json.loads(out.read_text(encoding="utf-8")) if i["service_request_id"] == "M1")
    assert item["phone"] == "138****5678" and "13812345678" not in out.read_text(encoding="utf-8")
    assert item["requested_datetime"] == "2026-11-19T08:30:00+08:00"
    assert (item["service_code"], item["channel"], item["status"]) == ("wm_zdjy", "hotline", "open")
    other = Database(_fresh_url(tmp_path, demo_template))
    try:
        await import_file(other, out)
        async with other.read() as conn:
            phone = await conn.scalar(select(cases.c.reporter_phone).where(cases.c.source_ref == "M1"))
        assert phone is None  # a masked number identifies nobody
    finally:
        await other.dispose()


def test_cli_since_and_output_file(demo_url, tmp_path, capsys):
    out = tmp_path / "since.json"
    assert main(["--db", demo_url, "export", "open311", "--since", "2026-11-19", "-o", str(out)]) == 0
    items = json.loads(out.read_text(encoding="utf-8"))
    assert items and all(i["updated_datetime"] >= "2026-11-19" for i in items)
    assert not (tmp_path / "since.json.part").exists()
    assert main(["--db", demo_url, "export", "open311", "--since", "2099-01-01"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--db", demo_url, "export", "open311", "--since", "昨天"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_export_is_audited(demo_url, tmp_path):
    assert main(["--db", demo_url, "--operator", "demo", "export", "open311",
                 "-o", str(tmp_path / "a.json")]) == 0

    async def exports():
        db = Database(demo_url)
        try:
            async with db.read() as conn:
                return (await conn.execute(select(AuditEntry.operator_code, AuditEntry.detail)
                                           .where(AuditEntry.what == "export"))).all()
        finally:
            await db.dispose()

    [(who, detail)] = asyncio.run(exports())
    assert who == "demo" and detail.startswith("open311 ")
