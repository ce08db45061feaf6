"""`{% load places %}` then `{{ path|place }}` or `{{ community|place }}` (anything with a
`.path`) for 临邛街道 › 洪川社区, or `|place_short`. For a list, have the view call
qionglai.core.places.place_names once instead."""

from django import template

from qionglai.core import places

register = template.Library()


@register.filter(name="place")
def place(value) -> str:
    return places.place_name(_path(value))


@register.filter(name="place_short")
def place_short(value) -> str:
    return places.place_short(_path(value))


def _path(value) -> str:
    return getattr(value, "path", value) or ""
