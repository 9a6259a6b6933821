"""Text from outside (callers, files, other systems, officers' notes) is
stored as given, minus the control characters a terminal would act on.
Tab and newline are text; ESC, NUL, the C1 range and the like are not."""
from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(value: str) -> str:
    return CONTROL.sub("", value)
