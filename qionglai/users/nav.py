from django.urls import reverse


def items(request):
    return [{"label": "账号安全", "url": reverse("account_security"), "order": 98, "icon": "🔒"}]
