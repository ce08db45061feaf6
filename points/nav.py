from django.urls import reverse

from qionglai.users import access


def items(request):
    user = request.user
    out = []
    if access.can_anywhere(user, "points.hold"):
        out.append({"label": "我的积分", "url": reverse("points:mine"), "order": 20, "icon": "★"})
        out.append({"label": "积分兑换", "url": reverse("points:offers"), "order": 21, "icon": "⇄"})
    if access.units(user, "merchant") and access.can_anywhere(user, "points.merchant_verify"):
        out.append({"label": "柜台核销", "url": reverse("points:counter"), "order": 22, "icon": "✔"})
    if access.can_anywhere(user, "points.view"):
        out.append({"label": "积分管理", "url": reverse("points:staff"), "order": 45, "icon": "☰"})
    return out
