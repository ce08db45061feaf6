"""`{% load places %}` then `{{ path|place }}` (临邛街道 › 洪川社区) or `{{ path|place_short }}`.
For a list, have the view call qionglai.core.places.place_names once instead."""

from django import template

from qionglai.core import places

register = template.Library()


@register.filter(name="place")
def place(path: str) -> str:
    return places.place_name(path or "")


@register.filter(name="place_short")
def place_short(path: str) -> str:
    return places.place_short(path or "")
