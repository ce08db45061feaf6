"""A topic step waiting on a topic another transaction holds gives up as 「系统繁忙」."""

import threading

import pytest
from django.db import connection, transaction

from consultation import services
from consultation.models import Topic
from qionglai.core import locks
from qionglai.core.errors import Busy

pytestmark = pytest.mark.django_db(transaction=True)


def test_reviewing_a_topic_someone_holds_gives_up_as_busy(flow, monkeypatch):
    monkeypatch.setattr(locks, "LOCK_TIMEOUT", "200ms")
    topic = flow.to_review()
    step = topic.current_step_id
    locked, release = threading.Event(), threading.Event()

    def hold_the_topic() -> None:
        try:
            with transaction.atomic():
                Topic.objects.select_for_update().get(pk=topic.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_topic)
    holder.start()
    try:
        assert locked.wait(10)
        with pytest.raises(Busy):
            services.topic_review(actor=flow.staff, topic=flow.refresh(topic), decision="accept")
    finally:
        release.set()
        holder.join()
    assert Topic.objects.get(pk=topic.pk).current_step_id == step
