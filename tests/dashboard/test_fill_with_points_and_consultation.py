"""Random incident transitions, points postings and consultation steps, interleaved, then a
fill: `dashboard_check` (rollups per day, and the points and consultation figures against a
direct count) finds no difference; a fill killed halfway and rerun still finds none."""

from __future__ import annotations

import contextlib
import itertools

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consultation import services as consultation
from consultation.models import Topic
from consultation.models.topics import TopicStatus
from points import services as points
from points.models import HolderClass, Merchant, MerchantKind, Offer, Redemption, TxKind
from points.services import Leg
from qionglai.dashboard import fill
from qionglai.dashboard.models import FillSlot, SlotState

from .test_fill import ACTIONS, REFUSED, START, Crash, apply, crash_on_second_day

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)

POINTS = st.one_of(
    st.tuples(st.just("earn"), st.sampled_from(["rita", "org"]), st.integers(1, 40)),
    st.tuples(st.just("deduct"), st.sampled_from(["rita", "org"]), st.integers(1, 20)),
    st.tuples(st.just("donate"), st.integers(1, 15)),
    st.tuples(st.just("redeem"), st.integers(1, 2), st.booleans()),  # quantity; settled or cancelled
)
CONSULTATION = st.one_of(
    st.tuples(st.just("propose"), st.sampled_from(["a", "b"])),
    st.tuples(st.just("advance"), st.integers(0, 10)),
    st.tuples(st.just("review"), st.integers(0, 10), st.sampled_from(["accept", "reject"])),
)
MIXED = st.one_of(ACTIONS, POINTS, CONSULTATION, POINTS, CONSULTATION, CONSULTATION)


def _post(kind, to, frm, amount):
    with transaction.atomic():
        points.post(
            kind=kind,
            key=f"hyp:{next(_keys)}",
            legs=[Leg(frm, -amount), Leg(to, amount, amount if kind == TxKind.EARN else 0)],
            path=to.path if to.kind == "holder" else frm.path,
        )


def apply_other(action, *, cast, traveller) -> None:
    kind, *args = action
    try:
        if kind == "earn":
            _post(TxKind.EARN, cast[args[0]], cast["issuance"], args[1])
        elif kind == "deduct":
            account = cast[args[0]]
            account.refresh_from_db()
            if account.balance:
                _post(TxKind.DEDUCT, cast["issuance"], account, min(args[1], account.balance))
        elif kind == "donate":
            cast["rita"].refresh_from_db()
            if cast["rita"].balance:
                _post(TxKind.DONATE, cast["pool"], cast["rita"], min(args[0], cast["rita"].balance))
        elif kind == "redeem":
            order = points.redemption_order(
                actor=cast["rita_user"],
                offer=cast["offer"],
                account=cast["rita"],
                idempotency_key=f"hyp-{next(_keys)}",
                quantity=args[0],
            )
            if args[1]:
                points.redemption_verify(actor=cast["mike"], code=order.code)
            else:
                points.redemption_cancel(actor=cast["rita_user"], redemption=order)
        elif kind == "propose":
            consultation.topic_propose(
                actor=cast["root"], title="随机议题", description="随机", community=cast[args[0]]
            )
        elif kind in ("advance", "review"):
            topics = list(Topic.objects.filter(status=TopicStatus.ACTIVE).order_by("id"))
            if not topics:
                return
            topic = topics[args[0] % len(topics)]
            traveller.shift(3600 * 7)  # a step takes a while
            if kind == "advance":
                consultation.topic_advance(actor=cast["root"], topic=topic)
            else:
                consultation.topic_review(
                    actor=cast["root"], topic=topic, decision=args[1], reason="随机审议"
                )
    except REFUSED as error:
        event(f"{kind} refused: {error.__class__.__name__}")


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(MIXED, min_size=20, max_size=50))
def test_transitions_postings_and_steps_then_a_fill_leave_no_difference(
    actions, root, rita, mike, community_a, community_b, category
):
    with time_machine.travel(START, tick=False) as traveller, transaction.atomic():
        a = community_a.path
        cast = {
            "root": root,
            "rita_user": rita,
            "mike": mike,
            "a": community_a,
            "b": community_b,
            "rita": points.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=a),
            "org": points.org_account_open(org_code="hyp-org", name="洪川社区党委", path=a),
            "issuance": points.issuance_for(a),
            "pool": points.pool_for(a),
        }
        merchant = Merchant.objects.create(code="m1", name="洪川便民超市", kind=MerchantKind.SIGNED, path=a)
        cast["offer"] = Offer.objects.create(merchant=merchant, title="洗衣液", price=5, stock=1000, path=a)
        _post(TxKind.EARN, cast["rita"], cast["issuance"], 30)  # so the first orders can be paid
        communities = {"a": community_a, "b": community_b}
        for action in actions:
            if action[0] in ("earn", "deduct", "donate", "redeem", "propose", "advance", "review"):
                apply_other(action, cast=cast, traveller=traveller)
            else:
                apply(action, root=root, communities=communities, category=category, traveller=traveller)
        event(f"settled redemptions: {min(Redemption.objects.filter(status='settled').count(), 3)}+")
        event(f"topics: {min(Topic.objects.count(), 3)}+")
        fill.fill()
        assert fill.check() == []
        # killed halfway: the second day's slot dies after its town rows; a rerun redoes it
        fill.mark_dirty(FillSlot.objects.values_list("day", flat=True))
        with contextlib.suppress(Crash):
            fill.fill(crash=crash_on_second_day())
        fill.fill()
        assert fill.check() == []
        assert not FillSlot.objects.exclude(state=SlotState.DONE).exists()
        transaction.set_rollback(True)  # each example starts from the same empty database


def test_the_check_finds_a_points_or_consultation_figure_that_differs(root, rita, community_a, monkeypatch):
    """The check can fail: a dashboard figure that disagrees with the rows is reported."""
    from points import selectors as points_selectors

    account = points.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    _post(TxKind.EARN, account, points.issuance_for(community_a.path), 10)
    assert fill.check_points() == []
    real = points_selectors.by_class_month

    def off_by_one(**kwargs):
        shown = real(**kwargs)
        for v in shown.values():
            v["earned"] += 1
        return shown

    monkeypatch.setattr(points_selectors, "by_class_month", off_by_one)
    assert [(d.grain, d.column, d.stored, d.direct) for d in fill.check_points()] == [
        ("points", "earned", 11, 10)
    ]
    consultation.topic_propose(actor=root, title="议题", description="内容", community=community_a)
    assert fill.check_consultation() == []
    Topic.objects.update(status=TopicStatus.CLOSED)  # closed with no closing event: its stay never ended
    assert [(d.grain, d.column, d.stored, d.direct) for d in fill.check_consultation()] == [
        ("consultation", "stays", 0, 1)
    ]
