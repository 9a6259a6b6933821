"""What the readers hand to validation: a record, or a rejection of one."""
from __future__ import annotations

from dataclasses import dataclass

from ..i18n import catalog, t


@dataclass(slots=True)
class Record:
    """One request as the file spelled it (strings, or JSON values)."""
    line: int
    channel: str
    fields: dict


class Rejection:
    """A row left out, with one reason; ``code`` is stable, ``reason`` is read."""
    __slots__ = ("line", "code", "values")

    def __init__(self, line: int, code: str, **values: object) -> None:
        self.line, self.code, self.values = line, code, values

    @property
    def reason(self) -> str:
        return t(f"intake.reason.{self.code}", **self.values)

    def __repr__(self) -> str:
        return f"Rejection({self.line}, {self.code!r}, {self.values!r})"

    def as_json(self) -> dict:
        return {"line": self.line, "reason": self.reason}


catalog({
    "intake.reason.bad_date": ("时间无效：{value}", "bad date: {value}"),
    "intake.reason.unknown_category": ("未知的诉求类别：{value}", "unknown category: {value}"),
    "intake.reason.empty_content": ("诉求内容为空", "empty content"),
    "intake.reason.missing_id": ("缺少工单编号", "missing id"),
    "intake.reason.duplicate_in_file": ("文件内工单编号重复：{value}（首次出现在第 {first} 行）",
                                        "duplicate id inside the file: {value} (first on line {first})"),
    "intake.reason.too_long": ("字段过长：{field} 超过 {limit} 个字符",
                               "field too long: {field} exceeds {limit} characters"),
    "intake.reason.undecodable": ("含有无法解码的字节或无法存储的字符",
                                  "undecodable bytes or characters that cannot be stored"),
    "intake.reason.bad_urgency": ("紧急程度无效：{value}", "bad urgency: {value}"),
    "intake.reason.bad_channel": ("来源渠道无效：{value}", "bad channel: {value}"),
    "intake.reason.bad_csv": ("CSV 格式错误：{detail}", "malformed CSV: {detail}"),
    "intake.reason.bad_json": ("JSON 格式错误，其后内容未读取：{detail}",
                               "malformed JSON, nothing after it was read: {detail}"),
    "intake.reason.not_object": ("不是一个服务请求对象", "not a service request object"),
})
