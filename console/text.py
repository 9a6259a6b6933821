"""Outside text, shown literally: never markup, never escape sequences."""
from __future__ import annotations

from rich.text import Text

from ..db.text import strip_controls


def clean(value: object) -> str:
    """Drop control characters (ESC, OSC, NUL…) that a terminal would act on."""
    return strip_controls("" if value is None else str(value))


def literal(value: object, style: str = "") -> Text:
    """A Rich Text of ``value`` exactly as written: ``[b]`` stays ``[b]``."""
    return Text(clean(value), style=style, no_wrap=False)


def one_line(value: object, width: int) -> str:
    """The first line of ``value`` cut to ``width`` cells (CJK counts as two)."""
    from rich.cells import cell_len, set_cell_size

    text = clean(value).replace("\n", " ").replace("\t", " ")
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"
