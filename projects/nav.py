from django.urls import reverse

from qionglai.users import access


def items(request):
    user = request.user
    out = []
    if access.can_anywhere(user, "projects.view"):
        out.append({"label": "社区台账", "url": reverse("projects:towns"), "order": 40, "icon": "▦"})
        out.append({"label": "更新项目", "url": reverse("projects:renewal-list"), "order": 41, "icon": "⚒"})
    if access.can_anywhere(user, "projects.fund_view"):
        out.append({"label": "微基金", "url": reverse("projects:fund-list"), "order": 42, "icon": "¥"})
    return out
