"""No reporter's phone number in full on any screen (个人信息保护法).

Every snapshot under tests/__snapshots__ is scanned, whoever's test made it,
for the full phone numbers of the demo district's reporters; so are the
reports in every format and an export made without ``--unmasked``.
"""
from __future__ import annotations

import asyncio
import re
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from gridconsole.console.cli import main
from gridconsole.db.engine import Database
from gridconsole.db.models import Case
from gridconsole.db.privacy import mask_phone

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
_DIGITS = re.compile(r"\d{7,}")
_TAG = re.compile(r"<[^>]*>")


async def demo_phones(db) -> set[str]:
    cases = Case.__table__
    async with db.read() as conn:
        found = await conn.scalars(select(cases.c.reporter_phone).distinct()
                                   .where(cases.c.reporter_phone.is_not(None)))
        return {p for p in found if len(p) >= 7}


def full_phones_in(text: str, phones: set[str]) -> set[str]:
    """The full numbers of ``phones`` that ``text`` shows (SVG markup removed,
    so a number split over two styled spans is still found)."""
    shown = set()
    for variant in (text, _TAG.sub("", text)):
        for run in _DIGITS.findall(variant):
            shown |= {p for p in phones if p in run}
    return shown


async def test_no_snapshot_shows_a_full_phone_number(demo_db):
    phones = await demo_phones(demo_db)
    assert len(phones) > 1000
    files = [p for p in SNAPSHOTS.rglob("*") if p.suffix in (".svg", ".raw")]
    assert files, "the login and audit snapshots at least"
    leaks = {str(path.relative_to(SNAPSHOTS)): sorted(found) for path in files
             if (found := full_phones_in(path.read_text(encoding="utf-8", errors="replace"),
                                         phones))}
    assert not leaks


def test_the_scan_finds_what_it_looks_for():
    phones = {"13812345678"}
    assert full_phones_in('<text>138</text><text>12345678</text>', phones) == phones
    assert full_phones_in(f"<text>{mask_phone('13812345678')}</text>", phones) == set()


def _file_text(path: Path) -> str:
    """A report or export as text; an xlsx is the XML inside its zip."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace")
                             for name in book.namelist() if name.endswith(".xml"))
    return path.read_text(encoding="utf-8-sig", errors="replace")


def test_no_report_export_or_case_output_shows_a_full_phone_number(demo_url, tmp_path,
                                                                  monkeypatch, capsys):
    """Every report format, a default export and the case command, as the
    district officer (who sees everything): phones only masked."""
    monkeypatch.setenv("GRIDCONSOLE_DB", demo_url)
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "gridconsole")
    written = []
    for kind, period, form in [("monthly", "2026-11", f) for f in ("text", "md", "csv", "json", "xlsx")
                               ] + [("weekly", "2026-W46", "json")]:
        path = tmp_path / f"{kind}.{form}"
        assert main(["report", kind, "--period", period, "--format", form, "-o", str(path),
                     "--operator", "demo"]) == 0
        written.append(path)
    export = tmp_path / "cases.json"
    assert main(["export", "open311", "-o", str(export), "--operator", "demo"]) == 0
    written.append(export)

    phones, with_phone = asyncio.run(_phones(demo_url))
    leaks = {p.name: sorted(found) for p in written
             if (found := full_phones_in(_file_text(p), phones))}
    assert not leaks
    capsys.readouterr()
    for args in (["case", "list", "--json", "--limit", "500"], ["case", "list", "--view", "received"],
                 ["case", "show", with_phone], ["case", "show", with_phone, "--json"]):
        assert main([*args, "--operator", "demo"]) == 0
    shown = capsys.readouterr().out
    assert not full_phones_in(shown, phones) and "****" in shown
    masked = [p.name for p in written if re.search(r"1\d\d\*{4}\d{4}", _file_text(p))]
    assert "cases.json" in masked  # the phones are there, masked


async def _phones(url: str) -> tuple[set[str], str]:
    """The reporters' phones, and a case that has one."""
    db = Database(url)
    try:
        async with db.read() as conn:
            case_id = await conn.scalar(select(func.min(Case.id)).where(
                Case.reporter_phone.is_not(None)))
        return await demo_phones(db), str(case_id)
    finally:
        await db.dispose()
