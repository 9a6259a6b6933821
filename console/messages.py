"""Messages the app posts to its screens (named in the past tense)."""
from __future__ import annotations

from textual.message import Message


class DataChanged(Message):
    """Another terminal, the importer or the feed committed something."""


class FilterRequested(Message):
    """Show the queue restricted to ``case_filter`` (a drill-down)."""

    def __init__(self, case_filter) -> None:
        super().__init__()
        self.case_filter = case_filter
