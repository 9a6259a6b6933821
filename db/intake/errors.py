"""The one failure that stops an import: the file as a whole cannot be read."""
from __future__ import annotations


class IntakeError(Exception):
    """Unreadable input (exit code 2): no rows were taken from it."""
