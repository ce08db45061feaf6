from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from qionglai.users import access

from .models import Notification
from .notify import notification_mark_read


@login_required
def home(request):
    user = request.user
    grants = access.active_grants(user)
    return render(request, "core/home.html", {"grants": grants})


@login_required
def notification_list(request):
    from .pages import paginate

    page = paginate(request, Notification.objects.filter(user=request.user))
    return render(request, "core/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk: int):
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    notification_mark_read(user=request.user, notification=note)
    return redirect(note.url or "notifications")


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else access.DENIED_MESSAGE
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    if request.path.startswith("/open311/"):  # GeoReport v2's error shape
        return JsonResponse([{"code": 404, "description": MSG_NOT_FOUND}], status=404, safe=False)
    if request.path.startswith("/api/"):
        return JsonResponse({"message": MSG_NOT_FOUND, "fields": {}}, status=404)
    return render(request, "404.html", status=404)


MSG_SERVER_ERROR = "服务器内部错误，已记录，请稍后重试"
MSG_NOT_FOUND = "未找到该记录"
API_PREFIXES = ("/api/", "/open311/")


def server_error(request):
    if request.path.startswith(API_PREFIXES):  # an API client reads JSON, never the HTML page
        return JsonResponse({"message": MSG_SERVER_ERROR, "fields": {}}, status=500)
    return render(request, "500.html", status=500)
