from django import template
from django.utils import timezone
from django.utils.html import format_html

from ..models import OPEN_STATES

register = template.Library()

URGENCY_CLASS = {"red": "u-red", "orange": "u-orange", "yellow": "u-yellow", "blue": "u-blue"}


@register.simple_tag
def deadline(inc, now=None):
    """「剩 3 小时」 or 「超时 2 小时」 for the deadline the incident is waiting on."""
    if not inc.due_at or inc.status not in OPEN_STATES:
        return ""
    now = now or timezone.now()
    seconds = (inc.due_at - now).total_seconds()
    hours = abs(seconds) / 3600
    span = f"{hours:.0f} 小时" if hours >= 1 else f"{abs(seconds) / 60:.0f} 分钟"
    if hours >= 48:
        span = f"{hours / 24:.1f} 天"
    stage = inc.get_due_stage_display()
    if seconds < 0:
        return format_html('<span class="overdue" data-testid="overdue">{}已超时 {}</span>', stage, span)
    return format_html('<span class="due">{}剩 {}</span>', stage, span)


@register.filter
def urgency_class(value):
    return URGENCY_CLASS.get(value, "")
