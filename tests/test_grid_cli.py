"""``gridconsole grids``: the screen's figures from the shell."""
from __future__ import annotations

import asyncio
import json

from gridconsole.console.cli import main
from gridconsole.db import gridstatus
from gridconsole.db.engine import Database
from gridconsole.db.workflow import load_actor


def run(monkeypatch, capsys, url, *args):
    monkeypatch.setenv("GRIDCONSOLE_DB", url)
    monkeypatch.setenv("GRIDCONSOLE_PASSWORD", "gridconsole")
    try:
        code = main(["grids", *args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def tree(url, code="demo"):
    async def load():
        db = Database(url)
        try:
            actor = await load_actor(db, code)
            return await gridstatus.open_tree(db, actor)
        finally:
            await db.dispose()
    return asyncio.run(load())


def test_json_has_the_district_and_its_streets(demo_url, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, demo_url, "--operator", "demo", "--json")
    assert code == 0
    data = json.loads(out)
    roots, kids = tree(demo_url)
    district = roots[0]
    assert data["area"]["name"] == "即墨区" and data["area"]["open"] == district.figures.open
    assert data["area"]["overdue"] == district.figures.overdue
    assert data["area"]["daily"] == list(district.figures.daily) and data["days"] == 14
    assert [c["name"] for c in data["children"]] == [k.name for k in kids[district.ref]]
    assert sum(c["open"] for c in data["children"]) == data["area"]["open"]
    assert sum(c["unstaffed_grids"] for c in data["children"]) == data["area"]["unstaffed_grids"]


def test_text_for_a_named_area(demo_url, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, demo_url, "--operator", "demo", "--area", "区公安分局",
                       "--lang", "en")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Area") and "Open" in lines[0] and "Last 14 days" in lines[0]
    assert lines[1].startswith("区公安分局")
    assert any(line.startswith("  潮海派出所") for line in lines)


def test_a_street_officer_starts_at_the_street(demo_url, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, demo_url, "--operator", "street01", "--json")
    assert code == 0 and json.loads(out)["area"]["kind"] == "street"
    code, _, err = run(monkeypatch, capsys, demo_url, "--operator", "street01", "--area", "区公安分局")
    assert code == 2 and "区公安分局" in err


def test_unknown_area_and_missing_operator_are_usage_errors(demo_url, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, demo_url, "--operator", "demo", "--area", "没有这个区域")
    assert code == 2 and err.count("\n") == 1 and "没有这个区域" in err
    monkeypatch.delenv("GRIDCONSOLE_OPERATOR")
    code, _, err = run(monkeypatch, capsys, demo_url)
    assert code == 2 and "Traceback" not in err
