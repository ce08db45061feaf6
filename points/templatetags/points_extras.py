from django import template

from points.selectors import plain_note as _plain_note

register = template.Library()


@register.filter
def plain_note(text: str) -> str:
    """A claim's note without the demo builder's marker (see selectors.plain_note)."""
    return _plain_note(text or "")
