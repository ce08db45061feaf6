from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import cache_control
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
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)


@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for at the root whatever the page links."""
    found = finders.find("favicon.ico")
    if not found:
        raise Http404
    return FileResponse(open(found, "rb"), content_type="image/x-icon")
