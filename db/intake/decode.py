"""Opening an outside file as text: UTF-8 (with or without BOM) or GB18030.

Bytes that do not decode are kept as lone surrogates (``surrogateescape``),
so the record holding them is rejected alone instead of the whole file.
"""
from __future__ import annotations

import codecs
import io
import re
from pathlib import Path
from typing import BinaryIO

from ..text import CONTROL, UNSTORABLE, strip_controls

SAMPLE_BYTES = 256 * 1024
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def sniff_encoding(sample: bytes) -> str:
    """``utf-8-sig`` or ``gb18030``: whichever reads the sample as more text.

    Chinese in GB18030 almost never forms valid UTF-8 sequences, while a UTF-8
    file with a few damaged bytes still decodes mostly cleanly as UTF-8.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    text = sample.decode("utf-8", errors="surrogateescape")
    bad = len(_UNDECODABLE.findall(text))
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return "utf-8-sig" if good >= bad else "gb18030"


def open_text(path: Path) -> tuple[io.TextIOWrapper, BinaryIO]:
    """The file as a text stream (newlines untranslated, as ``csv`` wants) and
    the binary file under it, whose position tells the progress."""
    raw = open(path, "rb")
    try:
        encoding = sniff_encoding(raw.read(SAMPLE_BYTES))
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    return io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline=""), raw


_SUSPECT = re.compile(CONTROL.pattern + "|" + UNSTORABLE.pattern)


def clean_fields(fields: dict[str, str]) -> dict[str, str] | None:
    """``fields`` stored as given minus control characters (the CR of a CRLF
    included), or None when one holds undecodable bytes or another lone
    surrogate (a JSON escape).  Most records need nothing, and one search over
    all their text says so."""
    if _SUSPECT.search("\n".join(fields.values())) is None:
        return fields
    if any(UNSTORABLE.search(value) for value in fields.values()):
        return None
    return {name: strip_controls(value) for name, value in fields.items()}
