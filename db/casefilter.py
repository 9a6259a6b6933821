"""What a list of cases is restricted to: the queue's filters, and every
drill-down from the grid tree or the statistics, as one value."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CaseFilter:
    states: tuple[str, ...] = ()          # empty: the open states (OPEN_STATES)
    include_closed: bool = False          # True: every state (drill-down from statistics)
    channels: tuple[str, ...] = ()
    category_ids: tuple[int, ...] = ()    # a parent category includes its children
    urgencies: tuple[str, ...] = ()
    area_id: int | None = None            # street, community, grid, zone or department subtree
    holder_unit_id: int | None = None
    overdue_only: bool = False
    unassigned_only: bool = False
    supervised_only: bool = False
    created_from: datetime | None = None  # [from, to) in UTC
    created_to: datetime | None = None
    phone: str | None = None              # repeat complaints
    case_ids: tuple[int, ...] = ()        # an explicit set (e.g. a hotspot's cases)
    text: str = ""                        # the / search: id, content, address, reporter, pinyin
    title: str = ""                       # what the officer sees as the filter's name
    extra: dict = field(default_factory=dict, compare=False, hash=False)
