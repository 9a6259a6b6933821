"""Text from outside (callers, files, other systems, officers' notes) is
stored as given, minus the control characters a terminal would act on.
Tab and newline are text; ESC, NUL, the C1 range and the like are not.
Lone surrogates (undecodable bytes kept by ``surrogateescape``, or a JSON
``\\ud800`` escape) are not text at all: no engine can store them."""
from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
UNSTORABLE = re.compile("[\ud800-\udfff]")


def strip_controls(value: str) -> str:
    return CONTROL.sub("", value)
