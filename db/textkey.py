"""Pinyin search keys: full pinyin and initials of names and addresses,
so ``/lcgc`` or ``/longshan`` finds 龙山街道古城社区."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=200_000)
def _one(text: str) -> tuple[str, str]:
    # Imported here: its dictionaries take half a second, which the console's
    # start should not pay before the first case is written.
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, errors="ignore")
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(syllables).lower(), "".join(initials).lower()


def initials(text: str) -> str:
    return _one(text)[1]


def pinyin_key(*parts: str | None) -> str:
    """One lowercase string to match with LIKE: each part's pinyin and initials."""
    out = []
    for part in parts:
        if part:
            full, first = _one(part)
            out.append(f"{full} {first}")
    return " ".join(out)
