"""The 审议 form speaks Chinese and offers the incident category tree; staff-registered topics
say so; the default template's note for administrators stays in the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from consultation.models import TopicSource
from consultation.reference import DEFAULT_NOTE

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def categories(db):
    from grids.models import Category

    # seeded by grids' migration; made here too for a transactional test's flushed database
    disputes, _ = Category.objects.get_or_create(code="01", defaults={"name": "矛盾纠纷"})
    Category.objects.get_or_create(code="0101", defaults={"name": "邻里纠纷", "parent": disputes})
    return Category.objects.get(code="0101")


def test_the_review_form_is_in_chinese_and_offers_the_category_tree(flow, carol, categories):
    topic = flow.to_review()
    flow.propose(title="另一件事")
    page = _client(carol).get(f"/consultation/topics/{topic.pk}/").content.decode()
    assert "请选择要并入的议题" in page and "---------" not in page and "Select an option" not in page
    leaf = categories
    assert (
        f'<optgroup label="{leaf.parent.name}">' in page
        and f'<option value="0101">{leaf.name}</option>' in page
    )
    assert "另一件事（提议）" in page
    assert "编码" not in page


def test_turning_a_topic_into_an_incident_without_a_category_is_refused_beside_the_field(
    flow, carol, categories
):
    topic = flow.to_review()
    response = _client(carol).post(
        f"/consultation/topics/{topic.pk}/review/",
        {"decision": "incident", "reason": "属于网格事务"},
        follow=True,
    )
    assert "转为网格事件时请选择事件类别" in response.content.decode()
    assert flow.refresh(topic).status == "active"
    _client(carol).post(
        f"/consultation/topics/{topic.pk}/review/",
        {"decision": "incident", "reason": "属于网格事务", "incident_category": "0101"},
    )
    assert flow.refresh(topic).status == "to_incident"


def test_a_topic_registered_by_staff_is_not_labelled_a_residents_proposal(flow, carol, rita):
    by_staff = flow.propose(proposer=carol, title="工作人员登记的议题")
    by_resident = flow.propose(proposer=rita, title="居民提的议题")
    assert (by_staff.source, by_resident.source) == (TopicSource.STAFF, TopicSource.RESIDENT)
    page = _client(carol).get(f"/consultation/topics/{by_staff.pk}/").content.decode()
    assert "· 工作人员提出 ·" in page and "· 居民提议 ·" not in page


def test_the_default_templates_note_shows_in_the_admin_only(flow, carol, root, default_template):
    assert default_template.note == DEFAULT_NOTE
    assert (
        DEFAULT_NOTE
        not in _client(carol).get(f"/consultation/templates/{default_template.pk}/").content.decode()
    )
    assert DEFAULT_NOTE not in _client(carol).get("/consultation/templates/").content.decode()
    admin = _client(root).get("/admin/consultation/proceduretemplate/").content.decode()
    assert DEFAULT_NOTE in admin


def test_the_board_numbers_its_columns_and_links_to_each(flow, carol):
    flow.to_review()
    page = _client(carol).get("/consultation/").content.decode()
    assert (
        'data-testid="board-hint"' in page and 'href="#col-evaluate"' in page and 'id="col-evaluate"' in page
    )
    assert "9. " in page


def test_the_implementation_deadline_comes_back_in_its_date_input(flow, carol):
    """Saved 2026-12-31: the page puts it back in the input, so saving again keeps it."""
    from datetime import date
    from decimal import Decimal

    from consultation import services

    topic = flow.to_implement()
    services.implementation_set(
        actor=carol, topic=topic, owner="居委会", budget=Decimal("100"), deadline=date(2026, 12, 31)
    )
    page = _client(carol).get(f"/consultation/topics/{topic.pk}/").content.decode()
    assert 'type="date" name="deadline" value="2026-12-31"' in page
