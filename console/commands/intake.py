"""``gridconsole import FILE``: cases from the 12345 hotline CSV or Open311 JSON."""
from __future__ import annotations

import json
from pathlib import Path

from ...db.i18n import catalog, t
from ...db.intake import FORMATS, IntakeError, import_file
from ..cli import EXIT_OK, EXIT_PARTIAL, UsageError, logged_in, open_database
from ..progress import progress_bar


def add_parser(sub, common) -> None:
    parser = sub.add_parser("import", parents=[common],
                            help="import cases from a 12345 hotline CSV or an Open311 JSON file")
    parser.add_argument("file", metavar="FILE", type=Path)
    parser.add_argument("--format", choices=sorted(FORMATS),
                        help="file format (default: from the extension, .csv or .json)")
    parser.add_argument("--json", action="store_true",
                        help='print {"imported", "duplicates", "rejected": [{"line", "reason"}]}')
    parser.set_defaults(func=run)


async def run(args) -> int:
    if not args.file.is_file():
        raise UsageError(t("intake.error.open", name=str(args.file), detail=t("intake.cli.no_file")))
    db = await open_database(args)
    try:
        actor = await logged_in(db, args)
        with progress_bar(t("intake.cli.progress", name=args.file.name)) as update:
            result = await import_file(db, args.file, args.format, actor=actor, progress=update)
    except IntakeError as exc:
        raise UsageError(str(exc)) from None
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        print(result.summary())
        for rejection in result.rejected:
            print(t("intake.cli.rejected", line=rejection.line, reason=rejection.reason))
    return EXIT_PARTIAL if result.rejected else EXIT_OK


catalog({
    "intake.cli.no_file": ("文件不存在", "no such file"),
    "intake.cli.progress": ("导入 {name}", "Importing {name}"),
    "intake.cli.rejected": ("  第 {line} 行：{reason}", "  line {line}: {reason}"),
})
