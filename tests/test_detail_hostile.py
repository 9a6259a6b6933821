"""Outside text (a citizen's complaint, an address, a name) is shown literally:
markup stays text, escape sequences are dropped, 10,000 characters are cut."""
from __future__ import annotations

from sqlalchemy import select
from textual.widgets import Static

from gridconsole.console.widgets.case_detail import CaseDetail
from gridconsole.db.models import Case
from gridconsole.db.workflow import load_actor, receive

from test_queue_keys import console, show_only, until

HOSTILE = "oops [/] [@click=app.quit]x[/] [b]bold\x1b[31mred\x1b]0;title\x07 " + "长" * 10_000


async def test_hostile_text_is_literal_in_table_and_detail(demo_url, demo_db):
    async with demo_db.read() as conn:
        category = await conn.scalar(select(Case.category_id).limit(1))
    officer = await load_actor(demo_db, "demo")
    case_id = await receive(demo_db, officer, channel="hotline", source_ref="HOSTILE-1",
                            category_id=category, urgency="normal", content=HOSTILE,
                            address="[/]\x1b[2J路", reporter_name="[@click=app.quit]王[/]",
                            reporter_phone="13812345678")
    app = await console(demo_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await show_only(app, pilot, case_id)
        screen = app.screen
        detail = screen.query_one(CaseDetail).query_one("#detail-body", Static)
        await until(pilot, lambda: "oops" in str(detail.render()))
        cell = screen.table.get_row_at(screen.table.cursor_row)[list(screen.table.columns).index("text")]
        assert cell.plain == "oops [/] [@click=app.qu…"
        assert len(cell.plain) <= 24 and "\x1b" not in cell.plain
        shown = detail.render()
        plain = str(shown)
        assert "[@click=app.quit]x[/]" in plain and "[@click=app.quit]王[/]" in plain
        assert "\x1b" not in plain and "\x07" not in plain
        assert "138****5678" in plain and "13812345678" not in plain
        assert not any(span.style and "@click" in str(span.style) for span in shown.spans)
        await pilot.click(CaseDetail, offset=(5, 1))
        await pilot.press("J", "J", "K")
        await pilot.pause(0.2)
        assert app.is_running
