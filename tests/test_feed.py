"""The simulated feed: it works through the workflow with holders' operators,
and a feed process beside another leaves every event log consistent."""
from __future__ import annotations

import asyncio
import sys
import time

from sqlalchemy import func, select

from gridconsole.console.cli import main
from gridconsole.db.domain import Action
from gridconsole.db.feed import run_feed
from gridconsole.db.models import Case, CaseEvent, Operator

cases, events, operators = Case.__table__, CaseEvent.__table__, Operator.__table__
CLI = "import sys; from gridconsole.console.cli import main; sys.exit(main(sys.argv[1:]))"


async def inconsistent_cases(db) -> list:
    """Cases whose log does not end in their state, or whose version is not
    the number of their events (seq 1..version, none missing or doubled)."""
    log = (select(events.c.case_id, func.count().label("n"), func.max(events.c.seq).label("last"),
                  func.count(func.distinct(events.c.seq)).label("seqs"))
           .group_by(events.c.case_id).subquery())
    final = events.alias("final")
    query = (select(cases.c.id)
             .outerjoin(log, log.c.case_id == cases.c.id)
             .outerjoin(final, (final.c.case_id == cases.c.id) & (final.c.seq == cases.c.version))
             .where((log.c.n.is_(None)) | (log.c.n != cases.c.version) | (log.c.last != cases.c.version)
                    | (log.c.seqs != log.c.n) | (final.c.to_state.is_(None))
                    | (final.c.to_state != cases.c.state)))
    async with db.read() as conn:
        return (await conn.execute(query)).scalars().all()


async def test_feed_beside_another_feed_keeps_logs_consistent(demo_db, demo_url):
    async with demo_db.read() as conn:
        before = await conn.scalar(select(func.max(events.c.id)))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI, "--db", demo_url, "feed", "--rate", "600", "--duration", "4s",
        "--seed", "2", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    stop = asyncio.Event()
    started = time.monotonic()
    here = asyncio.create_task(run_feed(demo_db, rate=1200, duration=30, stop_event=stop, seed=1))
    _, err = await process.communicate()
    stop.set()  # the stop event ends the feed early, as the console's does
    stats = await here
    assert process.returncode == 0, err.decode()
    assert time.monotonic() - started < 25
    assert stats.done[Action.RECEIVE] > 0 and sum(stats.done.values()) >= 10
    assert await inconsistent_cases(demo_db) == []
    async with demo_db.read() as conn:
        done = (await conn.execute(
            select(events.c.action, operators.c.code)
            .join(operators, operators.c.id == events.c.operator_id)
            .where(events.c.id > before))).all()
    by_action = {}
    for action, code in done:
        by_action.setdefault(action, set()).add(code)
    assert {"receive", "dispatch"} <= by_action.keys()
    assert by_action["receive"] == {"demo"}
    field = set().union(*(by_action.get(a, set()) for a in ("sign", "resolve", "return", "escalate")))
    assert field and all(code.startswith(("street", "dept-")) for code in field - {"demo"})


async def test_feed_stops_at_its_duration(demo_db):
    started = time.monotonic()
    stats = await run_feed(demo_db, rate=60, duration=1.5, seed=3)
    assert 1.4 < time.monotonic() - started < 6
    assert 1 <= sum(stats.done.values()) + stats.refused <= 3


def test_feed_cli_usage(demo_url, capsys):
    for argv in (["--duration", "soon"], ["--rate", "0"]):
        assert main(["--db", demo_url, "feed", *argv]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert main(["--db", demo_url, "--lang", "en", "feed", "--rate", "120", "--duration", "1s"]) == 0
    assert "Feed ended" in capsys.readouterr().out
