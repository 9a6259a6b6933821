"""The queue's search fuzzed (issue 9, item 4): ``%``, ``_``, ``\\``, quotes,
markup, controls, any unicode but lone surrogates, and 10,000 characters.

* Searching never raises, on SQLite and PostgreSQL.
* A case whose content, address or caller holds a text (stored through the
  workflow, so minus control characters) is found by searching that text.
* A case whose address holds Chinese is found by the pinyin and by the
  initials of that address (db/textkey.py).

Examples: GRIDCONSOLE_HEAVY=1 runs several times as many.
"""
from __future__ import annotations

import uuid

import pytest
from hypothesis import example, given, strategies as st

from gridconsole.db import workflow as wf
from gridconsole.db.casefilter import CaseFilter
from gridconsole.db.domain import Channel, Urgency
from gridconsole.db.queue import page
from gridconsole.db.text import strip_controls
from gridconsole.db.textkey import initials, pinyin_key

from test_fuzz_intake import CONTROLS, District, fuzz_settings, long_text, piece
from test_hostile import HOSTILE, _area

LIKE = ["%", "_", "\\", "\\%", "\\_", "%%", "_%_", "\\\\", "[%]", "'", '"', "''", "'--", "`", "$1", "?",
        ":name", "%(x)s", "{0}", "*", "^$", ".*"]
search_text = st.one_of(
    st.lists(st.one_of(piece, st.sampled_from(LIKE)), min_size=1, max_size=8).map("".join),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
    long_text.map(lambda s: s[:10_000]),
)
chinese = st.text(st.characters(min_codepoint=0x4e00, max_codepoint=0x9fa5), min_size=1, max_size=12)


@pytest.fixture
def place(demo_url, tmp_path):
    district = District(demo_url, tmp_path)
    district.actor = district.run(wf.load_actor(district.db, "demo"))
    district.area = district.run(_area(district.db))
    yield district
    district.close()


async def receive(place: District, **text) -> int:
    return await wf.receive(place.db, place.actor, channel=Channel.OPINION,
                            source_ref=f"S-{uuid.uuid4().hex}", urgency=Urgency.NORMAL,
                            **{"content": "诉求", **text}, **place.area)


async def found(place: District, text: str, case_id: int | None = None) -> list[int]:
    f = CaseFilter(text=text, case_ids=(case_id,) if case_id else ())
    return [row["id"] for row in await page(place.db, place.actor, f, limit=50)]


def test_search_finds_the_stored_text_and_never_raises(place):
    counted = {"searches": 0, "found": 0}

    @fuzz_settings(40, 300)
    @given(text=search_text, column=st.sampled_from(["content", "address", "reporter_name"]),
           around=st.tuples(st.sampled_from(["", "前", "x"]), st.sampled_from(["", "后", "%"])))
    @example(text="%_\\'\"[/]\x00\x1b[2J", column="content", around=("", ""))
    @example(text="长" * 10_000, column="content", around=("", ""))
    @example(text="👩‍👩‍👧‍👦" * 1428, column="content", around=("a", "b"))  # 9,996 characters
    @example(text="\\" * 10_000, column="content", around=("", ""))
    def check(text, column, around):
        limit = {"content": 20_000, "address": 200, "reporter_name": 40}[column]
        value = (around[0] + text + around[1])[:limit]
        query = strip_controls(text)[:limit - len(around[0])]
        if column == "content" and not strip_controls(value).strip():
            return  # no content at all: the workflow refuses it (test_hostile.py)
        case_id = place.run(receive(place, **{column: value}))
        assert query.strip() in strip_controls(value)
        if query.strip():
            assert place.run(found(place, query, case_id)) == [case_id], (column, query)
            counted["found"] += 1
        place.run(found(place, query))  # over the whole district: never raises
        counted["searches"] += 2

    check()
    print(f"\nsearch fuzz: {counted['searches']} searches, {counted['found']} stored texts found")


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "".join(CONTROLS), "\x1b]52;c;eA==\x07告警"],
                         ids=["nul", "nul-inside", "all-controls", "osc"])
def test_search_with_control_characters_never_raises(place, text):
    """What the queue's search box hands over: its value, controls and all
    (PostgreSQL refuses a NUL in a bound string)."""
    place.run(found(place, text))


@pytest.mark.parametrize("text", ["²", "①"])
def test_search_for_a_digit_that_is_not_a_number(place, text):
    """'²'.isdigit() is true but int('²') fails: such a search is text."""
    case_id = place.run(receive(place, content=f"面积 10{text} 米"))
    assert place.run(found(place, text, case_id)) == [case_id]


def test_search_of_100k_characters(place):
    """SQLite refuses a LIKE pattern over 50,000 bytes: the search is capped."""
    case_id = place.run(receive(place, content="长" * 300))
    assert place.run(found(place, "长" * 300, case_id)) == [case_id]
    assert place.run(found(place, "长" * 100_000, case_id)) == []


def test_search_by_pinyin_and_initials_of_an_address(place):
    counted = {"found": 0}

    @fuzz_settings(25, 200)
    @given(hanzi=chinese, noise=st.lists(st.one_of(st.sampled_from(HOSTILE), piece), max_size=3).map("".join))
    @example(hanzi="龙山街道古城社区", noise="[@click=app.quit]\x1b[31m")
    def check(hanzi, noise):
        address = (noise + hanzi)[-200:]
        case_id = place.run(receive(place, address=address))
        stored = strip_controls(address)
        first = initials(stored)
        full = pinyin_key(stored).rsplit(" ", 1)[0]
        assert first and full  # every character of U+4E00..U+9FA5 has a reading
        for query in (first, full, first.upper()):
            assert place.run(found(place, query, case_id)) == [case_id], (address, query)
        counted["found"] += 1

    check()
    print(f"\npinyin fuzz: {counted['found']} addresses found by initials, by full pinyin and in capitals")
