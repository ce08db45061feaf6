"""What the consultation pages share: calling a service from a page, and loading the topic or
meeting an action URL names (404 outside the user's grants, so nothing leaks by id)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from qionglai.core.errors import ApplicationError
from qionglai.users import access

from .. import forms, selectors


def run(request, fn, success: str = "", **kwargs):
    """Calls a service; a refusal becomes an error message on the page. Returns the result or None."""
    try:
        result = fn(**kwargs)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return None
    except ApplicationError as error:
        messages.error(request, error.message)
        return None
    if success:
        messages.success(request, success)
    return result if result is not None else True


def form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}：{errors[0]}" if label else errors[0])


def upload(request, service, success: str, **target):
    """A photo form (AttachmentForm) handed to `service` with the uploaded file and caption."""
    form = forms.AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        form_errors(request, form)
        return None
    data = form.cleaned_data
    return run(
        request,
        service,
        success=success,
        actor=request.user,
        upload=data["image"],
        caption=data["caption"],
        **target,
    )


def topic_action(view):
    """A POST on one topic: the view gets the topic the user may see and answers with a
    redirect back to the topic page (or its own response, e.g. a re-rendered form)."""

    @login_required
    @require_POST
    @wraps(view)
    def wrapped(request, pk: int):
        topic = get_object_or_404(
            selectors.topic_list_for(user=request.user).select_related("template"), pk=pk
        )
        response = view(request, topic)
        if response is None or response is True or not hasattr(response, "status_code"):
            return redirect("consultation:topic-detail", pk=topic.pk)
        return response

    return wrapped


def meeting_action(view):
    """A POST on the meeting page (staff at the tablet): back to the meeting page after."""

    @login_required
    @require_POST
    @wraps(view)
    def wrapped(request, pk: int):
        meeting = get_object_or_404(selectors.meeting_list_for(user=request.user), pk=pk)
        if not access.can(request.user, "consultation.manage", meeting.topic.path):
            raise PermissionDenied
        response = view(request, meeting)
        if response is None or response is True or not hasattr(response, "status_code"):
            return redirect("consultation:meeting-run", pk=meeting.pk)
        return response

    return wrapped


def category_for(user, community) -> str:
    """How a voting member is listed at the meeting, from the role they hold in the community."""
    from qionglai.users.models import Role

    from ..models import InviteeCategory

    roles = {g.role for g in access.active_grants(user)}
    if Role.COMMUNITY_STAFF in roles or access.can(user, "consultation.manage", community.path):
        return InviteeCategory.STAFF
    if Role.PARTY_MEMBER in roles:
        return InviteeCategory.PARTY_MEMBER
    return InviteeCategory.RESIDENT_REP
