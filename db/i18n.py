"""The one translation layer: every interface string, in Chinese and in English.

Each module declares the strings it shows with ``catalog({...})``, next to the
code that uses them; ``t(key)`` looks a key up in the current language.  A key
is declared once, with both languages, so a catalog can never be incomplete.
"""
from __future__ import annotations

import locale
import os
import string

LANGUAGES = ("zh", "en")
_entries: dict[str, tuple[str, str]] = {}
_lang = "zh"


def catalog(entries: dict[str, tuple[str, str]]) -> None:
    """Declare strings: ``{"key": ("中文", "English")}``."""
    for key, pair in entries.items():
        zh, en = pair
        if not zh or not en:
            raise ValueError(f"string {key!r} lacks a language")
        if _fields(zh) != _fields(en):
            raise ValueError(f"string {key!r}: placeholders differ between zh and en")
        if key in _entries and _entries[key] != pair:
            raise ValueError(f"string {key!r} declared twice")
        _entries[key] = pair


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def t(key: str, /, **values: object) -> str:
    zh, en = _entries[key]
    text = zh if _lang == "zh" else en
    return text.format(**values) if values else text


def set_language(lang: str) -> None:
    global _lang
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    _lang = lang


def language() -> str:
    return _lang


def language_from_locale() -> str:
    """Chinese first: English only when the locale says a non-Chinese language."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        if value:
            break
    else:
        value = locale.getlocale()[0] or ""
    value = value.lower()
    if not value or value in ("c", "posix") or value.startswith(("c.", "zh")):
        return "zh"
    return "en"


def all_entries() -> dict[str, tuple[str, str]]:
    return dict(_entries)
