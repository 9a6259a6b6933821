"""The importers fuzzed (issue 9, item 4): hostile field text in every
encoding the sniffer reads, and hostile bytes.

* Field level: rows whose text mixes the HOSTILE list of test_hostile.py,
  arbitrary unicode, GB18030's four-byte characters, emoji ZWJ sequences,
  bidi marks, C0/C1 controls and fields around each length limit up to
  100,000 characters, written as a 12345 hotline CSV (Chinese or English
  headers, CRLF or LF) or an Open311 JSON list, encoded as UTF-8, UTF-8 with
  BOM or GB18030.  Each row is stored -- its text equal to the input minus
  control characters (db/text.py), trimmed -- or rejected with the reason a
  model of the validator predicts, on the line it starts on.  Importing the
  file again adds nothing.
* Byte level: valid files with invalid UTF-8, truncated GB18030 sequences,
  lone 0x80/0xFF, BOMs in the middle, broken quotes, brackets and escapes
  spliced in, and raw random bytes: ``import_file`` returns a result or raises
  ``IntakeError`` with one line, and the cases table grew by exactly what it
  reports, each case with its receive event, no control character stored.

Examples: GRIDCONSOLE_HEAVY=1 runs several times as many.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import func, select

from gridconsole.console.cli import main
from gridconsole.db.engine import Database
from gridconsole.db.intake import IntakeError, import_file
from gridconsole.db.intake.validate import LIMITS
from gridconsole.db.models import Case, CaseEvent
from gridconsole.db.text import strip_controls

from test_hostile import HOSTILE
from test_intake import EN, ZH

cases, events = Case.__table__, CaseEvent.__table__
HEAVY = bool(os.environ.get("GRIDCONSOLE_HEAVY"))
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030"]
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def fuzz_settings(examples: int, heavy: int):
    return settings(max_examples=heavy if HEAVY else examples, deadline=None, database=None,
                    derandomize=True, suppress_health_check=list(HealthCheck))


# -- hostile text -------------------------------------------------------------

EMOJI = ["👩‍👩‍👧‍👦", "🏳️‍🌈", "👨🏽‍🚒", "🇨🇳🇹🇼", "1️⃣", "🧑‍🤝‍🧑", "❤️‍🔥", "🫠"]
BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u3000", "\u2028", "\u2029",
             "\u0085", "\u00a0", "\ufffe", "\uffff", "\ufffd"]
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7f, 0xa0))]
#: Characters GB18030 encodes in four bytes: beyond the BMP, and BMP
#: characters outside GBK (the C1 range, Ext-A, U+9FA6.., U+FFFF...).
GB_FOUR = ["𠀀", "𪚥", "𠮷", "\U00031350", "\U0010ffff", "\u0080", "\u00ff", "\u1e3f", "\u9fa6",
           "\u9fff", "\u3400", "\u4db5", "\ue5e5", "\ufffd", "\u20ac\u00b7"]
#: Bytes of CSV / JSON syntax and words the validator looks for, as text.
SYNTAX = [",", '"', '""', "\r\n", "\n", "\r", " ", "\t", "\\", "%", "_", "'", "[", "]", "{", "}",
          "\\u0000", "龙山街道", "古城社区", "潮海", "*", "138****5678"]

piece = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(EMOJI + BIDI + INVISIBLE + CONTROLS + GB_FOUR + SYNTAX),
    st.characters(min_codepoint=0x3400, max_codepoint=0x9fff),
    st.characters(min_codepoint=0x80, max_codepoint=0xffff, exclude_categories=["Cs"]),
    st.characters(exclude_categories=["Cs"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)
short_text = st.lists(piece, max_size=10).map("".join)
#: Just under, at and over the limits of id (64), caller (40), phone, address
#: (200), content (4000), and 100,000 characters.
SIZES = sorted({n + d for n in LIMITS.values() for d in (-1, 0, 1)} | {100_000})
long_text = st.tuples(st.lists(piece, min_size=1, max_size=4).map("".join).filter(bool),
                      st.sampled_from(SIZES)).map(lambda t: (t[0] * (t[1] // len(t[0]) + 1))[:t[1]])


def fitting(limit: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text that fits ``limit`` (cut there, maybe in the middle of a sequence)."""
    return st.lists(piece, min_size=min_size, max_size=10).map(lambda s: "".join(s)[:limit])


#: call times: (text, accepted?)
DATES = [("2026-11-19 08:30", True), ("2026-11-19T08:30:00+08:00", True), ("2026-11-19T00:30:00Z", True),
         (" 2026-11-19 08:30:15.250 ", True), ("2026-11-19 08:30\x00\x1b", True),
         ("0001-01-01 00:00", False), ("0001-01-01T00:00:00+14:00", False),
         ("9999-12-31 23:59", False), ("9999-12-31T23:59:59-12:00", False),
         ("2026-02-30 08:00", False), ("２０２６-１１-１９ ０８:３０", False), ("2026-11-19", False),
         ("[b]2026-11-19 08:30[/b]", False), ("\u202e2026-11-19 08:30", False), ("", False)]
URGENCIES = [("一般", "normal"), ("紧急", "urgent"), ("", None), (" Critical ", "critical"),
             ("十万火急", False), ("\x1b紧急\x07", "urgent"), ("\x1b[31m紧急", False)]
TEXT_FIELDS = ("id", "caller", "phone", "content", "address")


@st.composite
def row_strategy(draw) -> dict:
    """One row's fields; about one row in five has a field near a limit or
    of 100,000 characters, one in five a call time that does not parse."""
    row = {"id": draw(fitting(50)), "caller": draw(fitting(LIMITS["caller"])),
           "phone": draw(st.one_of(st.just("13812345678"), fitting(LIMITS["phone"]))),
           "content": draw(fitting(LIMITS["content"], min_size=1)),
           "address": draw(fitting(LIMITS["address"])), "street": draw(short_text),
           "urgency": draw(st.sampled_from(URGENCIES))}
    long = draw(st.integers(0, 24))
    if long < len(TEXT_FIELDS):
        row[TEXT_FIELDS[long]] = draw(long_text)[:80 if long == 0 else None]
    row["date"] = draw(st.sampled_from(DATES)) if draw(st.integers(0, 4)) == 0 else DATES[0]
    return row


def ref(tag: str, n: int, row: dict) -> str:
    """Row ``n``'s id in the file: unique whatever the fuzzed tail."""
    return f"{tag}-{n}:{row['id']}"


def expected(row: dict, ref: str) -> tuple[str, dict | None]:
    """What the validator should make of a row (its category always exists):
    the rejection code, or "" and the stored columns."""
    f = {name: strip_controls(row[name]) for name in ("caller", "phone", "content", "address")}
    f["id"] = strip_controls(ref)
    for name in LIMITS:  # the validator's order
        if len(f[name]) > LIMITS[name]:
            return "too_long", None
    if not row["date"][1]:
        return "bad_date", None
    if not f["content"].strip():
        return "empty_content", None
    if row["urgency"][1] is False:
        return "bad_urgency", None
    phone = f["phone"].strip()
    return "", {"source_ref": f["id"].strip(), "content": f["content"].strip(),
                "address": f["address"].strip(), "reporter_name": f["caller"].strip() or None,
                "reporter_phone": phone if phone and "*" not in phone else None,
                "urgency": row["urgency"][1] or "normal"}  # the category's default


# -- writing the files --------------------------------------------------------

def csv_line(values: list[str], newline: str, quote_all: bool = False) -> str:
    """One CSV record, quoted where RFC 4180 says (the csv module's writer
    leaves a lone CR unquoted when the line ends in LF)."""
    return ",".join('"' + v.replace('"', '""') + '"' if quote_all or re.search('[,"\r\n]', v) else v
                    for v in values) + newline


def hotline_file(rows: list[dict], tag: str, header: list[str], newline: str,
                 quote_all: bool = False) -> tuple[str, list[int]]:
    """The CSV text and the line each row starts on (csv counts CR, LF and CRLF)."""
    out, lines, line = [csv_line(header, newline)], [], 2
    for n, row in enumerate(rows):
        text = csv_line([ref(tag, n, row), row["date"][0], row["caller"], row["phone"],
                         "占道经营", row["content"], row["address"], row["street"], row["urgency"][0]],
                        newline, quote_all)
        out.append(text)
        lines.append(line)
        line += len(re.findall(r"\r\n|\r|\n", text))
    return "".join(out), lines


def open311_file(rows: list[dict], tag: str, indent: int | None, ascii_only: bool) -> tuple[str, list[int]]:
    """The JSON text and the line each request starts on."""
    items, lines, line = [], [], 2
    for n, row in enumerate(rows):
        item = {"service_request_id": ref(tag, n, row), "requested_datetime": row["date"][0],
                "service_code": "wm_zdjy", "description": row["content"], "address": row["address"],
                "caller": row["caller"], "phone": row["phone"], "street": row["street"],
                "urgency": row["urgency"][0], "media_url": None, "lat": 36.38,
                "x-" + row["caller"][:9]: [row["street"]]}
        text = json.dumps(item, ensure_ascii=ascii_only, indent=indent)
        items.append(text)
        lines.append(line)
        line += text.count("\n") + 1
    return "[\n" + ",\n".join(items) + "\n]\n", lines


# -- running hypothesis against one demo district -------------------------------

class District:
    """A demo database and an event loop that hypothesis's examples share."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.loop, self.db, self.tmp = asyncio.new_event_loop(), Database(url), tmp_path

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()

    def file(self, suffix: str, data: bytes) -> Path:
        path = self.tmp / f"{uuid.uuid4().hex[:12]}{suffix}"
        path.write_bytes(data)
        return path

    async def counts(self) -> tuple[int, int, int]:
        async with self.db.read() as conn:
            return (await conn.scalar(select(func.count()).select_from(cases)),
                    await conn.scalar(select(func.count()).select_from(events)),
                    await conn.scalar(select(func.coalesce(func.max(cases.c.id), 0))))

    async def stored(self, channel: str, refs: list[str]) -> dict[str, dict]:
        async with self.db.read() as conn:
            rows = (await conn.execute(select(cases).where(
                cases.c.channel == channel, cases.c.source_ref.in_(refs)))).mappings().all()
        return {row["source_ref"]: dict(row) for row in rows}

    async def since(self, last_id: int) -> list[dict]:
        async with self.db.read() as conn:
            return [dict(r) for r in (await conn.execute(
                select(cases).where(cases.c.id > last_id))).mappings().all()]


@pytest.fixture
def district(demo_url, tmp_path):
    place = District(demo_url, tmp_path)
    yield place
    place.close()


def check_rows(district: District, data: bytes, suffix: str, channel: str, rows: list[dict],
               tag: str, lines: list[int]) -> None:
    """Import ``data``: each row stored as the model says or rejected on its
    line for the model's reason; a second import adds nothing."""
    path = district.file(suffix, data)
    before = district.run(district.counts())
    result = district.run(import_file(district.db, path, batch=2))
    after = district.run(district.counts())
    predicted = [expected(row, ref(tag, n, row)) for n, row in enumerate(rows)]
    assert [(r.line, r.code) for r in result.rejected] == [
        (line, code) for line, (code, _) in zip(lines, predicted) if code]
    assert all(r.reason and str(r.line) for r in result.rejected)
    fresh = [columns for code, columns in predicted if not code]
    assert (result.imported, result.duplicates) == (len(fresh), 0)
    assert (after[0] - before[0], after[1] - before[1]) == (len(fresh), len(fresh))
    found = district.run(district.stored(channel, [c["source_ref"] for c in fresh]))
    for columns in fresh:
        row = found[columns["source_ref"]]
        assert {name: row[name] for name in columns} == columns
        assert row["state"] == "received" and row["version"] == 1
        assert row["search_key"].isascii()
    again = district.run(import_file(district.db, path))
    assert (again.imported, again.duplicates) == (0, len(fresh))
    assert [(r.line, r.code) for r in again.rejected] == [(r.line, r.code) for r in result.rejected]
    assert district.run(district.counts())[:2] == after[:2]


# -- field level ----------------------------------------------------------------

LONG_ROW = dict(id="", date=DATES[0], caller="王" * 40, phone="13812345678", content="长" * 100_000,
                address="路" * 200, street="", urgency=URGENCIES[0])
#: 64 characters of id with the 12 of the tag, 4000 of content once the OSC is gone
FIT_ROW = dict(LONG_ROW, content="\x1b]52;c;" + "长" * 3994 + "\x07", id="x" * 52)


def test_hotline_rows_stored_as_given_or_rejected_on_their_line(district):
    counted = {"rows": 0, "stored": 0}

    @fuzz_settings(40, 300)
    @given(rows=st.lists(row_strategy(), min_size=1, max_size=4), encoding=st.sampled_from(ENCODINGS),
           newline=st.sampled_from(["\r\n", "\n"]), header=st.sampled_from([ZH, EN]),
           quote_all=st.booleans())
    @example(rows=[LONG_ROW, FIT_ROW, dict(FIT_ROW, id="y" * 53)], encoding="gb18030",
             newline="\r\n", header=ZH, quote_all=False)
    @example(rows=[dict(LONG_ROW, content=c, caller="", date=d) for c, d in zip(HOSTILE, DATES * 3)],
             encoding="utf-8-sig", newline="\n", header=EN, quote_all=False)
    def check(rows, encoding, newline, header, quote_all):
        tag = f"H{uuid.uuid4().hex[:8]}"
        text, lines = hotline_file(rows, tag, header, newline, quote_all)
        check_rows(district, text.encode(encoding), ".csv", "hotline", rows, tag, lines)
        counted["rows"] += len(rows)
        counted["stored"] += sum(1 for n, row in enumerate(rows) if not expected(row, ref(tag, n, row))[0])

    check()
    print(f"\nhotline fuzz: {counted['rows']} rows, {counted['stored']} stored as given, "
          "the rest rejected on their line")


def test_open311_requests_stored_as_given_or_rejected_on_their_line(district):
    counted = {"rows": 0, "stored": 0}

    @fuzz_settings(40, 300)
    @given(rows=st.lists(row_strategy(), min_size=1, max_size=4), encoding=st.sampled_from(ENCODINGS),
           indent=st.sampled_from([None, 1]), ascii_only=st.booleans())
    @example(rows=[LONG_ROW, FIT_ROW], encoding="gb18030", indent=None, ascii_only=False)
    def check(rows, encoding, indent, ascii_only):
        tag = f"J{uuid.uuid4().hex[:8]}"
        text, lines = open311_file(rows, tag, indent, ascii_only)
        check_rows(district, text.encode(encoding), ".json", "city_mgmt", rows, tag, lines)
        counted["rows"] += len(rows)
        counted["stored"] += sum(1 for n, row in enumerate(rows) if not expected(row, ref(tag, n, row))[0])

    check()
    print(f"\nopen311 fuzz: {counted['rows']} requests, {counted['stored']} stored as given, "
          "the rest rejected on their line")


# -- byte level -------------------------------------------------------------------

NASTY = [b"\x80", b"\xff", b"\x00", b"\xef\xbb\xbf", b"\xfe\xff", b"\xe4\xb8", b"\xe4", b"\x81\x30\x81",
         b"\x81\x30", b"\x81", b"\xfe\x39", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
         b"\x1b[2J", b"\x1b]52;c;eA==\x07", b"\r", b"\n", b'"', b",", b"[", b"]", b"{", b"}", b":",
         b"\\", b'\\ud800', b'\\udc80', b"\\u0000", b'"\\x', b"9" * 5000, b"[" * 3000, b"-0",
         b"0001-01-01 00:00", "龙山".encode("gb18030"), "龙山".encode(), b"\x95\x32\x82\x36"]


def base_bytes(fmt: str, tag: str, encoding: str) -> bytes:
    rows = [dict(LONG_ROW, content=c, caller="王芳", address="潮海街道古城社区3号楼")
            for c in ("门口占道经营烧烤", "[@click=app.quit]x[/] 噪音", "第一行\n第二行")]
    if fmt == ".csv":
        text, _ = hotline_file(rows, tag, ZH, "\r\n")
    else:
        text, _ = open311_file(rows, tag, 1, False)
    return text.encode(encoding)


@st.composite
def mangled(draw) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from([".csv", ".json"]))
    data = bytearray(base_bytes(fmt, f"B{uuid.uuid4().hex[:8]}", draw(st.sampled_from(ENCODINGS))))
    if draw(st.integers(0, 9)) == 9:
        data = bytearray(draw(st.binary(max_size=400)))
    body = data.find(b"\n") + 1  # most damage goes below the header line
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)) if draw(st.integers(0, 7)) == 7 else
                  st.integers(min(body, len(data)), len(data)))
        what = draw(st.sampled_from(["insert"] * 4 + ["replace"] * 4 + ["cut", "truncate"]))
        chunk = draw(st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=6)))
        if what == "insert":
            data[at:at] = chunk
        elif what == "replace":
            data[at:at + len(chunk)] = chunk
        elif what == "cut":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return fmt, bytes(data)


def check_bytes(district: District, fmt: str, data: bytes, codes: Counter | None = None) -> str:
    """Import ``data``: a result or one clear error, and the database holds
    exactly what the result says."""
    path = district.file(fmt, data)
    before = district.run(district.counts())
    try:
        result = district.run(import_file(district.db, path, batch=2))
    except IntakeError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert district.run(district.counts()) == before
        return "error"
    after = district.run(district.counts())
    if codes is not None:
        codes.update(r.code for r in result.rejected)
    assert (after[0] - before[0], after[1] - before[1]) == (result.imported, result.imported)
    assert all(r.line >= 1 and r.reason for r in result.rejected)
    for row in district.run(district.since(before[2])):
        for name in ("source_ref", "content", "address", "reporter_name", "reporter_phone"):
            value = row[name] or ""
            assert not _CONTROL.search(value) and not _SURROGATE.search(value), (name, value)
    again = district.run(import_file(district.db, path))
    assert (again.imported, again.duplicates) == (0, result.imported + result.duplicates)
    assert district.run(district.counts())[:2] == after[:2]
    return "imported" if result.imported else "rejected"


def test_hostile_bytes_import_or_fail_cleanly(district):
    outcomes, codes = {"imported": 0, "rejected": 0, "error": 0}, Counter()

    @fuzz_settings(60, 400)
    @given(case=mangled())
    # A date before year 1 in UTC, a number too long to convert, nesting too
    # deep, and JSON escapes of lone surrogates: each crashed the importer.
    @example(case=(".csv", base_bytes(".csv", "X1", "utf-8").replace(b"2026-11-19 08:30",
                                                                      b"0001-01-01 00:00")))
    @example(case=(".json", b'[{"service_request_id": "X2", "description": ' + b"9" * 5000 + b"}]"))
    @example(case=(".json", b"[" * 100_000))
    @example(case=(".json", b'[{"service_request_id": "X3", "description": ' + b"[" * 990 + b"]" * 990 + b","
                   b'"service_code": "wm_zdjy", "requested_datetime": "2026-11-19 08:30"}]'))
    @example(case=(".json", base_bytes(".json", "X4", "utf-8").replace("门口".encode(),
                                                                        b"\\udfff\\ud800\\udc80")))
    @example(case=(".json", base_bytes(".json", "X5", "utf-8").replace(b'"X5-0:', b'"\\ud83d')))
    @example(case=(".csv", base_bytes(".csv", "X6", "gb18030")[:-7] + b"\x81\x30\x81"))
    @example(case=(".csv", b"\xef\xbb\xbf" + base_bytes(".csv", "X7", "utf-8-sig")))
    def check(case):
        outcomes[check_bytes(district, *case, codes)] += 1

    check()
    print(f"\nhostile bytes: {sum(outcomes.values())} files: {outcomes['imported']} imported rows, "
          f"{outcomes['rejected']} only rejections, {outcomes['error']} refused with one clear line; "
          f"rejections: {dict(codes)}")


def test_cli_reports_hostile_files_in_one_line(demo_url, tmp_path, capsys):
    """Through ``gridconsole import``: exit 0, 2 or 3 and no traceback."""
    files = {"year1.csv": base_bytes(".csv", "C1", "gb18030").replace(
                 "2026-11-19 08:30".encode("gb18030"), b"0001-01-01 00:00"),
             "deep.json": b"[" * 100_000, "long.json": b"[" + b"9" * 5000 + b"]",
             "nul.csv": b"\x00" * 100, "bom.json": b"\xef\xbb\xbf\xef\xbb\xbf[]"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        code = main(["--db", demo_url, "import", str(tmp_path / name)])
        captured = capsys.readouterr()
        assert code in (0, 2, 3), (name, captured.err)
        assert "Traceback" not in captured.err and "Traceback" not in captured.out
        if code == 2:
            assert captured.err.startswith("gridconsole: ") and captured.err.count("\n") == 1
