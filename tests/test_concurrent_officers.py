"""Concurrent officers (issue 9, part 2).

Four processes act at random on the same five cases through db.workflow,
each passing the ``version=`` it read just before, on one SQLite file (or on
PostgreSQL when ``GRIDCONSOLE_TEST_PG`` is set).  Each worker writes what
happened to a JSON file: every success with the version it produced, every
refusal with its reason.  Then:

* no lost update: the successes are exactly the events appended (same
  (case, seq) pairs), and sum(successes) == sum(version growth);
* no duplicated event: (case_id, seq) is unique and seq runs 1..version;
* every refusal reported: each attempt is a success or a ``Refused`` (no
  other exception), and the audit trail holds one ok=false row per refusal
  and one ok=true row per success;
* the final state of each case equals the replay of its log.

``GRIDCONSOLE_HEAVY=1`` runs 8 processes x 1000 actions (the documented
full run); CI runs 4 x 100.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter

from sqlalchemy import func, select

from gridconsole.db import workflow as wf
from gridconsole.db.domain import Action, Channel, State, Urgency
from gridconsole.db.lifecycle import limits_for, replay
from gridconsole.db.models import AuditEntry, Case, CaseEvent, Category, Unit

from conftest import PG_URL

cases, events, audit, units = (Case.__table__, CaseEvent.__table__, AuditEntry.__table__,
                               Unit.__table__)

HEAVY = bool(os.environ.get("GRIDCONSOLE_HEAVY"))
WORKERS = 8 if HEAVY else 4
ACTIONS = 1000 if HEAVY else 100
CASES = 5

WORKER = r'''
import asyncio, json, random, sys, traceback
from sqlalchemy import select
from gridconsole.db import workflow as wf
from gridconsole.db.domain import Action, State, allowed_actions
from gridconsole.db.engine import Database
from gridconsole.db.lifecycle import Refused
from gridconsole.db.models import Case, Unit

cases, units = Case.__table__, Unit.__table__
#: Actions that keep a case in play (direct, invalidate and merge end it).
POOL = {Action.DISPATCH, Action.SIGN, Action.RETURN, Action.SUBDISPATCH, Action.ESCALATE,
        Action.EXTEND, Action.SUPERVISE, Action.RESOLVE, Action.REDO, Action.CALLBACK,
        Action.NOTE}

async def main(url, ids, count, seed, codes, out):
    rng = random.Random(seed)
    db = Database(url)
    actors = [await wf.load_actor(db, code) for code in codes]
    async with db.read() as conn:
        tree = {r.id: r for r in (await conn.execute(select(units.c.id, units.c.parent_id, units.c.kind))).all()}
    children = {}
    for u in tree.values():
        children.setdefault(u.parent_id, []).append(u.id)
    department = min(u.id for u in tree.values() if u.kind == "department")
    done = {"successes": [], "refused": {}, "errors": [], "attempts": 0}
    for i in range(count):
        case_id = rng.choice(ids)
        async with db.read() as conn:
            row = (await conn.execute(select(cases).where(cases.c.id == case_id))).mappings().one()
        action = rng.choice(sorted(POOL & set(allowed_actions(State(row["state"])))))
        holder = row["holder_unit_id"]
        params = {
            Action.DISPATCH: dict(unit_id=row["community_id"]),
            Action.SIGN: {},
            Action.RETURN: dict(reason=f"r{i}"),
            Action.SUBDISPATCH: dict(unit_id=(children.get(holder) or [row["grid_id"]])[0]),
            Action.ESCALATE: dict(unit_id=department if tree[holder].kind in ("street", "department")
                                  else tree[holder].parent_id) if holder else dict(unit_id=department),
            Action.EXTEND: dict(days=1),
            Action.SUPERVISE: dict(note=f"s{i}"),
            Action.RESOLVE: dict(result=f"done {i}", closure_reason="solved"),
            Action.REDO: dict(reason=f"again {i}"),
            Action.CALLBACK: dict(satisfaction="satisfied"),
            Action.NOTE: dict(note=f"n{i}"),
        }[action]
        actor = rng.choice(actors)
        done["attempts"] += 1
        try:
            change = await wf.perform(db, actor, case_id, action, version=row["version"], **params)
            done["successes"].append([case_id, change.version, action.value])
        except Refused as refusal:
            done["refused"][refusal.key] = done["refused"].get(refusal.key, 0) + 1
        except Exception as exc:
            done["errors"].append(f"{type(exc).__name__}: {exc}"[:300])
    await db.dispose()
    with open(out, "w") as fh:
        json.dump(done, fh)

url, ids, count, seed, codes, out = sys.argv[1:]
asyncio.run(main(url, [int(x) for x in ids.split(",")], int(count), int(seed), codes.split(","), out))
'''


async def _new_case(db, officer) -> int:
    async with db.read() as conn:
        street = await conn.scalar(select(units.c.id).where(units.c.name == "潮海街道"))
        community = await conn.scalar(select(func.min(units.c.id)).where(
            units.c.parent_id == street, units.c.kind == "community"))
        grid = await conn.scalar(select(func.min(units.c.id)).where(units.c.parent_id == community))
        category = await conn.scalar(select(func.min(cases.c.category_id)))
    return await wf.receive(
        db, officer, channel=Channel.GRID_APP, source_ref=f"co-{uuid.uuid4().hex}",
        category_id=category, urgency=Urgency.NORMAL, content="共享单车乱停放",
        street_id=street, community_id=community, grid_id=grid)


async def test_concurrent_officers_lose_nothing(demo_db, demo_url, officer, tmp_path):
    ids = [await _new_case(demo_db, officer) for _ in range(CASES)]
    async with demo_db.read() as conn:
        start = dict((await conn.execute(select(cases.c.id, cases.c.version)
                                         .where(cases.c.id.in_(ids)))).all())
    script = tmp_path / "officer.py"
    script.write_text(WORKER)
    # Each process mixes the district officer and the street's own officer
    # (who may not dispatch, extend, supervise, redo or call back: refused by role).
    codes = ["demo,street01", "demo", "street01,demo", "demo,duban"] * 2
    outs = [tmp_path / f"worker{n}.json" for n in range(WORKERS)]
    procs = [subprocess.Popen(
        [sys.executable, str(script), demo_url, ",".join(map(str, ids)), str(ACTIONS),
         str(1000 + n), codes[n], str(outs[n])], stderr=subprocess.PIPE, text=True)
        for n in range(WORKERS)]
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
    results = [json.loads(out.read_text()) for out in outs]

    attempts = sum(r["attempts"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    successes = [tuple(s[:2]) for r in results for s in r["successes"]]
    refused = Counter()
    for r in results:
        refused.update(r["refused"])
    assert attempts == WORKERS * ACTIONS
    assert not errors, errors[:5]  # every failure is a reported refusal, never a crash
    assert len(successes) + sum(refused.values()) == attempts

    async with demo_db.read() as conn:
        rows = {r["id"]: dict(r) for r in (await conn.execute(
            select(cases).where(cases.c.id.in_(ids)))).mappings()}
        log = [dict(r) for r in (await conn.execute(
            select(events).where(events.c.case_id.in_(ids))
            .order_by(events.c.case_id, events.c.seq))).mappings()]
        audited = dict((await conn.execute(
            select(audit.c.ok, func.count()).where(audit.c.case_id.in_(ids),
                                                   audit.c.what != Action.RECEIVE.value)
            .group_by(audit.c.ok))).all())
        limits = {r.id: (r.sign_limit, r.resolve_limit)
                  for r in (await conn.execute(select(Category.__table__))).all()}

    pairs = [(e["case_id"], e["seq"]) for e in log]
    duplicated = len(pairs) - len(set(pairs))
    assert duplicated == 0
    grown = sum(rows[i]["version"] - start[i] for i in ids)
    appended = {(e["case_id"], e["seq"]) for e in log if e["seq"] > start[e["case_id"]]}
    lost = len(successes) - len(appended & set(successes))
    assert len(set(successes)) == len(successes), "two workers were told they made the same version"
    assert set(successes) == appended, "a success without its event, or an event nobody made"
    assert len(successes) == grown
    assert audited.get(True, 0) == len(successes) and audited.get(False, 0) == sum(refused.values())

    for case_id in ids:
        row = rows[case_id]
        history = [e for e in log if e["case_id"] == case_id]
        assert [e["seq"] for e in history] == list(range(1, row["version"] + 1))
        rebuilt = replay(dict(row) | dict(
            state=State.RECEIVED.value, holder_unit_id=None, holder_person_id=None,
            first_dispatched_at=None, dispatched_at=None, sign_due=None, resolve_due=None,
            signed_at=None, resolved_at=None, closed_at=None, satisfaction=None,
            closure_reason=None, result=None, merged_into_id=None, invalid_reason=None,
            supervise_count=0, return_count=0, redo_count=0, extended_days=0, escalate_count=0),
            history[1:], limits_for(row["urgency"], *limits[row["category_id"]]))
        for field in ("state", "holder_unit_id", "sign_due", "resolve_due", "signed_at",
                      "resolved_at", "closed_at", "satisfaction", "supervise_count",
                      "return_count", "redo_count", "extended_days", "escalate_count"):
            assert rebuilt[field] == row[field], (case_id, field)

    engine = "PostgreSQL" if PG_URL else "SQLite"
    print(f"\nconcurrent officers on {engine}: {WORKERS} processes x {ACTIONS} = {attempts} actions "
          f"on {CASES} cases; {len(successes)} succeeded, {refused.get('refused.stale', 0)} conflicts "
          f"(stale version) reported, other refusals {dict(refused - Counter({'refused.stale': refused['refused.stale']}))}; "
          f"lost updates {lost}, duplicated events {duplicated}, cases lost {CASES - len(rows)}")
    assert refused["refused.stale"] > 0, "no conflict happened: the test did not test concurrency"
    assert len(successes) > attempts // 10
