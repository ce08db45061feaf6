from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from qionglai.users import access

from .models import Notification
from .notify import notification_mark_read, notifications_mark_all_read


@login_required
def home(request):
    user = request.user
    grants = access.active_grants(user)
    # the newest three unread notices, summarised: a long backlog is one line, not a wall
    latest = list(Notification.objects.filter(user=user, read_at__isnull=True)[:3])
    return render(request, "core/home.html", {"grants": grants, "latest_unread": latest})


@login_required
def notification_list(request):
    from .pages import paginate

    notes = Notification.objects.filter(user=request.user)
    page = paginate(request, notes)
    unread = notes.filter(read_at__isnull=True)
    return render(
        request,
        "core/notifications.html",
        {"page": page, "unread": unread.count(), "newest": notes.values_list("pk", flat=True).first()},
    )


@login_required
@require_POST
def notification_read_all(request):
    from django.contrib import messages

    from .pages import posted_id

    done = notifications_mark_all_read(user=request.user, upto_id=posted_id(request.POST.get("upto")))
    messages.success(request, f"已将 {done} 条通知标为已读" if done else "没有未读通知")
    return redirect("notifications")


@login_required
@require_POST
def notification_read(request, pk: int):
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    notification_mark_read(user=request.user, notification=note)
    return redirect(note.url or "notifications")


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else access.DENIED_MESSAGE
    return render(request, "403.html", {"message": message}, status=403)


MSG_NOT_FOUND = "未找到该记录"


def page_not_found(request, exception=None):
    if request.path.startswith("/open311/"):  # GeoReport v2's error shape
        return JsonResponse([{"code": 404, "description": MSG_NOT_FOUND}], status=404, safe=False)
    if request.path.startswith("/api/"):
        return JsonResponse({"message": MSG_NOT_FOUND, "fields": {}}, status=404)
    return render(request, "404.html", status=404)


MSG_SERVER_ERROR = "系统出错了，请稍后重试。您提交的内容若未显示成功，则没有被保存。"


def server_error(request):
    """Renders without the database: the usual cause of a 500 is a dead connection, and a page
    that ran the context processors (menu, unread count, the session's user) would fail itself
    and leave gunicorn's bare 500. API paths answer JSON like every other API error."""
    if request.path.startswith(("/api/", "/open311/")):
        return JsonResponse({"message": MSG_SERVER_ERROR, "fields": {}}, status=500)
    try:
        body = loader.get_template("500.html").render()  # no request: no context processors
    except Exception:
        body = f"<!doctype html><meta charset=utf-8><h1>500</h1><p>{MSG_SERVER_ERROR}</p>"
    return HttpResponseServerError(body)


@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for at the root whatever the page links."""
    found = finders.find("favicon.ico")
    if not found:
        raise Http404
    return FileResponse(open(found, "rb"), content_type="image/x-icon")
