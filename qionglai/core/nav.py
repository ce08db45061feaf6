from django.urls import reverse

from qionglai.users import access


def items(request):
    user = request.user
    out = [{"label": "首页", "url": reverse("home"), "order": 0, "icon": "⌂"}]
    if access.is_admin(user) or user.is_staff:
        out.append({"label": "管理后台", "url": reverse("admin:index"), "order": 90, "icon": "⚙"})
    if access.has_role(user, *access.STAFF_ROLES):
        out.append({"label": "API 文档", "url": reverse("swagger-ui"), "order": 95, "icon": "⇄"})
    return out
