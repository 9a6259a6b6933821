"""Who may see which case (按需鉴权共享).  One definition, used by every query
and every workflow function, so no screen can widen it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_, select, true

from .domain import ROLE_ACTIONS, Action, Role, UnitKind
from .models import Case, CaseAssist, Unit

cases, units, assists = Case.__table__, Unit.__table__, CaseAssist.__table__


@dataclass(frozen=True)
class Actor:
    """An operator as the domain sees it: who, in which role, over which area."""
    id: int | None
    code: str
    name: str
    role: Role
    scope_unit_id: int | None = None
    scope_kind: str | None = None

    def may(self, action: Action) -> bool:
        return action in ROLE_ACTIONS[self.role]


def case_scope(actor: Actor) -> ColumnElement[bool]:
    """The cases ``actor`` may see, as a WHERE clause over ``cases``."""
    unit, kind = actor.scope_unit_id, actor.scope_kind
    if unit is None:
        return true()
    if kind == UnitKind.STREET:
        mine = select(units.c.id).where(units.c.street_id == unit)
        return or_(cases.c.street_id == unit, cases.c.holder_unit_id.in_(mine))
    if kind == UnitKind.COMMUNITY:
        mine = select(units.c.id).where(units.c.community_id == unit)
        return or_(cases.c.community_id == unit, cases.c.holder_unit_id.in_(mine))
    # A department, a zone or a station: the unit and the units directly under it.
    mine = select(units.c.id).where(or_(units.c.id == unit, units.c.parent_id == unit))
    clause = or_(cases.c.holder_unit_id.in_(mine), cases.c.grid_id.in_(mine),
                 exists().where(assists.c.case_id == cases.c.id, assists.c.unit_id.in_(mine)))
    return clause


def unit_scope(actor: Actor) -> ColumnElement[bool]:
    """The units of the area tree ``actor`` may see."""
    unit, kind = actor.scope_unit_id, actor.scope_kind
    if unit is None:
        return true()
    if kind == UnitKind.STREET:
        return units.c.street_id == unit
    if kind == UnitKind.COMMUNITY:
        return units.c.community_id == unit
    return or_(units.c.id == unit, units.c.parent_id == unit)
