"""Who may do what in 邻聚小圆桌, declared once.

Who votes (design §5, issue #13): the voting members of a topic's meetings are the people of
the topic's community — residents, party members, grid workers and community staff whose grant
is the community or a place inside it (a compound, a grid). Town staff and department handlers
hold grants that cover many communities; they attend a 小圆桌 as 列席 (named guests, no vote).
`may_vote` and `voting_members` are the one rule the invite list, the meeting service and the
vote page all use."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from qionglai.users import access
from qionglai.users.models import Role

PARTICIPANTS = [Role.RESIDENT, Role.PARTY_MEMBER, Role.GRID_WORKER]
STAFF = [Role.COMMUNITY_STAFF, Role.TOWN_STAFF]
VOTING = [Role.RESIDENT, Role.PARTY_MEMBER, Role.GRID_WORKER, Role.COMMUNITY_STAFF]

access.define(
    "consultation.view",
    roles=[*PARTICIPANTS, *STAFF, Role.CITY_STAFF, Role.DEPARTMENT_HANDLER],
    label="查看议题与公示",
)
# Grid workers' grants name a grid inside the community; they read the whole community's
# topics and notices (the 小圆桌 board of the community they serve).
access.define(
    "consultation.view_community",
    roles=[Role.GRID_WORKER],
    label="查看所在社区的全部议题与公示",
)
access.define("consultation.propose", roles=[*PARTICIPANTS, Role.COMMUNITY_STAFF], label="提出议题")
access.define(
    "consultation.manage",
    roles=STAFF,
    label="主持议事：审议、推进步骤、会议、表决、公示、决议与实施",
)
# `ancestors`: a grant on a compound or grid inside the community reaches the community's path,
# which is the path the vote rule is asked about.
access.define(
    "consultation.vote",
    roles=VOTING,
    ancestors=True,
    label="作为本社区居民、党员、网格员或社区工作者在到会后参与表决",
)
access.define("consultation.object", roles=PARTICIPANTS, label="在公示期内提出异议")
access.define("consultation.rate", roles=[*PARTICIPANTS, Role.COMMUNITY_STAFF], label="评议实施效果")
access.define("consultation.supervise", roles=[Role.RESIDENT, Role.PARTY_MEMBER], label="担任居民监督员")
access.define(
    "consultation.template_manage",
    roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF],
    label="复制与编辑议事规则模板",
)

ROLE_ORDER = {Role.COMMUNITY_STAFF: 0, Role.GRID_WORKER: 1, Role.PARTY_MEMBER: 2, Role.RESIDENT: 3}


def may_vote(user, community) -> bool:
    """Is `user` a voting member of meetings held by `community`?"""
    return user is not None and access.can(user, "consultation.vote", community.path)


def voting_members(community, roles: Iterable[str] = VOTING) -> QuerySet:
    """The people `may_vote` accepts for `community` (the inverse of the same policy, asked of
    access.py), each with `member_roles` (the voting roles they hold there, staff first)
    prefetched for labels like 「张三（党员）」. `roles` narrows the list (supervisors are
    residents or party members)."""
    grants = access.holder_grants(community.path, VOTING, below=True)
    chosen = access.holder_grants(community.path, roles, below=True)
    return (
        get_user_model()
        .objects.filter(pk__in=chosen.values("user_id"), is_active=True)
        .prefetch_related(Prefetch("grants", queryset=grants, to_attr="member_grants"))
        .order_by("real_name", "username")
    )


def member_roles(user) -> list[str]:
    """The voting roles (labels) a person from `voting_members` holds in the community."""
    roles = sorted({g.role for g in getattr(user, "member_grants", [])}, key=lambda r: ROLE_ORDER.get(r, 9))
    return [str(Role(r).label) for r in roles]


def member_label(user) -> str:
    roles = member_roles(user)
    return f"{user.display_name}（{'、'.join(roles)}）" if roles else user.display_name


def community_paths_for(user) -> list[str]:
    """The communities whose topics a grid worker reads: the community each grid grant lies in."""
    from projects.models import Community

    grid_paths = access.grant_paths(user, "consultation.view_community")
    if not grid_paths:
        return []
    candidates = {".".join(p.split(".")[:i]) for p in grid_paths for i in range(1, p.count(".") + 2)}
    return list(Community.objects.filter(path__in=candidates).values_list("path", flat=True))


def view_q(user, field: str = "path") -> Q | None:
    """Rows of consultation the user may read: their grants' places, plus, for grid workers,
    the whole community their grid is in. None when nothing."""
    q = access.scope_q(user, "consultation.view", field)
    paths = community_paths_for(user)
    if paths:
        extra = Q()
        for p in paths:
            extra |= Q(**{field: p}) | Q(**{f"{field}__startswith": p + "."})
        q = extra if q is None else q | extra
    return q


def view_scope(queryset: QuerySet, user, field: str = "path") -> QuerySet:
    q = view_q(user, field)
    return queryset.none() if q is None else queryset.filter(q)
