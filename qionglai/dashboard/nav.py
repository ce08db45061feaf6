from django.urls import reverse

from qionglai.users import access


def items(request):
    if not access.can_anywhere(request.user, "dashboard.view"):
        return []
    return [{"label": "数据看板", "url": reverse("dashboard:page"), "order": 5, "icon": "▤"}]
