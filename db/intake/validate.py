"""From an outside record to a received case row, or to one reason it is not.

Reference data (categories, streets, communities) is loaded once per import.
Places are found by scanning the address for known names ending at the
characters place names end with, so the cost does not grow with the
district's size.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from .. import clock
from ..domain import Channel
from ..engine import Database
from ..models import Case, Category, Unit
from ..workflow import new_case_row
from .records import Record, Rejection

cases = Case.__table__
#: field -> longest value the database takes (content is Text: a sane cap)
LIMITS = {
    "id": cases.c.source_ref.type.length, "address": cases.c.address.type.length,
    "caller": cases.c.reporter_name.type.length, "phone": cases.c.reporter_phone.type.length,
    "content": 4000,
}
URGENCY_WORDS = {"一般": "normal", "紧急": "urgent", "特急": "critical",
                 "normal": "normal", "urgent": "urgent", "critical": "critical"}
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
#: A record dated this far ahead of the clock is a wrong date, not a future call.
FUTURE_SLACK = timedelta(days=1)


@dataclass
class Reference:
    """The names an outside record may use, mapped to ids."""
    categories: dict[str, tuple[int, str]] = field(default_factory=dict)  # code/name -> (id, default urgency)
    streets: dict[str, tuple[int, str]] = field(default_factory=dict)     # name -> (id, full name)
    places: dict[str, tuple[int, int | None, str, str | None]] = field(default_factory=dict)
    place_ends: frozenset[str] = frozenset()
    place_lengths: tuple[int, ...] = ()

    @classmethod
    async def load(cls, db: Database) -> Reference:
        ref = cls()
        categories, units = Category.__table__, Unit.__table__
        async with db.read() as conn:
            parents = set((await conn.execute(
                select(categories.c.parent_id).where(categories.c.parent_id.is_not(None)))).scalars())
            rows = (await conn.execute(select(categories.c.id, categories.c.code, categories.c.name,
                                              categories.c.default_urgency))).all()
            area = (await conn.execute(
                select(units.c.id, units.c.kind, units.c.name, units.c.street_id)
                .where(units.c.kind.in_(("street", "community")), units.c.active))).all()
        for cid, code, name, urgency in rows:
            if cid not in parents:  # cases are filed under leaf categories
                ref.categories.setdefault(code, (cid, urgency))
                ref.categories.setdefault(name, (cid, urgency))
        street_names = {uid: name for uid, kind, name, _ in area if kind == "street"}
        for uid, name in street_names.items():
            ref.streets[name] = (uid, name)
            short = name.removesuffix("街道").removesuffix("镇")
            if short and short != name:
                ref.streets.setdefault(short, (uid, name))
            ref.places[name] = (uid, None, name, None)
        for uid, kind, name, street in area:
            if kind == "community" and street in street_names:
                ref.places[name] = (street, uid, street_names[street], name)
        ref.place_ends = frozenset(name[-1] for name in ref.places)
        ref.place_lengths = tuple(sorted({len(name) for name in ref.places}, reverse=True))
        return ref

    def find_places(self, address: str) -> tuple[tuple, tuple]:
        """The first street and the first community named in ``address``."""
        street = community = ()
        places, lengths = self.places, self.place_lengths
        for end, char in enumerate(address, 1):
            if char not in self.place_ends:
                continue
            for length in lengths:
                if length <= end and (hit := places.get(address[end - length:end])):
                    if hit[1] is None:
                        street = street or hit
                    else:
                        community = community or hit
                    break
            if community:
                break
        return street, community


def parse_time(value: str, now: datetime) -> datetime | None:
    """Local ``YYYY-MM-DD HH:MM[:SS]`` (Asia/Shanghai) or ISO 8601 with an offset,
    as naive UTC; ``now`` is naive UTC too."""
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        if not _LOCAL.fullmatch(value):  # a date alone, or a compact form: not a call time
            return None
        moment = moment.replace(tzinfo=clock.LOCAL_TZ)
    try:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01 local is before year 1 in UTC
        return None
    return None if moment - now > FUTURE_SLACK else moment


class Validator:
    """Checks records in file order; remembers ids seen, to catch repeats."""

    def __init__(self, ref: Reference, now: datetime) -> None:
        # Naive UTC, as stored: the bulk path writes it without conversions.
        self.ref, self.now = ref, clock.as_utc(now).replace(tzinfo=None)
        self.seen: dict[tuple[str, str], int] = {}
        self.channels = {channel.value: channel for channel in Channel}

    def __call__(self, record: Record) -> dict | Rejection:
        f, line = record.fields, record.line
        key = f.get("id", "").strip()
        if not key:
            return Rejection(line, "missing_id")
        for name, limit in LIMITS.items():
            if len(f.get(name, "")) > limit:
                return Rejection(line, "too_long", field=name, limit=limit)
        channel = self.channels.get(record.channel)
        if channel is None:
            return Rejection(line, "bad_channel", value=record.channel[:40])
        first = self.seen.get((channel, key))
        if first is not None:
            return Rejection(line, "duplicate_in_file", value=key, first=first)
        self.seen[(channel, key)] = line
        reported = parse_time(f.get("reported_at", ""), self.now)
        if reported is None:
            return Rejection(line, "bad_date", value=f.get("reported_at", "")[:40])
        category = self._category(f)
        if category is None:
            return Rejection(line, "unknown_category",
                             value=(f.get("category_code") or f.get("category") or "")[:40])
        content = f.get("content", "").strip()
        if not content:
            return Rejection(line, "empty_content")
        urgency = f.get("urgency", "").strip()
        if urgency:
            urgency = URGENCY_WORDS.get(urgency.lower())
            if urgency is None:
                return Rejection(line, "bad_urgency", value=f["urgency"][:20])
        address = f.get("address", "").strip()
        street, community = self._area(f.get("street", "").strip(),
                                       f.get("community", "").strip(), address)
        # A masked phone (138****5678, from an export) identifies nobody: not stored.
        phone = f.get("phone", "").strip()
        caller = f.get("caller", "").strip()
        row = new_case_row(
            channel=channel, source_ref=key, category_id=category[0],
            urgency=urgency or category[1], content=content, reported_at=reported,
            created_at=self.now, address=address,
            street_id=street[0] if street else None,
            community_id=community[1] if community else None,
            reporter_name=caller or None, reporter_phone=phone if phone and "*" not in phone else None,
            place_names=tuple(p for p in (street and street[2], community and community[3]) if p)
            or (address,))
        # Without a community nobody owns the place yet: the officer picks it at triage.
        row["needs_triage_area"] = community == ()
        return row

    def _category(self, f: dict) -> tuple[int, str] | None:
        categories = self.ref.categories
        for name in ("category_code", "category"):
            value = f.get(name, "").strip()
            if value in categories:
                return categories[value]
        return None

    def _area(self, street_name: str, community_name: str, address: str) -> tuple[tuple, tuple]:
        """(street, community) hits from the street field, the community field and the address."""
        given = self.ref.streets.get(street_name)
        street = self.ref.places.get(given[1]) if given else ()
        community = self.ref.places.get(community_name) or ()
        if community and community[1] is None:
            community = ()
        found_street, found_community = self.ref.find_places(address)
        street = street or found_street
        community = community or found_community
        if community and street and community[0] != street[0]:
            community = ()  # the address contradicts the street: let the officer decide
        return (street or community), community
