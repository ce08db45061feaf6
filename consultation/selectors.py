"""Read queries shared by pages, API and dashboard; each decides its joins once."""

from __future__ import annotations

from django.db.models import QuerySet

from qionglai.users import access

from .models import Topic


def topic_list_for(*, user) -> QuerySet[Topic]:
    qs = Topic.objects.select_related("current_step", "community", "compound", "proposer", "template")
    return access.scope(qs, user, "consultation.view")
