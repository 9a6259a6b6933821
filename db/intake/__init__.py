"""Intake from other systems: the 12345 hotline CSV and Open311 JSON.

``import_file`` streams a file through a reader (records with line numbers),
validation (a case row, or one reason to reject) and batched, idempotent
storing; memory stays flat whatever the file's size.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import clock
from ..domain import Action
from ..engine import Database
from ..i18n import catalog, t
from ..lifecycle import Refused
from ..scope import Actor
from .decode import open_text
from .errors import IntakeError
from .hotline import read_hotline
from .open311 import read_open311
from .records import Rejection
from .store import store_batch
from .validate import Reference, Validator

FORMATS = {"hotline-csv": read_hotline, "open311-json": read_open311}
EXTENSIONS = {".csv": "hotline-csv", ".json": "open311-json"}
BATCH = 5000
YIELD_EVERY = 250
Progress = Callable[[int, int], None]

__all__ = ["FORMATS", "ImportResult", "IntakeError", "detect_format", "import_file"]


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"imported": self.imported, "duplicates": self.duplicates,
                "rejected": [r.as_json() for r in self.rejected]}

    def summary(self) -> str:
        return t("intake.summary", imported=self.imported, duplicates=self.duplicates,
                 rejected=len(self.rejected))


def detect_format(path: Path) -> str:
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise IntakeError(t("intake.error.format", name=path.name)) from None


async def import_file(db: Database, path: Path | str, fmt: str | None = None, *,
                      actor: Actor | None = None, progress: Progress | None = None,
                      batch: int = BATCH) -> ImportResult:
    """Import one file; rows already stored (same channel and id) count as duplicates.
    ``actor`` is the officer importing (None: a channel's own unattended intake)."""
    if actor is not None and not actor.may(Action.RECEIVE):
        raise Refused("refused.role", role=actor.role.label, action=Action.RECEIVE.label)
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise IntakeError(t("intake.error.format", name=fmt))
    try:
        text, raw = open_text(path)
        size = path.stat().st_size
    except OSError as exc:
        raise IntakeError(t("intake.error.open", name=str(path), detail=exc.strerror or exc)) from None
    result = ImportResult()
    validate = Validator(await Reference.load(db), clock.now())
    rows: list[dict] = []
    writing: asyncio.Task | None = None

    async def written() -> None:
        """Wait for the batch being written; batches commit one after another."""
        if writing is not None:
            imported, duplicates = await writing
            result.imported += imported
            result.duplicates += duplicates
            if progress:
                progress(raw.tell(), size)

    with text:
        try:
            for item in FORMATS[fmt](text):
                outcome = item if isinstance(item, Rejection) else validate(item)
                if isinstance(outcome, Rejection):
                    result.rejected.append(outcome)
                    continue
                rows.append(outcome)
                if len(rows) % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the writing batch take its next step
                if len(rows) >= batch:
                    # The driver writes one batch (off the GIL) while the next is parsed.
                    await written()
                    writing = asyncio.create_task(store_batch(db, rows, actor, path.name))
                    rows = []
            await written()
            writing = asyncio.create_task(store_batch(db, rows, actor, path.name))
            await written()
        except BaseException:
            if writing is not None and not writing.done():
                writing.cancel()
            raise
    return result


catalog({
    "intake.summary": ("导入 {imported} 件，重复 {duplicates} 件，拒收 {rejected} 行",
                       "imported {imported}, duplicates {duplicates}, rejected {rejected} rows"),
    "intake.error.format": ("无法识别的文件格式：{name}（可用 --format hotline-csv 或 open311-json）",
                            "unknown file format: {name} (use --format hotline-csv or open311-json)"),
    "intake.error.open": ("无法读取 {name}：{detail}", "cannot read {name}: {detail}"),
    "intake.error.empty": ("文件为空", "the file is empty"),
    "intake.error.csv": ("第 {line} 行 CSV 格式错误：{detail}", "malformed CSV on line {line}: {detail}"),
    "intake.error.headers": ("缺少必需的列：{names}", "required columns missing: {names}"),
    "intake.error.not_list": ("不是 Open311 服务请求列表（应以 [ 开头）",
                              "not a list of Open311 service requests (should start with [)"),
    "intake.error.truncated": ("文件意外结束", "unexpected end of file"),
    "intake.error.json_number": ("数字过长", "a number too long"),
    "intake.error.json_depth": ("嵌套层数过多", "nested too deeply"),
})
