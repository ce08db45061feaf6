from django.urls import reverse

from qionglai.users import access
from qionglai.users.models import Role


def items(request):
    user = request.user
    out = []
    staff_like = access.can_anywhere(user, "grids.view")
    if staff_like:
        out.append({"label": "网格工作台", "url": reverse("grids:home"), "order": 10, "icon": "◫"})
        out.append({"label": "我的待办", "url": reverse("grids:tasks"), "order": 11, "icon": "☑"})
    if access.can_anywhere(user, "grids.incident_view") or access.units(user, Role.DEPARTMENT_HANDLER):
        out.append({"label": "事件", "url": reverse("grids:incident-list"), "order": 12, "icon": "⚑"})
    if access.can_anywhere(user, "grids.report"):
        out.append({"label": "随手报", "url": reverse("grids:report"), "order": 13, "icon": "✚"})
        out.append({"label": "我的上报", "url": reverse("grids:mine"), "order": 14, "icon": "☰"})
    if staff_like and not access.units(user, Role.DEPARTMENT_HANDLER):
        out.append({"label": "网格", "url": reverse("grids:grid-list"), "order": 15, "icon": "▦"})
    if access.can_anywhere(user, "grids.approve_extension"):
        out.append({"label": "延期审批", "url": reverse("grids:extensions"), "order": 16, "icon": "⏱"})
    return out
