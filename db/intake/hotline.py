"""The 12345 hotline CSV (DESIGN.md §5): Chinese or English headers, streamed."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from ..i18n import t
from .decode import clean_fields
from .errors import IntakeError
from .records import Record, Rejection

#: header (Chinese or English) -> field of a Record
HEADERS = {
    "工单编号": "id", "ticket_no": "id",
    "来电时间": "reported_at", "received_at": "reported_at",
    "来电人": "caller", "caller": "caller",
    "联系电话": "phone", "phone": "phone",
    "诉求类别": "category", "category": "category",
    "诉求内容": "content", "content": "content",
    "发生地址": "address", "address": "address",
    "所属街道": "street", "street": "street",
    "紧急程度": "urgency", "urgency": "urgency",
}
REQUIRED = ("id", "reported_at", "category", "content")
csv.field_size_limit(1 << 24)  # one long field is a rejection, not a crash


def read_hotline(stream: io.TextIOBase) -> Iterator[Record | Rejection]:
    """Records and rejections in file order; ``line`` is where a record starts."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise IntakeError(t("intake.error.empty")) from None
    except csv.Error as exc:
        raise IntakeError(t("intake.error.csv", line=reader.line_num, detail=str(exc))) from None
    fields = [HEADERS.get(name.strip().lstrip("\ufeff").lower()) for name in header]
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise IntakeError(t("intake.error.headers", names=", ".join(missing)))
    columns = [(index, name) for index, name in enumerate(fields) if name]
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a NUL byte: this record only
            yield Rejection(line, "bad_csv", detail=str(exc))
            continue
        if not values or values == [""]:
            continue
        width = len(values)
        record = clean_fields({name: values[index] for index, name in columns if index < width})
        yield Rejection(line, "undecodable") if record is None else Record(line, "hotline", record)
