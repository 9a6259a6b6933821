"""``gridconsole case …``: the same workflow from the shell, with DESIGN.md §5's
exit codes (0 done, 1 refused, 2 usage) and one-line errors."""
from __future__ import annotations

import json

from gridconsole.console.cli import main


def run(capsys, url: str, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", url, "case", *argv])
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys, url: str, view: str) -> list[dict]:
    code, out, _ = run(capsys, url, "list", "--view", view, "--json", "--limit", "5")
    assert code == 0
    return json.loads(out)


def test_list_and_show(capsys, demo_url):
    rows = listed(capsys, demo_url, "in_progress")
    assert 0 < len(rows) <= 5 and {r["state"] for r in rows} == {"in_progress"}
    code, out, _ = run(capsys, demo_url, "show", str(rows[0]["id"]), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["id"] == rows[0]["id"]
    assert shown["events"][0]["action"] == "receive"
    assert len(shown["events"]) == shown["version"]
    assert "****" in shown["reporter_phone"] or not shown["reporter_phone"]
    code, out, _ = run(capsys, demo_url, "show", str(rows[0]["id"]))
    assert code == 0 and f"#{rows[0]['id']}" in out


def test_sign_then_sign_again_is_refused(capsys, demo_url):
    case = listed(capsys, demo_url, "dispatched")[0]
    code, out, err = run(capsys, demo_url, "sign", str(case["id"]), "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == {"case_id": case["id"], "version": case["version"] + 1,
                               "state": "in_progress", "action": "sign"}
    code, out, err = run(capsys, demo_url, "sign", str(case["id"]))
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "不能签收" in err


def test_stale_version_names_who_changed_it(capsys, demo_url):
    case = listed(capsys, demo_url, "in_progress")[0]
    code, _, _ = run(capsys, demo_url, "note", str(case["id"]), "--note", "first",
                     "--operator", "duban")
    assert code == 0
    code, _, err = run(capsys, demo_url, "supervise", str(case["id"]),
                       "--version", str(case["version"]))
    assert code == 1 and "duban" in err


def test_out_of_scope_and_viewer_are_refused(capsys, demo_url, monkeypatch):
    mine = {r["id"] for r in json.loads(run(capsys, demo_url, "list", "--json", "--limit", "500",
                                            "--operator", "street01")[1])}
    other = next(r for r in listed(capsys, demo_url, "in_progress") if r["id"] not in mine)
    code, _, err = run(capsys, demo_url, "note", str(other["id"]), "--note", "x",
                       "--operator", "street01")
    assert code == 1 and str(other["id"]) in err
    monkeypatch.setenv("GRIDCONSOLE_OPERATOR", "wall")
    code, _, err = run(capsys, demo_url, "supervise", str(other["id"]))
    assert code == 1 and err.startswith("gridconsole: ")


def test_dispatch_by_unit_code_and_usage_errors(capsys, demo_url):
    rows = listed(capsys, demo_url, "dispatched")
    case = rows[0]
    code, _, _ = run(capsys, demo_url, "return", str(case["id"]), "--reason", "not ours")
    if code == 0:  # back in 待受理: dispatch it again, naming the unit by its code
        code, out, _ = run(capsys, demo_url, "dispatch", str(case["id"]), "--unit", "D-zhzf",
                           "--json")
        assert code == 0 and json.loads(out)["state"] == "dispatched"
    code, _, err = run(capsys, demo_url, "escalate", str(case["id"]), "--unit", "nowhere")
    assert code == 2 and "nowhere" in err
    code, _, _ = run(capsys, demo_url, "resolve", str(case["id"]), "--result", "done")
    assert code == 2  # --closure-reason is required
    code, _, _ = run(capsys, demo_url, "callback", "1", "--satisfaction", "ecstatic")
    assert code == 2
    code, _, err = run(capsys, demo_url, "show", "99999999")
    assert code == 1 and "99999999" in err
