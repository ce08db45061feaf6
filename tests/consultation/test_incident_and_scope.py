"""Micro-grid scope and 审议's fourth answer: hand the topic to the grid line as an incident."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from consultation import services
from consultation.models import TopicStatus
from grids.models import Grid, GridKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def micro_a(community_a):
    general = Grid.objects.create(
        community=community_a,
        kind=GridKind.GENERAL,
        code="g01",
        name="洪川一网格",
        path=f"{community_a.path}.g01",
    )
    return Grid.objects.create(
        community=community_a,
        parent=general,
        kind=GridKind.MICRO,
        code="m01",
        name="洪川一网格一微网格",
        path=f"{general.path}.m01",
        households=60,
    )


def test_a_topic_can_be_scoped_to_a_micro_grid(rita, micro_a):
    topic = services.topic_propose(
        actor=rita, title="单元门禁损坏", description="三单元门禁坏了", micro_grid=micro_a
    )
    assert topic.scope == "micro_grid" and topic.path == micro_a.path and topic.micro_grid == micro_a
    assert topic.place_name == "洪川一网格一微网格"


def test_a_general_grid_is_not_a_micro_grid_scope(rita, micro_a):
    with pytest.raises(ValidationError):
        services.topic_propose(actor=rita, title="x", description="y", micro_grid=micro_a.parent)


def test_review_can_turn_a_topic_into_a_grid_incident(flow, carol, rita, micro_a):
    from grids.models import Category, Incident

    # seeded by grids' migration; a transactional test elsewhere may have flushed it
    Category.objects.get_or_create(code="0101", defaults={"name": "邻里纠纷"})

    topic = services.topic_propose(
        actor=rita, title="路灯不亮", description="三单元门口路灯坏了", micro_grid=micro_a
    )
    topic = flow.advance(topic)
    topic = services.topic_review(
        actor=carol,
        topic=topic,
        decision="incident",
        reason="属于设施报修，直接派单",
        incident_category="0101",
        incident_urgency="yellow",
    )
    incident = Incident.objects.get(source_ref=f"consultation.topic:{topic.pk}")
    assert topic.status == TopicStatus.TO_INCIDENT
    assert topic.incident_ref == f"grids.incident:{incident.pk}"
    assert incident.micro_grid == micro_a and incident.urgency == "yellow"
    assert "路灯不亮" in incident.description
