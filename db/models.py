"""The schema.  docs/schema.md explains every table and column for auditors.

All timestamps are stored as naive UTC (``UTCDateTime`` makes them aware on
the way out), so SQL over the tables compares like with like on every engine.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text,
    TypeDecorator, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


class Unit(Base):
    """A node of the area tree or an organization that can hold a case."""
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    grid_kind: Mapped[str | None] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    initials: Mapped[str] = mapped_column(String(80), default="")
    street_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (Index("ix_units_kind_parent", "kind", "parent_id"),)


class Person(Base):
    """A grid worker, grid leader, building or unit leader, or a liaison."""
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    initials: Mapped[str] = mapped_column(String(40), default="")
    role: Mapped[str] = mapped_column(String(20))
    full_time: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)


class Operator(Base):
    """A console account: a role and the unit whose subtree it may see."""
    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Category(Base):
    """诉求类别: a tree; leaves carry urgency and routing."""
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    initials: Mapped[str] = mapped_column(String(40), default="")
    default_urgency: Mapped[str] = mapped_column(String(10), default="normal")
    #: 'area' (the unit owning the place), 'department' (route_unit_id) or
    #: 'station' (the police station of the case's street).
    route: Mapped[str] = mapped_column(String(12), default="area")
    route_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    #: Overrides of the urgency defaults, in working days (normal) or hours.
    sign_limit: Mapped[str | None] = mapped_column(String(8))
    resolve_limit: Mapped[str | None] = mapped_column(String(8))


class Case(Base):
    """事件/工单.  ``version`` guards every write against lost updates."""
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))
    source_ref: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    urgency: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    street_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    reporter_name: Mapped[str | None] = mapped_column(String(40))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    search_key: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12))
    holder_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    holder_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    first_dispatched_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    sign_due: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    supervise_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    redo_count: Mapped[int] = mapped_column(Integer, default=0)
    escalate_count: Mapped[int] = mapped_column(Integer, default=0)
    closure_reason: Mapped[str | None] = mapped_column(String(12))
    result: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(12))
    invalid_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    needs_triage_area: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (
        UniqueConstraint("channel", "source_ref", name="uq_cases_channel_source_ref"),
        Index("ix_cases_queue", "state", "resolve_due", "id"),
        Index("ix_cases_street_state", "street_id", "state"),
        Index("ix_cases_community_state", "community_id", "state"),
        Index("ix_cases_grid_state", "grid_id", "state"),
        Index("ix_cases_holder_state", "holder_unit_id", "state"),
        Index("ix_cases_created", "created_at"),
        Index("ix_cases_phone", "reporter_phone", "created_at"),
        Index("ix_cases_category_created", "category_id", "created_at"),
        Index("ix_cases_merged_into", "merged_into_id"),
        Index("ix_cases_updated", "updated_at"),
        # Hotspots and repeat complaints (migration 0004).
        Index("ix_cases_created_repeat", "created_at", "reporter_phone", "community_id",
              "category_id"),
    )


class CaseAssist(Base):
    """协办: units assisting the lead holder after an escalation to departments."""
    __tablename__ = "case_assists"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class CaseEvent(Base):
    """The append-only log: one row per transition.  Statistics derive from it."""
    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime]
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    holder_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    holder_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: The deadline the action answers to (sign deadline on dispatch and sign,
    #: resolve deadline on resolve and extend), so on-time rates are one compare.
    due_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
        Index("ix_case_events_action_at", "action", "at"),
        Index("ix_case_events_at", "at"),
        # Covering indexes for the period statistics (migration 0003).
        Index("ix_case_events_stats", "action", "at", "case_id", "seq", "holder_unit_id", "due_at"),
        Index("ix_case_events_case_seq_stats", "case_id", "seq", "action", "at", "to_state",
              "holder_unit_id", "due_at"),
    )


class ReportSnapshot(Base):
    """A district bulletin counted once (db/snapshots.py): a closed period's
    bulletin, or a running period's tallies as of ``period_end``; triggers
    (migration 0005) delete it when history before ``period_end`` changes."""
    __tablename__ = "report_snapshots"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    first: Mapped[date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[datetime] = mapped_column(index=True)
    formulas: Mapped[int] = mapped_column(Integer)
    extras: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime]
    body: Mapped[dict] = mapped_column(JSON)


class AuditEntry(Base):
    """Append-only audit trail: writes, logins, reveals of personal data, exports."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    operator_code: Mapped[str] = mapped_column(String(32))
    what: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
