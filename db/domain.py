"""The vocabulary of the command center: states, actions, channels, roles.

Every value is stored in the database as its English code and shown through
``label()`` in the operator's language.
"""
from __future__ import annotations

from enum import StrEnum

from .i18n import catalog, t


class Labelled(StrEnum):
    @property
    def label(self) -> str:
        return t(f"{type(self).__name__}.{self.value}")


class State(Labelled):
    RECEIVED = "received"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    INVALID = "invalid"
    MERGED = "merged"


OPEN_STATES = (State.RECEIVED, State.DISPATCHED, State.IN_PROGRESS, State.RESOLVED)
#: States in which a holder unit owes a result by a deadline.
HELD_STATES = (State.DISPATCHED, State.IN_PROGRESS)
FINAL_STATES = (State.CLOSED, State.INVALID, State.MERGED)


class Action(Labelled):
    RECEIVE = "receive"
    DISPATCH = "dispatch"
    DIRECT = "direct"
    INVALIDATE = "invalidate"
    MERGE = "merge"
    SIGN = "sign"
    RETURN = "return"
    SUBDISPATCH = "subdispatch"
    ESCALATE = "escalate"
    EXTEND = "extend"
    SUPERVISE = "supervise"
    RESOLVE = "resolve"
    REDO = "redo"
    CALLBACK = "callback"
    NOTE = "note"


S = State
#: action -> (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[Action, tuple[tuple[State, ...], State | None]] = {
    Action.DISPATCH: ((S.RECEIVED,), S.DISPATCHED),
    Action.DIRECT: ((S.RECEIVED,), S.RESOLVED),
    Action.INVALIDATE: ((S.RECEIVED,), S.INVALID),
    Action.MERGE: ((S.RECEIVED, S.DISPATCHED), S.MERGED),
    Action.SIGN: ((S.DISPATCHED,), S.IN_PROGRESS),
    Action.RETURN: ((S.DISPATCHED,), S.RECEIVED),
    Action.SUBDISPATCH: ((S.DISPATCHED, S.IN_PROGRESS), S.DISPATCHED),
    Action.ESCALATE: ((S.DISPATCHED, S.IN_PROGRESS), S.DISPATCHED),
    Action.EXTEND: ((S.DISPATCHED, S.IN_PROGRESS), None),
    Action.SUPERVISE: ((S.RECEIVED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED), None),
    Action.RESOLVE: ((S.IN_PROGRESS,), S.RESOLVED),
    Action.REDO: ((S.RESOLVED, S.CLOSED), S.IN_PROGRESS),
    Action.CALLBACK: ((S.RESOLVED,), S.CLOSED),
    Action.NOTE: (tuple(State), None),
}
del S


def allowed_actions(state: State) -> list[Action]:
    return [a for a, (sources, _) in TRANSITIONS.items() if state in sources]


class Channel(Labelled):
    GRID_APP = "grid_app"
    HOTLINE = "hotline"
    PETITION = "petition"
    OPINION = "opinion"
    CITY_MGMT = "city_mgmt"
    TOWN_CALL = "town_call"
    HELP = "help"


class Urgency(Labelled):
    CRITICAL = "critical"
    URGENT = "urgent"
    NORMAL = "normal"


URGENCY_RANK = {Urgency.CRITICAL: 0, Urgency.URGENT: 1, Urgency.NORMAL: 2}


class ClosureReason(Labelled):
    SOLVED = "solved"
    ANSWERED = "answered"
    UNTRUE = "untrue"
    NOT_OURS = "not_ours"


class Satisfaction(Labelled):
    SATISFIED = "satisfied"
    BASICALLY = "basically"
    UNSATISFIED = "unsatisfied"
    UNREACHABLE = "unreachable"


class UnitKind(Labelled):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    ZONE = "zone"
    DEPARTMENT = "department"
    STATION = "station"


#: Units a 吹哨 may reach outside the holder's own chain, and the only ones
#: that may assist (协办) it: the district's departments and police stations.
ESCALATION_KINDS = frozenset({UnitKind.DEPARTMENT, UnitKind.STATION})


class GridKind(Labelled):
    BASIC = "basic"
    FUNCTIONAL = "functional"
    PROFESSIONAL = "professional"


class PersonRole(Labelled):
    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    INSTRUCTOR = "instructor"
    BUILDING_LEADER = "building_leader"
    UNIT_LEADER = "unit_leader"
    LIAISON = "liaison"


class Role(Labelled):
    DISTRICT_OFFICER = "district_officer"
    STREET_OFFICER = "street_officer"
    DEPT_LIAISON = "dept_liaison"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


_A = Action
#: What each role may do.  The district center may also record a holder's
#: action on its behalf (代办): the event names the officer who did it.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.DISTRICT_OFFICER: frozenset(Action),
    # A street center registers what reaches it directly (镇呼区应).
    Role.STREET_OFFICER: frozenset({_A.RECEIVE, _A.SIGN, _A.RETURN, _A.SUBDISPATCH,
                                    _A.ESCALATE, _A.RESOLVE, _A.NOTE}),
    Role.DEPT_LIAISON: frozenset({_A.SIGN, _A.RETURN, _A.SUBDISPATCH, _A.RESOLVE, _A.NOTE,
                                  _A.ESCALATE}),
    Role.SUPERVISOR: frozenset({_A.SUPERVISE, _A.NOTE}),
    Role.VIEWER: frozenset(),
}
del _A

catalog({
    "State.received": ("待受理", "Received"),
    "State.dispatched": ("待签收", "Dispatched"),
    "State.in_progress": ("处置中", "In progress"),
    "State.resolved": ("已办结", "Resolved"),
    "State.closed": ("已结案", "Closed"),
    "State.invalid": ("不予受理", "Invalid"),
    "State.merged": ("已合并", "Merged"),
    "Action.receive": ("受理登记", "Receive"),
    "Action.dispatch": ("派单", "Dispatch"),
    "Action.direct": ("直办", "Direct answer"),
    "Action.invalidate": ("不予受理", "Invalidate"),
    "Action.merge": ("合并", "Merge"),
    "Action.sign": ("签收", "Sign"),
    "Action.return": ("退单", "Return"),
    "Action.subdispatch": ("下派", "Subdispatch"),
    "Action.escalate": ("吹哨", "Escalate"),
    "Action.extend": ("延期", "Extend"),
    "Action.supervise": ("督办", "Supervise"),
    "Action.resolve": ("办结", "Resolve"),
    "Action.redo": ("重办", "Redo"),
    "Action.callback": ("回访", "Callback"),
    "Action.note": ("备注", "Note"),
    "Channel.grid_app": ("网格通", "Grid app"),
    "Channel.hotline": ("12345热线", "12345 hotline"),
    "Channel.petition": ("信访", "Petition"),
    "Channel.opinion": ("网络舆情", "Online opinion"),
    "Channel.city_mgmt": ("数字城管", "City management"),
    "Channel.town_call": ("镇呼区应", "Town calls"),
    "Channel.help": ("小墨帮办", "Citizen help"),
    "Urgency.critical": ("特急", "Critical"),
    "Urgency.urgent": ("紧急", "Urgent"),
    "Urgency.normal": ("一般", "Normal"),
    "ClosureReason.solved": ("已解决", "Solved"),
    "ClosureReason.answered": ("已答复未解决", "Answered, unsolved"),
    "ClosureReason.untrue": ("不属实", "Untrue"),
    "ClosureReason.not_ours": ("非本级职责", "Not our remit"),
    "Satisfaction.satisfied": ("满意", "Satisfied"),
    "Satisfaction.basically": ("基本满意", "Basically satisfied"),
    "Satisfaction.unsatisfied": ("不满意", "Unsatisfied"),
    "Satisfaction.unreachable": ("未联系上", "Not reached"),
    "UnitKind.district": ("区", "District"),
    "UnitKind.street": ("镇街", "Street/town"),
    "UnitKind.community": ("社区/村居", "Community/village"),
    "UnitKind.grid": ("网格", "Grid"),
    "UnitKind.zone": ("功能区", "Functional area"),
    "UnitKind.department": ("部门", "Department"),
    "UnitKind.station": ("站所", "Station"),
    "GridKind.basic": ("基础网格", "Basic grid"),
    "GridKind.functional": ("功能区专属网格", "Functional-area grid"),
    "GridKind.professional": ("部门专业网格", "Department grid"),
    "PersonRole.grid_worker": ("网格员", "Grid worker"),
    "PersonRole.grid_leader": ("网格长", "Grid leader"),
    "PersonRole.instructor": ("网格指导员", "Grid instructor"),
    "PersonRole.building_leader": ("楼长", "Building leader"),
    "PersonRole.unit_leader": ("单元长", "Unit leader"),
    "PersonRole.liaison": ("联络员", "Liaison"),
    "Role.district_officer": ("区值班员", "District duty officer"),
    "Role.street_officer": ("镇街值班员", "Street duty officer"),
    "Role.dept_liaison": ("部门联络员", "Department liaison"),
    "Role.supervisor": ("督查员", "Supervisor"),
    "Role.viewer": ("大屏只读", "Wall viewer"),
})
