"""The demo tells the truth: the city's figures are counts over rows written through the
services, every incident's history is a legal path of the state machine, the ledger
balances, the map is where Qionglai is, and a second build changes nothing.

One build, one test: the build writes a year of history through the services (minutes, not
seconds), so every claim about it is checked against the same build."""

import gc
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, F

from consultation.models import Topic
from grids.demo_incidents import incident_chain_problems
from grids.models import Escalation, EventKind, Incident, IncidentEvent, Status
from grids.selectors import locate_micro_grid
from points.management.commands.points_verify import verify as points_problems
from points.models import Claim, Redemption, RedemptionStatus
from projects.models import Community, Compound, CompoundKind, MicroFund, RenewalKind, RenewalProject, Town
from qionglai.core.demo_figures import headline
from qionglai.core.models import AuditEvent, Notification
from qionglai.dashboard import fill


def counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label not in {"sessions", "axes"}
    }


def figures_hold() -> None:
    figures = headline()  # what the city dashboard's headline row shows
    assert figures.pop("党员") >= 14_000
    assert figures == {
        "微网格": 3_830,
        "网格党组织": 453,
        "微网格党小组": 2_645,
        "家庭医生团队": 113,
        "团队成员": 874,
        "签约商户": 105,
        "爱心超市": 31,
        "办结事件": 4_856,
        "累计积分": 81_434,
        "积分兑换": 213,
    }


def registry_holds() -> None:
    assert Town.objects.count() == 14
    assert Community.objects.count() == 189
    assert Compound.objects.filter(kind=CompoundKind.RURAL_SETTLEMENT).count() == 241
    assert Compound.objects.filter(kind=CompoundKind.OLD_COURTYARD, renovated=True).count() == 24
    smart = Compound.objects.filter(is_smart=True)
    assert smart.count() == 12
    assert len({c.path.split(".")[1] for c in smart}) == 6
    assert RenewalProject.objects.filter(kind=RenewalKind.COMMERCIAL_SCENE).count() == 6
    hongchuan = MicroFund.objects.get(community__name="洪川社区")
    assert hongchuan.entries.filter(kind="supermarket").count() == 12
    assert hongchuan.balance == sum(e.amount for e in hongchuan.entries.all())


def history_is_the_services() -> None:
    # every incident's chain is a legal path, in time order, by people, each with its audit row
    assert incident_chain_problems() == []
    closed = Incident.objects.filter(status=Status.CLOSED)
    # each closed incident went report → … → verify → evaluate/auto-close, handled by someone
    assert closed.filter(handlers__isnull=True).count() == 0
    assert closed.exclude(events__kind=EventKind.VERIFY).count() == 0
    assert IncidentEvent.objects.filter(kind=EventKind.REOPEN).count() > 0
    assert Escalation.objects.count() > 0
    assert AuditEvent.objects.filter(action="incident.escalate").count() == Escalation.objects.count()
    # separation of duties: nobody verified what they resolved themselves
    resolvers = set(
        IncidentEvent.objects.filter(kind=EventKind.RESOLVE).values_list("incident_id", "actor_id")
    )
    verifiers = set(
        IncidentEvent.objects.filter(kind=EventKind.VERIFY).values_list("incident_id", "actor_id")
    )
    assert resolvers & verifiers == set()
    # evaluations come from the person who reported the incident, never one who handled it
    evaluated = IncidentEvent.objects.filter(kind=EventKind.EVALUATE)
    assert evaluated.exclude(actor_id=F("incident__reporter_id")).count() == 0
    assert Incident.objects.filter(self_evaluated=True).count() == 0
    # every verified report earned its reporter points through the receiver, keyed by the event
    verified_reported = Incident.objects.filter(
        events__kind=EventKind.VERIFY, reporter__isnull=False
    ).distinct()
    assert Claim.objects.filter(source_key__startswith="incident:").count() == verified_reported.count()
    # points are never clamped: each claim is worth its rule's points × quantity
    assert (
        Claim.objects.exclude(rule__list_kind="prohibited")
        .exclude(points=F("rule__points") * F("quantity"))
        .count()
        == 0
    )
    assert Claim.objects.filter(rule__list_kind="positive").exclude(points_awarded=F("points")).count() == 0
    # redemptions carry real codes, settled at a counter; some were cancelled or expired
    settled = Redemption.objects.filter(status=RedemptionStatus.SETTLED)
    assert settled.values("code").distinct().count() > 150
    assert settled.filter(close_tx__isnull=True).count() == 0
    assert Redemption.objects.filter(status=RedemptionStatus.CANCELLED).count() > 0
    assert Redemption.objects.filter(status=RedemptionStatus.EXPIRED).count() > 0
    assert points_problems() == []
    # nothing a resident reads is labelled as fake
    assert not Claim.objects.filter(note__contains="示范数据").exists()
    assert not IncidentEvent.objects.filter(note__contains="示范数据").exists()


def points_history_reads_in_time_order() -> None:
    """Every holder's history is written in the order it happened: in id order the entries'
    times never go back, so on the history page (newest first, points.selectors.history) the
    余额 of the newest line is the account's balance."""
    from points.models import Account, AccountKind, Entry
    from points.selectors import history

    holders = Entry.objects.filter(account__kind=AccountKind.HOLDER)
    back_in_time, previous = [], {}
    for account_id, at in (
        holders.order_by("account_id", "id").values_list("account_id", "created_at").iterator(chunk_size=5000)
    ):
        if account_id in previous and at < previous[account_id]:
            back_in_time.append(account_id)
        previous[account_id] = at
    assert back_in_time == []
    assert len(previous) > 1000  # the check covers the city's holders, not a handful
    newest = {}
    for account_id, after in (
        holders.order_by("account_id", "-created_at", "-id")
        .values_list("account_id", "balance_after")
        .iterator(chunk_size=5000)
    ):
        newest.setdefault(account_id, after)
    balances = dict(Account.objects.filter(pk__in=list(newest)).values_list("pk", "balance"))
    assert {pk: after for pk, after in newest.items() if after != balances[pk]} == {}
    # and the page itself, for the demo login a visitor opens first
    account = Account.objects.get(user__username="resident_hongchuan", holder_class="resident")
    assert history(account=account).first().balance_after == account.balance


def the_visitor_has_work_and_a_quiet_inbox() -> None:
    # a phone in central Qionglai lands in a 临邛街道 micro-grid
    found = locate_micro_grid(lat=30.41, lng=103.46)
    assert found is not None
    assert found.grid.community.town.name == "临邛街道"
    # 天台山镇 lies in the mountains south-west of the centre
    tiantai = Incident.objects.filter(community__town__name="天台山镇").first()
    assert tiantai is not None and tiantai.lat < 30.41 and tiantai.lng < 103.46
    # a topic waits at each of the nine steps in 洪川社区, plus a fresh one at 提议
    steps = dict(
        Topic.objects.filter(community__name="洪川社区")
        .values("current_step__code")
        .annotate(n=Count("id"))
        .values_list("current_step__code", "n")
    )
    for code in (
        "propose",
        "review",
        "notice",
        "deliberate",
        "vote",
        "resolution_notice",
        "implement",
        "supervise",
        "evaluate",
    ):
        assert steps.get(code, 0) >= 1, code
    # old notices are read; today's work is not
    unread = Notification.objects.filter(user__username="resident_hongchuan", read_at__isnull=True).count()
    assert unread < 20


# A transactional test: the history commits service by service, as it does in `make demo`, so
# on_commit work (the points receivers' awards, notices) runs when each change commits — under
# the moved clock. serialized_rollback puts back the reference data (categories, rules,
# templates) the data migrations seed, which the flush after a transactional test removes.
@pytest.mark.first
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_demo_reaches_the_city_figures_through_the_services_and_a_second_run_changes_nothing():
    call_command("build_demo", "--no-progress", stdout=io.StringIO())
    first = counts()
    registry_holds()
    figures_hold()
    history_is_the_services()
    points_history_reads_in_time_order()
    the_visitor_has_work_and_a_quiet_inbox()

    out = io.StringIO()
    call_command("build_demo", stdout=out)
    assert counts() == first
    assert "%|" not in out.getvalue()  # no empty progress bars on a second run

    # the dashboard's rollups over the same history agree with a direct count, cell by cell
    # (one full demo build in the suite serves both this and the headline check: it is its slowest part)
    fill.rebuild()
    assert fill.check() == []


@pytest.mark.django_db
def test_a_phone_in_central_qionglai_lands_in_a_linqiong_micro_grid_and_the_towns_sit_where_they_are():
    """The geography alone (registry and grid tree, no history), quick enough to run on its own."""
    import random

    from grids import demo as grids_demo
    from projects import demo as projects_demo

    projects_demo.build(stdout=io.StringIO(), progress=False)
    communities = list(Community.objects.select_related("town").order_by("path"))
    assert grids_demo._build_grids(random.Random(1), communities, io.StringIO(), False)
    found = locate_micro_grid(lat=30.41, lng=103.46)
    assert found is not None
    assert found.grid.community.name == "洪川社区"
    assert found.grid.community.town.name == "临邛街道"
    centres = grids_demo.community_centres(communities)
    by_town = {}
    for community in communities:
        by_town.setdefault(community.town.name, []).append(centres[community.pk])
    lat, lng = (sum(v) / len(v) for v in zip(*by_town["天台山镇"], strict=True))
    assert lat < 30.35 and lng < 103.25  # in the mountains south-west of the centre
    # every community's micro-grids lie around its centre, not in another community's square
    for community in communities[:20]:
        c_lat, c_lng = centres[community.pk]
        hit = locate_micro_grid(lat=c_lat, lng=c_lng)
        assert hit is not None and hit.grid.community_id == community.pk


def test_the_build_collects_garbage_rarely_and_puts_the_collector_back():
    """build_demo freezes the long-lived heap and raises the collector's thresholds only while
    it runs: a process that goes on (the test runner, rundemo) keeps Python's defaults."""
    from qionglai.core.management.commands.build_demo import _collects_garbage_rarely

    before = gc.get_threshold()
    with _collects_garbage_rarely():
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
