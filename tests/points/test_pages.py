import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from points import services
from points.models import Claim, ClaimStatus, Redemption, Rule

from .conftest import credit

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_resident_sees_balance_score_and_history_with_reasons(rita_account):
    credit(rita_account, 40)
    page = client_for(rita_account.user).get("/points/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="balance">40<' in text and "测试入账" in text


def test_my_points_page_query_count_does_not_grow_with_history(rita_account, django_assert_max_num_queries):
    for _ in range(3):
        credit(rita_account, 5)
    client = client_for(rita_account.user)
    client.get("/points/")  # warm: accounts opened for the resident's grants
    for _ in range(12):
        credit(rita_account, 5)
    # session, user, grants, notifications badge, account ensure (get) + list, scores (2),
    # history count + page (transaction and actor joined), open orders
    with django_assert_max_num_queries(14):
        assert client.get("/points/").status_code == 200


def test_ordering_on_the_page_shows_the_code_and_a_qr(rita_account, offer):
    credit(rita_account, 100)
    client = client_for(rita_account.user)
    form = client.get(f"/points/offers/{offer.pk}/")
    assert "立即兑换" in form.content.decode()
    response = client.post(
        f"/points/offers/{offer.pk}/",
        {"account": rita_account.pk, "quantity": 1, "idempotency_key": "page-1"},
        follow=True,
    )
    redemption = Redemption.objects.get()
    text = response.content.decode()
    assert redemption.code in text and "<svg" in text and "待核销" in text
    status = client.get(f"/points/orders/{redemption.pk}/status/").json()
    assert status == {"status": "held", "label": "待核销", "balance": 70}


def test_the_counter_finds_the_order_then_confirms_it(rita_account, offer, mike):
    credit(rita_account, 100)
    r = services.redemption_order(
        actor=rita_account.user, offer=offer, account=rita_account, idempotency_key="c"
    )
    counter = client_for(mike)
    found = counter.get(f"/points/counter/?code={r.code}").content.decode()
    assert "洗衣液一瓶 × 1" in found and "确认核销" in found
    done = counter.post("/points/counter/", {"code": r.code}, follow=True).content.decode()
    assert "核销成功" in done
    r.refresh_from_db()
    assert r.status == "settled"
    wrong = counter.get("/points/counter/?code=000000").content.decode()
    assert "核销码无效" in wrong


def test_pages_refuse_the_wrong_people(rita, mike, carol):
    assert client_for(rita).get("/points/counter/").status_code == 403
    assert client_for(rita).get("/points/staff/").status_code == 403
    assert client_for(mike).get("/points/staff/").status_code == 403
    assert client_for(carol).get("/points/staff/").status_code == 200


def test_staff_record_on_behalf_review_and_see_publicity(carol, rita, rita_account):
    client = client_for(carol)
    rule = Rule.objects.get(code="P11")
    response = client.post(
        "/points/staff/",
        {
            "record": "1",
            "rec-person": "rita",
            "rec-holder_class": "resident",
            "rec-rule": rule.pk,
            "rec-quantity": 1,
            "rec-note": "调解纠纷",
        },
        follow=True,
    )
    assert "已为" in response.content.decode()
    claim = Claim.objects.get()
    assert claim.on_behalf and claim.submitted_by == carol
    assert "代录" in client.get("/points/staff/").content.decode()
    client.post("/points/staff/", {"claim": claim.pk, "review": "reject", "note": "材料不全"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED


def test_the_ranking_exports_to_xlsx(carol, rita_account, community_a):
    credit(rita_account, 33)
    year = timezone.localdate().year
    response = client_for(carol).get(
        f"/points/staff/ranking/?holder_class=resident&path={community_a.path}&year={year}&format=xlsx"
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["评先评优排名", "取消资格"]
    place = f"{community_a.town.name} › {community_a.name}"  # names, never 510183.… paths
    assert [c.value for c in book["评先评优排名"][3]] == [1, rita_account.name, place, 33]
    cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row]
    assert not any(community_a.path in cell for cell in cells)


def test_staff_pages_render(carol, victor):
    for url in ("/points/staff/sanctions/", "/points/staff/pool/", "/points/staff/ranking/"):
        assert client_for(carol).get(url).status_code == 200, url
    assert client_for(victor).get("/points/staff/ranking/").status_code == 200


def test_resident_pages_render(rita_account, offer):
    client = client_for(rita_account.user)
    for url in (
        "/points/offers/",
        "/points/orders/",
        "/points/donate/",
        "/points/claims/new/",
        "/points/claims/",
        "/points/publicity/",
    ):
        assert client.get(url).status_code == 200, url


def test_a_refused_review_shows_a_message_not_an_error_page(carol, community_a):
    account = services.account_open(user=carol, holder_class="worker", path=community_a.path)
    claim = services.claim_submit(
        actor=carol, account=account, rule=Rule.objects.get(code="P11"), note="调解"
    )
    page = client_for(carol).post("/points/staff/", {"claim": claim.pk, "review": "approve"}, follow=True)
    assert page.status_code == 200 and "不能审核本人账户的申报" in page.content.decode()


def test_staff_page_query_count_does_not_grow_with_the_queue(
    carol, rita_account, django_assert_max_num_queries
):
    rule = Rule.objects.get(code="P11")
    for _ in range(3):
        services.claim_submit(actor=carol, account=rita_account, rule=rule, note="代录")
    client = client_for(carol)
    client.get("/points/staff/")
    for _ in range(10):
        services.claim_submit(actor=carol, account=rita_account, rule=rule, note="代录")
    # session, user, grants, notifications badge, pending (account, holder, rule, recorder
    # joined), publicity, objections, the 代录 form's rule choices
    with django_assert_max_num_queries(12):
        assert client.get("/points/staff/").status_code == 200


def test_junk_claim_and_objection_ids_are_a_404_not_a_500(rita, rita_account, carol):
    resident, staff = client_for(rita), client_for(carol)
    for junk in ("abc", "1; DROP TABLE", "99999999999999999999"):
        assert resident.post("/points/publicity/", {"claim": junk, "reason": "不属实"}).status_code == 404
        assert staff.post("/points/staff/", {"review": "approve", "claim": junk}).status_code == 404
        assert staff.post("/points/staff/", {"resolve": "uphold", "objection": junk}).status_code == 404
