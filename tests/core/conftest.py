"""`world`: one object of each kind the API has a detail URL for, built through the services
where they exist, so the hostile sweeps (test_no_500, test_schemathesis) reach validation and
the services behind `{id}` instead of a 404."""

from __future__ import annotations

import pytest


@pytest.fixture
def world(community_a, compound_a, alice, carol, rita, mike, root) -> dict[str, int]:
    from django.conf import settings

    from consultation.models import Outcome, ProcedureTemplate, TemplateStep
    from consultation.reference import seed_default_template
    from grids.models import Category, GridKind
    from grids.services.incidents import incident_report
    from points import services as points
    from points.models import HolderClass, Merchant, MerchantKind, Offer
    from projects import services as projects
    from projects.models import SharedSupermarket
    from tests.consultation.conftest import Flow, _resident
    from tests.grids.conftest import ensure_reference_data, make_grid
    from tests.points.conftest import credit, ensure_default_rules

    seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)
    ensure_reference_data()
    ensure_default_rules()

    # grids
    general = make_grid(community_a, kind=GridKind.GENERAL, code="g01", name="洪川第一网格")
    micro = make_grid(community_a, kind=GridKind.MICRO, code="m01", parent=general, name="一号微网格")
    category = Category.objects.filter(children__isnull=True).order_by("code").first()
    incident = incident_report(
        actor=alice,
        category=category,
        urgency="yellow",
        description="路口垃圾堆放三天无人清运",
        micro_grid=micro,
    )

    # projects
    plan = projects.plan_save(actor=carol, community=community_a, year=2026, goals="让院落更宜居")
    problem = projects.problem_raise(actor=rita, compound=compound_a, title="楼道灯坏了")
    renewal = projects.renewal_create(
        actor=carol, community=community_a, name="口袋公园", kind="micro_renewal"
    )
    market = SharedSupermarket.objects.create(
        community=community_a, name="洪川共享超市", path=community_a.path
    )

    # consultation: a topic driven to its resolution notice, with an outcome and an objection
    voters = [rita, *(_resident(f"voter{i}", f"居民 {i}", community_a.path) for i in range(4))]
    flow = Flow(carol, voters, community_a)
    topic = flow.to_implement(outcomes=[{"kind": "incident", "title": "修路灯"}])
    from consultation import services as consultation

    second = flow.to_notice(flow.propose(title="院坝加装休息座椅"))
    window = consultation.publicity_open(actor=carol, topic=second, content="拟讨论加装座椅，欢迎参会。")
    objection = consultation.objection_lodge(actor=rita, window=window, text="希望公开预算明细")

    # points
    merchant = Merchant.objects.create(
        code="m1", name="洪川便民超市", kind=MerchantKind.SIGNED, path=community_a.path
    )
    offer = Offer.objects.create(
        merchant=merchant, title="洗衣液一瓶", price=30, stock=100, path=community_a.path
    )
    account = points.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    credit(account, 200)
    claim = points.claim_submit(actor=rita, account=account, rule=points_rule(), note="帮邻居搬家")
    redemption = points.redemption_order(actor=rita, offer=offer, account=account, idempotency_key="world")

    return {
        "town": community_a.town_id,
        "community": community_a.pk,
        "compound": compound_a.pk,
        "grid": micro.pk,
        "incident": incident.pk,
        "fund": community_a.fund.pk,
        "plan": plan.pk,
        "problem": problem.pk,
        "renewal": renewal.pk,
        "supermarket": market.pk,
        "topic": topic.pk,
        "meeting": flow.meeting.pk,
        "motion": flow.motion.pk,
        "outcome": Outcome.objects.get(resolution__topic=topic).pk,
        "publicity": window.pk,
        "objection": objection.pk,
        "template": ProcedureTemplate.objects.order_by("id").first().pk,
        "account": account.pk,
        "claim": claim.pk,
        "offer": offer.pk,
        "redemption": redemption.pk,
    }


def points_rule():
    from points.models import Rule

    return Rule.objects.get(code="P11")  # 邻里互助, no evidence needed


# the collection in an API path → the world's key for its {id}
PATH_KINDS = {
    "towns": "town",
    "communities": "community",
    "compounds": "compound",
    "funds": "fund",
    "plans": "plan",
    "problems": "problem",
    "renewal-projects": "renewal",
    "supermarkets": "supermarket",
    "grids": "grid",
    "incidents": "incident",
    "meetings": "meeting",
    "motions": "motion",
    "objections": "objection",
    "outcomes": "outcome",
    "publicity": "publicity",
    "templates": "template",
    "topics": "topic",
    "accounts": "account",
    "claims": "claim",
    "merchant-offers": "offer",
    "offers": "offer",
    "redemptions": "redemption",
}


def kind_of(path: str) -> str:
    """The world's key for the `{id}` of an OpenAPI path (/api/v1/points/claims/{id}/review/ → claim)."""
    parts = path.strip("/").split("/")
    return PATH_KINDS[parts[parts.index("{id}") - 1]]
