"""Importers: every encoding and line ending, every rejection reason,
duplicates inside and across files, Open311 streaming, exit codes."""
from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from sqlalchemy import func, select

from gridconsole.console.cli import main
from gridconsole.db.intake import IntakeError, import_file
from gridconsole.db.models import Case, CaseEvent, Category, Unit

cases, events = Case.__table__, CaseEvent.__table__
ZH = ["工单编号", "来电时间", "来电人", "联系电话", "诉求类别", "诉求内容", "发生地址", "所属街道", "紧急程度"]
EN = ["ticket_no", "received_at", "caller", "phone", "category", "content", "address", "street", "urgency"]


def hotline_row(ref, *, at="2026-11-19 08:30", caller="王芳", phone="13812345678",
                category="占道经营", content="门口占道经营烧烤", address="潮海街道古城社区3号楼",
                street="潮海街道", urgency="一般"):
    return [ref, at, caller, phone, category, content, address, street, urgency]


def write_hotline(path, rows, *, encoding="utf-8", newline="\r\n", header=ZH):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


async def stored(db, ref, channel="hotline"):
    async with db.read() as conn:
        return (await conn.execute(select(cases).where(
            cases.c.channel == channel, cases.c.source_ref == ref))).mappings().first()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("header", [ZH, EN], ids=["zh", "en"])
async def test_encodings_line_endings_and_headers(demo_db, tmp_path, encoding, newline, header):
    path = write_hotline(tmp_path / "h.csv", [
        hotline_row("E1", content="第一行\n第二行，含“引号”与,逗号", urgency="紧急"),
        hotline_row("E2", category="wm_hjws", street="", address="龙山街道葛村新村", urgency=""),
        hotline_row("E3", at="bad"),  # after a row with a quoted newline: its own line counts
    ], encoding=encoding, newline=newline, header=header)
    result = await import_file(demo_db, path)
    assert (result.imported, result.duplicates) == (2, 0)
    assert [(r.line, r.code) for r in result.rejected] == [(5, "bad_date")]
    first, second = await stored(demo_db, "E1"), await stored(demo_db, "E2")
    assert first["content"] == "第一行\n第二行，含“引号”与,逗号"  # CR of CRLF dropped
    assert (first["urgency"], first["reporter_name"], first["reporter_phone"]) == ("urgent", "王芳", "13812345678")
    assert first["state"] == "received" and first["version"] == 1
    async with demo_db.read() as conn:
        names = dict((await conn.execute(select(Unit.id, Unit.name).where(
            Unit.id.in_([first["street_id"], first["community_id"], second["street_id"],
                         second["community_id"]])))).all())
        hjws = await conn.scalar(select(Category.id).where(Category.code == "wm_hjws"))
        logged = await conn.scalar(select(func.count()).select_from(events).where(
            events.c.case_id.in_([first["id"], second["id"]]), events.c.action == "receive"))
    assert (names[first["street_id"]], names[first["community_id"]]) == ("潮海街道", "古城社区")
    assert (names[second["street_id"]], names[second["community_id"]]) == ("龙山街道", "葛村新村")
    assert second["category_id"] == hjws and second["urgency"] == "normal"  # the category's default
    assert not first["needs_triage_area"] and logged == 2
    assert "chaohai" in first["search_key"]


async def test_every_rejection_reason_with_its_line(demo_db, tmp_path):
    rows = [
        hotline_row("R1"),                                     # line 2: fine
        hotline_row("R2", at="2026-02-30 08:00"),              # 3: bad date
        hotline_row("R3", category="不存在的类别"),              # 4: unknown category
        hotline_row("R4", content="  \x07 "),                  # 5: empty content (control chars only)
        hotline_row(""),                                       # 6: missing id
        hotline_row("R1"),                                     # 7: duplicate inside the file
        hotline_row("R7", caller="名" * 41),                   # 8: field too long
        hotline_row("R8", urgency="十万火急"),                  # 9: bad urgency
        hotline_row("R9", at="2026-11-19"),                    # 10: a date without a time
        hotline_row("R10", content="多行\n内容"),               # 11-12: fine
        hotline_row("R11", at="2027-01-01 08:00"),             # 13: in the future
    ]
    path = write_hotline(tmp_path / "bad.csv", rows)
    raw = path.read_bytes()
    path.write_bytes(raw + "R12,2026-11-19 08:00,王,1,占道经营,".encode() + b"\xff\xfe\xfd" + b",addr,,\r\n")
    result = await import_file(demo_db, path)
    assert result.imported == 2
    assert [(r.line, r.code) for r in result.rejected] == [
        (3, "bad_date"), (4, "unknown_category"), (5, "empty_content"), (6, "missing_id"),
        (7, "duplicate_in_file"), (8, "too_long"), (9, "bad_urgency"), (10, "bad_date"),
        (13, "bad_date"), (14, "undecodable")]
    assert all(r.reason for r in result.rejected)
    assert (await stored(demo_db, "R10"))["content"] == "多行\n内容"


async def test_control_characters_removed_text_otherwise_as_given(demo_db, tmp_path):
    content = "[b]粗体[/b] \x1b[31m红色\x1b[0m <script>&amp; 'x'"
    path = write_hotline(tmp_path / "c.csv", [hotline_row("C1", content=content, caller="张\x00三")])
    assert (await import_file(demo_db, path)).imported == 1
    row = await stored(demo_db, "C1")
    assert row["content"] == "[b]粗体[/b] [31m红色[0m <script>&amp; 'x'"
    assert row["reporter_name"] == "张三"


async def test_unknown_place_is_left_for_triage(demo_db, tmp_path):
    path = write_hotline(tmp_path / "t.csv", [
        hotline_row("T1", street="", address="某某路88号"),
        hotline_row("T2", street="潮海", address="某某路88号"),  # a street without 街道 is known
        hotline_row("T3", street="通济街道", address="潮海街道古城社区"),  # contradiction
    ])
    assert (await import_file(demo_db, path)).imported == 3
    t1, t2, t3 = [await stored(demo_db, ref) for ref in ("T1", "T2", "T3")]
    assert t1["street_id"] is None and t1["needs_triage_area"]
    assert t2["street_id"] is not None and t2["community_id"] is None and t2["needs_triage_area"]
    assert t3["community_id"] is None and t3["needs_triage_area"]


async def test_duplicates_inside_and_across_files(demo_db, tmp_path):
    first = write_hotline(tmp_path / "a.csv", [hotline_row(f"D{i}") for i in range(10)])
    overlap = write_hotline(tmp_path / "b.csv", [hotline_row(f"D{i}") for i in range(5, 15)]
                            + [hotline_row("D14")])
    one = await import_file(demo_db, first)
    two = await import_file(demo_db, overlap)
    again = await import_file(demo_db, overlap)
    assert (one.imported, one.duplicates) == (10, 0)
    assert (two.imported, two.duplicates, [r.code for r in two.rejected]) == (5, 5, ["duplicate_in_file"])
    assert (again.imported, again.duplicates) == (0, 10)
    async with demo_db.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(cases).where(
            cases.c.source_ref.like("D%"), cases.c.channel == "hotline"))
    assert count == 15


async def test_small_batches_commit_separately(demo_db, tmp_path):
    path = write_hotline(tmp_path / "s.csv", [hotline_row(f"S{i}") for i in range(23)])
    result = await import_file(demo_db, path, batch=5)
    assert result.imported == 23
    async with demo_db.read() as conn:
        ids = (await conn.execute(select(cases.c.id).where(cases.c.source_ref.like("S%"))
                                  .order_by(cases.c.id))).scalars().all()
        logged = await conn.scalar(select(func.count()).select_from(events).where(events.c.case_id.in_(ids)))
    assert len(set(ids)) == 23 and logged == 23


def request(ref, **extra):
    item = {"service_request_id": ref, "status": "open", "service_code": "wm_zdjy",
            "service_name": "占道经营", "description": "流动摊贩占道经营",
            "requested_datetime": "2026-11-19T08:30:00+08:00", "address": "通济街道某小区",
            "lat": 36.38, "long": 120.45, "media_url": None}
    item.update(extra)
    return item


async def test_open311_streamed_with_lines(demo_db, tmp_path):
    filler = "长" * 3000  # long descriptions: objects cross the reader's chunks
    items = [request(f"O{i}", description=f"{i} {filler}") for i in range(120)]
    items[100] = request("O100", requested_datetime="yesterday")
    items[101] = request(12345, service_code=None, service_name="噪音扰民")  # a numeric id, by name
    items.append(["not", "an", "object"])
    path = tmp_path / "o.json"
    path.write_text("[\n" + ",\n".join(json.dumps(i, ensure_ascii=False, indent=1) for i in items)
                    + "\n]\n", encoding="utf-8")
    lines_per_item = len(json.dumps(items[0], ensure_ascii=False, indent=1).splitlines())
    result = await import_file(demo_db, path)
    assert result.imported == 119
    assert [(r.line, r.code) for r in result.rejected] == [
        (2 + 100 * lines_per_item, "bad_date"), (2 + 120 * lines_per_item, "not_object")]
    numeric = await stored(demo_db, "12345", channel="city_mgmt")
    async with demo_db.read() as conn:
        zy = await conn.scalar(select(Category.id).where(Category.code == "za_zy"))
    assert numeric["category_id"] == zy
    assert (await stored(demo_db, "O7", channel="city_mgmt"))["content"] == f"7 {filler}"


async def test_open311_truncated_file_keeps_what_came_before(demo_db, tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps([request("P1"), request("P2")], ensure_ascii=False)[:-40],
                    encoding="utf-8")
    result = await import_file(demo_db, path)
    assert result.imported == 1 and [r.code for r in result.rejected] == ["bad_json"]


async def test_unreadable_files_raise(demo_db, tmp_path):
    (tmp_path / "obj.json").write_text('{"service_request_id": "x"}', encoding="utf-8")
    (tmp_path / "cols.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "x.txt").write_text("", encoding="utf-8")
    for name in ("obj.json", "cols.csv", "empty.csv", "x.txt", "missing.csv"):
        with pytest.raises(IntakeError):
            await import_file(demo_db, tmp_path / name)


def test_cli_exit_codes_and_json(demo_url, tmp_path, capsys):
    good = write_hotline(tmp_path / "good.csv", [hotline_row("G1"), hotline_row("G2")])
    some_bad = write_hotline(tmp_path / "bad.txt", [hotline_row("G3"), hotline_row("G4", at="x")],
                             encoding="gb18030", newline="\n")
    assert main(["--db", demo_url, "import", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"imported": 2, "duplicates": 0, "rejected": []}
    assert main(["--db", demo_url, "--lang", "en", "import", str(some_bad),
                 "--format", "hotline-csv", "--json"]) == 3
    assert json.loads(capsys.readouterr().out) == {
        "imported": 1, "duplicates": 0, "rejected": [{"line": 3, "reason": "bad date: x"}]}
    assert main(["--db", demo_url, "import", str(good)]) == 0
    assert "重复 2 件" in capsys.readouterr().out
    for argv in (["import", str(tmp_path / "nope.csv")], ["import", str(some_bad)],
                 ["import", str(tmp_path)]):
        assert main(["--db", demo_url, *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("gridconsole: ") and err.count("\n") == 1 and "Traceback" not in err


async def test_two_terminals_importing_the_same_file_at_once(demo_db, demo_url, tmp_path):
    from gridconsole.db.engine import Database

    path = write_hotline(tmp_path / "both.csv", [hotline_row(f"W{i}") for i in range(3000)])
    other = Database(demo_url)
    try:
        results = await asyncio.gather(import_file(demo_db, path, batch=250),
                                       import_file(other, path, batch=250))
    finally:
        await other.dispose()
    assert sum(r.imported for r in results) == 3000
    assert sum(r.duplicates for r in results) == 3000
    async with demo_db.read() as conn:
        assert await conn.scalar(select(func.count(func.distinct(cases.c.source_ref))).where(
            cases.c.source_ref.like("W%"))) == 3000
        assert await conn.scalar(select(func.count()).select_from(cases).where(
            cases.c.source_ref.like("W%"))) == 3000
