"""`{% load refs %}{{ project.source_ref|ref_name }}`: a cross-app reference such as
`consultation.resolution:5` read as what it names (决议「议题标题」), linked where the object
has a page. Core resolves it through the app registry and imports no app above it."""

from __future__ import annotations

from django import template
from django.apps import apps
from django.utils.html import format_html

register = template.Library()


def _resolve(ref: str):
    label, _, pk = (ref or "").partition(":")
    app_label, _, model_name = label.partition(".")
    try:
        model = apps.get_model(app_label, model_name)
        return model._default_manager.filter(pk=int(pk)).first()
    except (LookupError, ValueError):
        return None


@register.filter
def ref_name(ref: str) -> str:
    obj = _resolve(ref)
    if obj is None:
        return "（来源记录已不存在）" if ref else ""
    topic = getattr(obj, "topic", None)
    title = getattr(topic, "title", None) or str(obj)
    text = f"{obj._meta.verbose_name}「{title}」"
    target = obj if hasattr(obj, "get_absolute_url") else topic
    url = target.get_absolute_url() if hasattr(target, "get_absolute_url") else ""
    return format_html('<a href="{}">{}</a>', url, text) if url else text
