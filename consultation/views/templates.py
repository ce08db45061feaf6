"""议事规则 pages: the 「默认模板」 and the communities' own versions, cloning and editing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render

from projects.models import Community
from qionglai.core.pages import posted_id
from qionglai.users import access

from .. import forms, services
from ..models import ProcedureTemplate, TopicStatus
from .common import form_errors, run


def _templates_visible(user):
    """The current default, and the community templates (every version) in the user's scope."""
    community_own = access.scope(
        ProcedureTemplate.objects.filter(community__isnull=False), user, "consultation.view"
    )
    return ProcedureTemplate.objects.filter(
        Q(is_default=True) | Q(pk__in=community_own.values("pk"))
    ).select_related("community", "cloned_from")


@login_required
def template_list(request):
    """议事规则: the 「默认模板」 and the communities' own versions; staff clone one for their
    community here and then edit it."""
    user = request.user
    if not access.can_anywhere(user, "consultation.view"):
        raise PermissionDenied
    visible = _templates_visible(user).annotate(
        running=Count("topics", filter=Q(topics__status=TopicStatus.ACTIVE)), total=Count("topics")
    )
    communities = access.scope(
        Community.objects.filter(retired_at__isnull=True), user, "consultation.template_manage"
    ).order_by("path")
    form = None
    if access.can_anywhere(user, "consultation.template_manage"):
        form = forms.TemplateCloneForm(request.POST or None, communities=communities)
        if request.method == "POST":
            source = get_object_or_404(
                visible.filter(is_current=True), pk=posted_id(request.POST.get("source"))
            )
            if form.is_valid():
                template = run(
                    request,
                    services.template_clone,
                    success="已复制为本社区模板，可在下方修改各步骤",
                    actor=user,
                    source=source,
                    community=form.cleaned_data["community"],
                    name=form.cleaned_data["name"],
                )
                if template:
                    return redirect("consultation:template-edit", pk=template.pk)
            else:
                form_errors(request, form)
            return redirect("consultation:template-list")
    templates = visible.order_by("-is_default", "community__path", "family", "-version")
    return render(
        request,
        "consultation/template_list.html",
        {
            "current": [t for t in templates if t.is_current],
            "older": [t for t in templates if not t.is_current],
            "clone_form": form,
        },
    )


@login_required
def template_edit(request, pk: int):
    user = request.user
    if not access.can_anywhere(user, "consultation.view"):
        raise PermissionDenied
    template = get_object_or_404(_templates_visible(user), pk=pk)
    can_edit = template.is_current and access.can(user, "consultation.template_manage", template.path)
    running = template.topics.filter(status=TopicStatus.ACTIVE).count()
    form = None
    if can_edit:
        form = forms.TemplateEditForm(request.POST or None, template=template)
        if request.method == "POST":
            if not form.is_valid():
                messages.error(request, "请按提示修改后再保存")
            elif not (changes := form.changes()) and form.cleaned_data["name"] == template.name:
                messages.info(request, "没有修改任何内容")
                return redirect("consultation:template-edit", pk=template.pk)
            else:
                saved = run(
                    request,
                    services.template_update,
                    actor=user,
                    template=template,
                    steps=changes,
                    name=form.cleaned_data["name"],
                )
                if saved:
                    if saved.pk != template.pk:
                        messages.success(
                            request,
                            f"已保存为第 {saved.version} 版；正在进行的 {running} 个议题仍按第 "
                            f"{template.version} 版办理，新议题按第 {saved.version} 版办理",
                        )
                    else:
                        messages.success(request, "模板已保存，此后提出的议题按此办理")
                    return redirect("consultation:template-edit", pk=saved.pk)
    elif request.method == "POST":
        raise PermissionDenied
    current = None
    if not template.is_current:
        current = ProcedureTemplate.objects.filter(family=template.family, is_current=True).first()
    return render(
        request,
        "consultation/template_edit.html",
        {
            "template": template,
            "steps": template.steps.order_by("order"),
            "form": form,
            "running": running,
            "current": current,
        },
    )
