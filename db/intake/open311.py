"""Open311 GeoReport v2 JSON: a list of service requests, read one at a time.

Besides the standard fields, our export writes a few extension fields
(``channel``, ``urgency``, ``street``, ``community``, ``caller``, ``phone``)
so a file exported here reads back unchanged; other systems' files need none
of them (a request without ``channel`` is a 数字城管 case).
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterator

from ..i18n import t
from .decode import clean_fields
from .errors import IntakeError
from .records import Record, Rejection

CHUNK = 64 * 1024
DEFAULT_CHANNEL = "city_mgmt"
#: GeoReport key -> field of a Record
FIELDS = {
    "service_request_id": "id", "requested_datetime": "reported_at",
    "service_code": "category_code", "service_name": "category", "description": "content",
    "address": "address", "channel": "channel", "urgency": "urgency", "street": "street",
    "community": "community", "caller": "caller", "phone": "phone",
}
_WHITESPACE = " \t\r\n"


class _Stream:
    """A text buffer over the file that knows the line of any offset in it."""

    def __init__(self, source: io.TextIOBase) -> None:
        self.source, self.buf, self.pos, self.line, self.eof = source, "", 0, 1, False

    def fill(self) -> bool:
        """Read more; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.source.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0
        return True

    def advance(self, end: int) -> None:
        self.line += self.buf.count("\n", self.pos, end)
        self.pos = end

    def skip_space(self) -> str:
        """The next significant character ('' at the end of the file)."""
        while True:
            end = self.pos
            while end < len(self.buf) and self.buf[end] in _WHITESPACE:
                end += 1
            self.advance(end)
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""


def read_open311(stream: io.TextIOBase) -> Iterator[Record | Rejection]:
    source = _Stream(stream)
    first = source.skip_space()
    if first == "\ufeff":  # a BOM the sniffer did not take
        source.advance(source.pos + 1)
        first = source.skip_space()
    if first != "[":
        raise IntakeError(t("intake.error.not_list"))
    source.advance(source.pos + 1)
    decoder = json.JSONDecoder()
    expect_item = True
    while True:
        char = source.skip_space()
        if char == "]":
            return
        if char == "," and not expect_item:
            source.advance(source.pos + 1)
            expect_item = True
            continue
        if char == "" or not expect_item:
            yield Rejection(source.line, "bad_json", detail=t("intake.error.truncated"))
            return
        line = source.line
        while True:
            # Small reads keep memory flat; a failed parse reads more and retries.
            if len(source.buf) - source.pos < CHUNK:
                source.fill()
            try:
                value, end = decoder.raw_decode(source.buf, source.pos)
                break
            except json.JSONDecodeError as exc:
                if not source.fill():
                    yield Rejection(line, "bad_json", detail=exc.msg)
                    return
            except ValueError:  # more digits than Python converts to an int: more text won't help
                yield Rejection(line, "bad_json", detail=t("intake.error.json_number"))
                return
            except RecursionError:
                yield Rejection(line, "bad_json", detail=t("intake.error.json_depth"))
                return
        source.advance(end)
        expect_item = False
        yield _record(line, value)


def _record(line: int, value) -> Record | Rejection:
    if not isinstance(value, dict):
        return Rejection(line, "not_object")
    fields = {}
    for key, name in FIELDS.items():
        item = value.get(key)
        if item is None:
            continue
        fields[name] = item if isinstance(item, str) else str(item)
    fields = clean_fields(fields)
    if fields is None:
        return Rejection(line, "undecodable")
    return Record(line, fields.pop("channel", DEFAULT_CHANNEL), fields)
