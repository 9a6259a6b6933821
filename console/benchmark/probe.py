"""The child processes of ``gridconsole bench``: each prints JSON lines on stdout.

``python -m gridconsole.console.benchmark.probe bare``
    a bare Textual app painting one static line (the floor of a start);
``… console URL OPERATOR``
    the console as ``gridconsole --operator`` starts it (schema check, operator,
    first screen with its data), headless as ``run_test`` drives it;
``… dispatch URL OPERATOR ID,ID,…``
    the console dispatching each case from the queue; one line per dispatch;
``… grid URL OPERATOR N``
    the grid screen opened and one street expanded, N times; one line each;
``… live URL OPERATOR N``
    the console watching the database; one line per headline refresh, N times.

The parent notes the wall-clock time before it starts a child; the child
prints the wall-clock time when its screen has painted, so the difference is
the whole start: interpreter, imports, database, first page.
"""
from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

SIZE = (120, 40)
SETTLE_S = 60        # a first screen that takes longer than this is reported as such
POLL_S = 0.002


def peak_rss_mb() -> float:
    """This process's peak resident memory.  Linux keeps ru_maxrss across exec,
    so a child would report its parent's peak: VmHWM belongs to this image."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def say(**values) -> None:
    """One JSON line; ``cpu`` is this process's CPU seconds so far, which a
    loaded machine stretches far less than wall-clock time."""
    values.setdefault("rss_mb", peak_rss_mb())
    values.setdefault("cpu", time.process_time())
    print(json.dumps(values, ensure_ascii=False, default=str), flush=True)


async def bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Bare(App):
        def compose(self) -> ComposeResult:
            yield Static("gridconsole")

    async with Bare().run_test(size=SIZE) as pilot:
        await pilot.pause()
        say(painted=time.time(), screen="Static")


async def _settled(app, pilot, waiting: tuple[str, ...] = ("watch",)) -> bool:
    """Wait until the screen's own workers (page, detail, tree…) are done, then
    for Textual to process what they posted and refresh.  Workers of the
    ``waiting`` groups never finish on their own (the watcher; a form open)."""
    def busy() -> bool:
        return any(w.group not in waiting and not w.is_finished for w in app.workers)

    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        if not busy() and app.screen.is_mounted:
            await pilot.pause()
            if not busy():
                return True
        await asyncio.sleep(POLL_S)
    return False


def _rows(screen) -> int | None:
    from textual.widgets import DataTable

    tables = list(screen.query(DataTable))
    return sum(t.row_count for t in tables) if tables else None


async def _open(url: str, operator: str):
    """What ``gridconsole --operator`` does before the app: schema check, operator."""
    from ...db.engine import Database
    from ...db.schema import upgrade
    from ...db.workflow import load_actor

    db = Database(url)
    try:
        await upgrade(db)
        return await load_actor(db, operator)
    finally:
        await db.dispose()


async def console(url: str, operator: str) -> None:
    actor = await _open(url, operator)
    opened = time.time()
    from ..app import GridConsole

    app = GridConsole(url, actor, watch=False)
    imported = time.time()
    async with app.run_test(size=SIZE) as pilot:
        mounted = time.time()
        settled = await _settled(app, pilot)
        say(painted=time.time(), screen=type(app.screen).__name__, rows=_rows(app.screen),
            settled=settled, opened=opened, imported=imported, mounted=mounted)


async def live(url: str, operator: str, count: int) -> None:
    actor = await _open(url, operator)
    from ..app import GridConsole

    app = GridConsole(url, actor, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(app, pilot)
        shown = app.headline
        say(ready=time.time())
        seen = 0
        deadline = time.monotonic() + 30 * count
        while seen < count and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
            if app.headline is not shown:  # refresh_headline assigns a new value
                shown = app.headline
                seen += 1
                say(changed=time.time(), received=getattr(shown, "received", None))


async def dispatch(url: str, operator: str, ids: str) -> None:
    """For each case of ``ids`` (received): select it in the queue, open the
    holder picker with ``a``, wait for its list, then time Enter until the queue
    shows the row as dispatched again, with every worker done and painted."""
    actor = await _open(url, operator)
    from ...db.casefilter import CaseFilter
    from ..app import GridConsole
    from ..messages import FilterRequested
    from ..screens.forms import HolderPicker
    from ..screens.queue import QueueScreen

    wanted = [int(i) for i in ids.split(",")]
    app = GridConsole(url, actor, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(app, pilot)
        queue = app.screen
        if not isinstance(queue, QueueScreen):
            say(error=f"the first screen is {type(queue).__name__}, not the queue")
            return
        # include_closed sorts by id, a key a dispatch does not change: under the
        # deadline sort the dispatched row moves above the window's start key.
        queue.post_message(FilterRequested(CaseFilter(case_ids=tuple(wanted), include_closed=True,
                                                      title="bench")))
        await _settled(app, pilot)
        for case_id in wanted:
            queue.table.move_cursor(row=queue.order.index(case_id))
            await _settled(app, pilot)
            await pilot.press("a")
            await _settled(app, pilot, waiting=("watch", "form"))  # the picker waits for us
            if not isinstance(app.screen, HolderPicker) or not app.screen.choices:
                say(error=f"no holder picker with choices for case {case_id}")
                return
            # Watched from a task: pilot.press returns only once the app has been
            # idle (or after a second), which would add to the figure.
            started, cpu = time.perf_counter(), time.process_time()
            shown = asyncio.create_task(_shown(queue, case_id))
            await pilot.press("enter")
            seconds = await asyncio.wait_for(shown, SETTLE_S) - started
            cpu = time.process_time() - cpu
            await _settled(app, pilot)
            say(seconds=seconds, case=case_id, cpu=cpu)


async def grid(url: str, operator: str, runs: str) -> None:
    """The grid screen (key 2): its opening until the tree shows its figures
    (the first time with the screen's mount, then coming back from the queue),
    and the expansion of one street (right arrow) until its children show.
    Each ends when Textual is idle again, so it includes its idle detection."""
    actor = await _open(url, operator)
    from ..app import GridConsole
    from ..screens.grid import GridScreen

    app = GridConsole(url, actor, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(app, pilot)
        for _ in range(int(runs)):
            started, cpu = time.perf_counter(), time.process_time()
            await pilot.press("2")
            await _settled(app, pilot)
            screen = app.screen
            if not isinstance(screen, GridScreen) or not screen.ready.is_set():
                say(error=f"key 2 shows {type(screen).__name__}, not a loaded grid screen")
                return
            opened, opened_cpu = time.perf_counter() - started, time.process_time() - cpu
            street = next((node for ref, node in screen.tree_nodes.items()
                           if node.parent is not None and node.parent.data is not None
                           and node.parent.data.ref == screen.roots[0].ref), None)
            if street is None:
                say(error="no street under the district in the grid tree")
                return
            if street.is_expanded:
                street.collapse()
                await _settled(app, pilot)
            screen.tree.move_cursor(street)
            await _settled(app, pilot)
            started, cpu = time.perf_counter(), time.process_time()
            await pilot.press("right")
            await _settled(app, pilot)
            expanded, expanded_cpu = time.perf_counter() - started, time.process_time() - cpu
            street = screen.tree_nodes[street.data.ref]
            if not street.children:
                say(error="the street shows no children after the right arrow")
                return
            say(opened=opened, opened_cpu=opened_cpu, expanded=expanded, expanded_cpu=expanded_cpu)
            await pilot.press("1")
            await _settled(app, pilot)


async def _shown(queue, case_id: int) -> float:
    """When the queue's table holds the case as dispatched (its cells are set in
    the same step; the screen paints them on its next refresh)."""
    while queue.rows.get(case_id, {}).get("state") != "dispatched":
        await asyncio.sleep(POLL_S)
    return time.perf_counter()


def main(argv: list[str]) -> None:
    mode, *rest = argv
    if mode == "bare":
        asyncio.run(bare())
    elif mode == "console":
        asyncio.run(console(*rest))
    elif mode == "grid":
        asyncio.run(grid(*rest))
    elif mode == "dispatch":
        asyncio.run(dispatch(*rest))
    elif mode == "live":
        asyncio.run(live(rest[0], rest[1], int(rest[2])))
    else:
        raise SystemExit(f"unknown probe {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
