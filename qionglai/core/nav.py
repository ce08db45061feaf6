from django.urls import reverse

from qionglai.users import access
from qionglai.users.models import Role


def items(request):
    user = request.user
    out = [{"label": "首页", "url": reverse("home"), "order": 0, "icon": "⌂"}]
    if access.is_admin(user) or user.is_staff:
        out.append({"label": "管理后台", "url": reverse("admin:index"), "order": 90, "icon": "⚙"})
    # for the people who connect other systems (town, city, departments); a grid worker's or a
    # resident's home page has no use for it
    if access.has_role(user, Role.TOWN_STAFF, Role.CITY_STAFF, Role.DEPARTMENT_HANDLER) or user.is_staff:
        out.append({"label": "API 文档", "url": reverse("swagger-ui"), "order": 95, "icon": "⇄"})
    return out
