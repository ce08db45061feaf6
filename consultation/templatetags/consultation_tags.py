from django import template

from consultation.permissions import member_label as _member_label

register = template.Library()


@register.filter
def member_label(user) -> str:
    """「张三（党员、网格员）」: a voting member with the roles they hold in the community."""
    return _member_label(user)
