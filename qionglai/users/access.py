"""The one place that answers "may this user do X here?" and "which rows may this user see?".

Every page, API view, admin action, service and task asks here (design §3). A user's
authority is a set of (role, path) grants; a grant covers every place whose path equals it
or starts with it followed by a dot, so containment is one indexed prefix query.

Apps declare their actions with `define()` in their own `permissions.py` (imported when the
app is ready); the decision itself is made only by the functions below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Grant, Role

DENIED_MESSAGE = "您没有权限执行此操作"
STAFF_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.COMMUNITY_STAFF,
        Role.TOWN_STAFF,
        Role.DEPARTMENT_HANDLER,
        Role.CITY_STAFF,
        Role.ADMIN,
    }
)


@dataclass(frozen=True)
class Policy:
    """Who may do an action, and where.

    roles: roles whose grant must cover the target's path.
    ancestors: those roles may also reach places *above* their grant (a grid worker reading
        the community record it sits in); only for read actions.
    """

    action: str
    roles: frozenset[str]
    label: str = ""
    ancestors: bool = False
    posts: frozenset[str] = field(default_factory=frozenset)


POLICIES: dict[str, Policy] = {}


def define(
    action: str,
    *,
    roles: Iterable[str],
    label: str = "",
    ancestors: bool = False,
    posts: Iterable[str] = (),
) -> Policy:
    policy = Policy(
        action=action,
        roles=frozenset(str(r) for r in roles),
        label=label,
        ancestors=ancestors,
        posts=frozenset(str(p) for p in posts),
    )
    POLICIES[action] = policy
    return policy


def covers(grant_path: str, path: str) -> bool:
    """True when `path` is the grant's place or lies under it."""
    return path == grant_path or path.startswith(grant_path + ".")


def active_grants(user) -> list[Grant]:
    """The user's unretired grants, loaded once per user object (one query per request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_active_grants", None)
    if cached is None:
        cached = list(Grant.objects.filter(user_id=user.pk, retired_at__isnull=True).order_by("id"))
        user._active_grants = cached
    return cached


def active_user(user_id: int):
    """The active user `user_id` with their grants already loaded (`active_grants` then reads
    nothing more), or None: one query when they hold a grant (the grants with their user
    joined), two when they hold none. For a task that loads a person by id and asks about
    their roles at once (the points awards)."""
    from .models import User

    grants = list(
        Grant.objects.select_related("user")
        .filter(user_id=user_id, user__is_active=True, retired_at__isnull=True)
        .order_by("id")
    )
    if grants:
        user = grants[0].user
        for grant in grants:
            grant.user = user
    else:
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            return None
    user._active_grants = grants
    return user


def forget_grants(user) -> None:
    if hasattr(user, "_active_grants"):
        del user._active_grants


def is_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or any(
        g.role == Role.ADMIN for g in active_grants(user)
    )


def _policy(action: str) -> Policy:
    try:
        return POLICIES[action]
    except KeyError:  # a typo must fail loudly in tests, never silently allow or deny
        raise LookupError(f"undeclared action {action!r}") from None


def _matching(user, policy: Policy) -> list[Grant]:
    return [
        g
        for g in active_grants(user)
        if g.role in policy.roles and (not policy.posts or g.post in policy.posts)
    ]


def can(user, action: str, path: str) -> bool:
    """May `user` do `action` on the place at `path`?"""
    policy = _policy(action)
    if is_admin(user):
        return True
    for grant in _matching(user, policy):
        if covers(grant.path, path) or (policy.ancestors and covers(path, grant.path)):
            return True
    return False


def require(user, action: str, path: str, message: str = DENIED_MESSAGE) -> None:
    if not can(user, action, path):
        raise PermissionDenied(message)


def has_role(user, *roles: str) -> bool:
    wanted = {str(r) for r in roles}
    return is_admin(user) or any(g.role in wanted for g in active_grants(user))


def can_anywhere(user, action: str) -> bool:
    """Does the user hold any grant that allows `action` somewhere (for menus and buttons)?"""
    return is_admin(user) or bool(_matching(user, _policy(action)))


def units(user, role: str) -> set[str]:
    """The unit codes (department, merchant) the user acts for in `role`."""
    return {g.unit for g in active_grants(user) if g.role == role and g.unit}


def acts_for(user, role: str, unit: str) -> bool:
    """Does the user act for this unit (a department code, a merchant id) in `role`? Admins do."""
    return is_admin(user) or str(unit) in units(user, role)


def owns(user, owner_id) -> bool:
    """Is this the user's own row (its owner/holder/reporter id is the user's)?"""
    return bool(getattr(user, "is_authenticated", False)) and owner_id is not None and owner_id == user.pk


def ancestors_of(path: str) -> list[str]:
    """`path` and every place above it, nearest first: 510183.001.012 → itself, 510183.001, 510183."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def holder_grants(
    path: str,
    roles: Iterable[str],
    *,
    posts: Iterable[str] = (),
    unit: str | None = None,
    below: bool = False,
):
    """Active grants of one of `roles` that cover `path` (the place itself or above it), for
    that `unit` when given; with `below`, also those inside it (what an `ancestors` policy lets
    reach up). The one query behind every "who holds role R over path P"."""
    where = Q(path__in=ancestors_of(path))
    if below:
        where |= Q(path__startswith=path + ".")
    grants = Grant.objects.filter(where, retired_at__isnull=True, role__in=sorted(str(r) for r in roles))
    posts = sorted(str(p) for p in posts)
    if posts:
        grants = grants.filter(post__in=posts)
    if unit is not None:
        grants = grants.filter(unit=str(unit))
    return grants


def holders(action: str, path: str, *, unit: str | None = None, include_admins: bool = False):
    """The inverse of can(): the active users whose grants allow `action` at `path` (recipients,
    invite lists), for that `unit` when given. Admins, who may do everything, are left out unless
    asked for (they are not everyone's recipients). One query."""
    from .models import User

    policy = _policy(action)
    grants = holder_grants(path, policy.roles, posts=policy.posts, unit=unit, below=policy.ancestors)
    q = Q(pk__in=grants.values("user_id"))
    if include_admins:
        admin_grants = Grant.objects.filter(retired_at__isnull=True, role=Role.ADMIN).values("user_id")
        q |= Q(is_superuser=True) | Q(pk__in=admin_grants)
    return User.objects.filter(q, is_active=True).order_by("id")


def grants_at(paths: Iterable[str], roles: Iterable[str]):
    """Active grants of one of `roles` placed exactly at one of `paths`: the batch form of
    holder_grants for a sweep that resolves many places at once (the caller passes every
    ancestor it needs)."""
    return Grant.objects.filter(
        retired_at__isnull=True, role__in=sorted(str(r) for r in roles), path__in=sorted(set(paths))
    )


def holding(role: str, user_ref: str = "pk") -> Exists:
    """Does the user hold an active grant of `role` (anywhere)? As a condition on a query of
    users (`user_ref` names their id), one indexed probe per row, so a caller filtering a
    handful of users asks in its own statement."""
    return Exists(Grant.objects.filter(user_id=OuterRef(user_ref), role=str(role), retired_at__isnull=True))


def grant_paths(user, action: str) -> list[str]:
    """The paths under which `action` is allowed, with nested ones folded into their parent."""
    paths = sorted({g.path for g in _matching(user, _policy(action))}, key=len)
    kept: list[str] = []
    for p in paths:
        if not any(covers(k, p) for k in kept):
            kept.append(p)
    return kept


def scope_q(user, action: str, field_name: str = "path") -> Q | None:
    """A filter selecting the rows (by their path column) the user may `action`.

    Returns None when the user may see nothing. Admins get an empty Q (everything).
    """
    policy = _policy(action)
    if is_admin(user):
        return Q()
    paths = grant_paths(user, action)
    if not paths:
        return None
    q = Q()
    for p in paths:
        # `startswith` compiles to LIKE 'p.%' and uses the text_pattern_ops index (design §3).
        q |= Q(**{field_name: p}) | Q(**{f"{field_name}__startswith": p + "."})
        if policy.ancestors:
            ancestors = [".".join(p.split(".")[:i]) for i in range(1, p.count(".") + 1)]
            if ancestors:
                q |= Q(**{f"{field_name}__in": ancestors})
    return q


def scope(queryset: QuerySet, user, action: str, field_name: str = "path") -> QuerySet:
    """The part of `queryset` the user may `action` (list endpoints must use this: DRF checks
    object permissions only on single objects)."""
    q = scope_q(user, action, field_name)
    if q is None:
        return queryset.none()
    return queryset.filter(q)
