"""The incident closed loop as one declarative table (design §4).

Each `Move` says from which states an action may start, where it leads and who may take it. The
services (through `services._common.transition`) refuse what the table refuses, and the detail
page offers a button only where `allowed()` says yes, so the page never offers what the service
would refuse. Argument-dependent rules (a grid worker may accept only as 网格自办, a department
must be chosen for 市级部门) stay in the service beside the arguments they check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qionglai.users import access
from qionglai.users.models import Role

from .models import EventKind, Incident, Status, Tier

# Separation of duties lives in the table too: the person who resolved an incident may not
# verify it, and a reporter who also handled it rates it as 自评 (kept out of 满意率).

MSG_NOT_HANDLER = "该事件不由您所在的单位承办"
MSG_NOT_REPORTER = "只有上报人可以评价该事件"
MSG_ME_TOO_CLOSED = "该事件已办结，不能附议"
MSG_OWN_WORK = "办结人不能核查自己办结的事件，请由网格长、本网格其他网格员或社区工作者核查"

HANDLE_ACTION = {
    Tier.GRID: "grids.handle_grid",
    Tier.COMMUNITY: "grids.handle_community",
    Tier.TOWN: "grids.handle_town",
    Tier.DEPARTMENT: "grids.handle_department",
}


def can_handle(user, incident: Incident) -> bool:
    """The incident's tier decides who works on it; a department's incidents only its handlers."""
    if not incident.tier:
        return False
    if not access.can(user, HANDLE_ACTION[incident.tier], incident.path):
        return False
    if incident.tier == Tier.DEPARTMENT and not access.is_admin(user):
        dept = incident.assigned_department
        return dept is not None and dept.code in access.units(user, Role.DEPARTMENT_HANDLER)
    return True


def _may(action: str) -> Callable[[object, Incident], bool]:
    def check(user, incident: Incident) -> bool:
        return access.can(user, action, incident.path)

    return check


def _verifier(user, incident: Incident) -> bool:
    """Anyone who may verify here except the person who resolved it: for 网格自办 that leaves
    the 网格长, another worker of the grid, or the community staff. Admins are no exception."""
    if not access.can(user, "grids.verify", incident.path):
        return False
    return incident.resolved_by_id is None or incident.resolved_by_id != getattr(user, "pk", None)


def _reporter(user, incident: Incident) -> bool:
    return access.is_admin(user) or (
        incident.reporter_id is not None and incident.reporter_id == getattr(user, "pk", None)
    )


def _follower(user, incident: Incident) -> bool:
    return access.can(user, "grids.me_too", incident.path) and incident.reporter_id != getattr(
        user, "pk", None
    )


def _system(user, incident: Incident) -> bool:
    return user is None


@dataclass(frozen=True)
class Move:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state stays as it is (an extension request, a "me too")
    event: str
    may: Callable[[object, Incident], bool]
    denied: str = access.DENIED_MESSAGE  # PermissionDenied when `may` says no
    refused: str = ""  # the state forbids it; empty: 「事件当前状态为…，不能执行…」


def _move(action, label, sources, target, event, may, denied=access.DENIED_MESSAGE, refused="") -> Move:
    return Move(action, label, frozenset(sources), target, event, may, denied, refused)


S = Status
OPEN_BEFORE_RESOLVE = (S.REPORTED, S.ACCEPTED, S.IN_PROGRESS)

MOVES: dict[str, Move] = {
    m.action: m
    for m in (
        _move("accept", "受理", [S.REPORTED], S.ACCEPTED, EventKind.ACCEPT, _may("grids.accept")),
        _move("reject", "不予受理", [S.REPORTED], S.REJECTED, EventKind.REJECT, _may("grids.reject")),
        _move(
            "dispatch",
            "派单",
            [S.ACCEPTED, S.IN_PROGRESS],
            S.IN_PROGRESS,
            EventKind.DISPATCH,
            _may("grids.dispatch"),
        ),
        _move("return", "退回", [S.IN_PROGRESS], S.ACCEPTED, EventKind.RETURN, can_handle, MSG_NOT_HANDLER),
        _move(
            "extension",
            "申请延期",
            [S.IN_PROGRESS],
            None,
            EventKind.EXTENSION_REQUEST,
            can_handle,
            MSG_NOT_HANDLER,
        ),
        _move("resolve", "办结", [S.IN_PROGRESS], S.RESOLVED, EventKind.RESOLVE, can_handle, MSG_NOT_HANDLER),
        _move("verify", "核查", [S.RESOLVED], S.VERIFIED, EventKind.VERIFY, _verifier, MSG_OWN_WORK),
        _move(
            "verify_fail",
            "核查",
            [S.RESOLVED],
            S.IN_PROGRESS,
            EventKind.VERIFY_FAIL,
            _verifier,
            MSG_OWN_WORK,
        ),
        _move("evaluate", "评价", [S.VERIFIED], S.CLOSED, EventKind.EVALUATE, _reporter, MSG_NOT_REPORTER),
        _move("auto_close", "自动归档", [S.VERIFIED], S.CLOSED, EventKind.AUTO_CLOSE, _system),
        _move(
            "me_too",
            "附议",
            OPEN_BEFORE_RESOLVE,
            None,
            EventKind.ME_TOO,
            _follower,
            refused=MSG_ME_TOO_CLOSED,
        ),
    )
}


def allowed(user, incident: Incident, action: str) -> bool:
    """May `user` take `action` on the incident as it stands? The page's buttons ask this."""
    move = MOVES[action]
    return incident.status in move.sources and move.may(user, incident)


def available(user, incident: Incident) -> set[str]:
    """Every action the user may take now (the buttons the detail page shows)."""
    return {action for action in MOVES if action != "auto_close" and allowed(user, incident, action)}
