from django.urls import reverse

from qionglai.users import access


def items(request):
    if not access.can_anywhere(request.user, "consultation.view"):
        return []
    label = "小圆桌议事" if access.can_anywhere(request.user, "consultation.manage") else "邻聚小圆桌"
    return [{"label": label, "url": reverse("consultation:index"), "order": 30, "icon": "◎"}]
