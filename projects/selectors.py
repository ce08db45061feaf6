"""Read queries shared by pages, API and dashboard; each decides its joins once."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from qionglai.users import access

from .models import (
    Community,
    CommunityPlan,
    Compound,
    CompoundProblem,
    FundEntry,
    MicroFund,
    RenewalProject,
    SharedSupermarket,
    Town,
)


def town_list_for(*, user) -> QuerySet[Town]:
    qs = Town.objects.filter(retired_at__isnull=True).annotate(community_count=Count("communities"))
    return access.scope(qs, user, "projects.view").order_by("path")


def community_list_for(*, user, town: Town | None = None) -> QuerySet[Community]:
    qs = Community.objects.filter(retired_at__isnull=True).select_related(
        "town", "community_class", "community_class__parent"
    )
    if town is not None:
        qs = qs.filter(town=town)
    return access.scope(qs, user, "projects.view").order_by("path")


def compound_list_for(*, user, community: Community | None = None) -> QuerySet[Compound]:
    qs = Compound.objects.filter(retired_at__isnull=True).select_related("community", "community__town")
    if community is not None:
        qs = qs.filter(community=community)
    return access.scope(qs, user, "projects.view").order_by("path")


def plan_list_for(*, user) -> QuerySet[CommunityPlan]:
    qs = CommunityPlan.objects.select_related("community").prefetch_related("scenes")
    return access.scope(qs, user, "projects.view")


def problem_list_for(*, user) -> QuerySet[CompoundProblem]:
    """Staff see the problems in their scope; anyone sees the ones they raised themselves."""
    qs = CompoundProblem.objects.select_related("compound", "owner_department", "raised_by")
    q = access.scope_q(user, "projects.view")
    own = Q(raised_by_id=user.pk) if user.is_authenticated else Q(pk__in=[])
    return qs.filter(own if q is None else (q | own))


def renewal_list_for(*, user) -> QuerySet[RenewalProject]:
    qs = RenewalProject.objects.select_related("community", "compound", "scene")
    return access.scope(qs, user, "projects.view")


def fund_list_for(*, user) -> QuerySet[MicroFund]:
    return access.scope(MicroFund.objects.select_related("community"), user, "projects.fund_view").order_by(
        "path"
    )


def fund_entries_for(*, user, fund: MicroFund) -> QuerySet[FundEntry]:
    if not access.can(user, "projects.fund_view", fund.path):
        return FundEntry.objects.none()
    return fund.entries.select_related("created_by").order_by("-created_at", "-id")


def supermarket_list_for(*, user) -> QuerySet[SharedSupermarket]:
    return access.scope(SharedSupermarket.objects.select_related("community"), user, "projects.fund_view")
