"""Registry pages for staff. Reads go through selectors (scoped by the access module), writes
through services; out-of-scope records are 404, not 403, so nothing leaks by id."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from qionglai.core.pages import call_service, paginate
from qionglai.users import access

from . import excel, selectors, services
from .forms import AdvanceForm, ImportForm, InflowForm, MonthForm, PhotoForm, RenewalFilterForm
from .models import RENEWAL_NEXT, RenewalStatus


def _require_reader(user, action="projects.view"):
    if not access.can_anywhere(user, action):
        raise PermissionDenied


@login_required
def town_list(request):
    _require_reader(request.user)
    towns = selectors.town_list_for(user=request.user)
    return render(request, "projects/town_list.html", {"towns": towns})


@login_required
def town_detail(request, pk: int):
    _require_reader(request.user)
    town = get_object_or_404(selectors.town_list_for(user=request.user), pk=pk)
    communities = selectors.community_list_for(user=request.user, town=town)
    return render(
        request,
        "projects/town_detail.html",
        {"town": town, "page": paginate(request, communities, 50)},
    )


@login_required
def community_detail(request, pk: int):
    _require_reader(request.user)
    community = get_object_or_404(selectors.community_list_for(user=request.user), pk=pk)
    user = request.user
    context = {
        "community": community,
        "compounds": selectors.compound_list_for(user=user, community=community),
        "plans": selectors.plan_list_for(user=user).filter(community=community).order_by("-year"),
        "projects": selectors.renewal_list_for(user=user)
        .filter(community=community)
        .order_by("-created_at")[:20],
        "fund": selectors.fund_list_for(user=user).filter(community=community).first(),
        "supermarkets": selectors.supermarket_list_for(user=user).filter(community=community),
    }
    return render(request, "projects/community_detail.html", context)


@login_required
def compound_detail(request, pk: int):
    _require_reader(request.user)
    compound = get_object_or_404(selectors.compound_list_for(user=request.user), pk=pk)
    problems = selectors.problem_list_for(user=request.user).filter(compound=compound).order_by("-created_at")
    return render(
        request,
        "projects/compound_detail.html",
        {"compound": compound, "page": paginate(request, problems)},
    )


@login_required
def renewal_list(request):
    _require_reader(request.user)
    form = RenewalFilterForm(request.GET or None)
    qs = selectors.renewal_list_for(user=request.user).order_by("-created_at", "-id")
    if form.is_valid():
        if form.cleaned_data["kind"]:
            qs = qs.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["q"]:
            qs = qs.filter(name__icontains=form.cleaned_data["q"])
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(
        request,
        "projects/renewal_list.html",
        {"form": form, "page": paginate(request, qs), "query": query},
    )


@login_required
def renewal_detail(request, pk: int):
    _require_reader(request.user)
    project = get_object_or_404(selectors.renewal_list_for(user=request.user), pk=pk)
    advance_form, photo_form = AdvanceForm(), PhotoForm()
    if request.method == "POST":
        if "advance" in request.POST:
            advance_form = AdvanceForm(request.POST)
            if advance_form.is_valid():
                ok, project_ = call_service(
                    advance_form,
                    services.renewal_advance,
                    actor=request.user,
                    project=project,
                    note=advance_form.cleaned_data["note"],
                )
                if ok:
                    messages.success(request, f"项目已推进到「{project_.get_status_display()}」")
                    return redirect("projects:renewal-detail", pk=project.pk)
        else:
            photo_form = PhotoForm(request.POST, request.FILES)
            if photo_form.is_valid():
                ok, _ = call_service(
                    photo_form,
                    services.renewal_add_photo,
                    actor=request.user,
                    project=project,
                    upload=photo_form.cleaned_data["image"],
                    caption=photo_form.cleaned_data["caption"],
                )
                if ok:
                    messages.success(request, "照片已上传")
                    return redirect("projects:renewal-detail", pk=project.pk)
    nxt = RENEWAL_NEXT.get(RenewalStatus(project.status))
    return render(
        request,
        "projects/renewal_detail.html",
        {
            "project": project,
            "events": project.events.select_related("actor"),
            "milestones": project.milestones.all(),
            "photos": project.photos.all(),
            "next_status": RenewalStatus(nxt).label if nxt else None,
            "can_edit": access.can(request.user, "projects.edit", project.path),
            "advance_form": advance_form,
            "photo_form": photo_form,
        },
    )


@login_required
def fund_list(request):
    _require_reader(request.user, "projects.fund_view")
    return render(
        request,
        "projects/fund_list.html",
        {"page": paginate(request, selectors.fund_list_for(user=request.user), 50)},
    )


@login_required
def fund_detail(request, pk: int):
    _require_reader(request.user, "projects.fund_view")
    fund = get_object_or_404(selectors.fund_list_for(user=request.user), pk=pk)
    can_manage = access.can(request.user, "projects.fund_manage", fund.path)
    inflow_form = InflowForm(initial={"idempotency_key": uuid.uuid4().hex})
    month_form = MonthForm()
    supermarket = (
        selectors.supermarket_list_for(user=request.user).filter(community_id=fund.community_id).first()
    )
    if request.method == "POST" and can_manage:
        if "inflow" in request.POST:
            inflow_form = InflowForm(request.POST)
            if inflow_form.is_valid():
                data = inflow_form.cleaned_data
                ok, _ = call_service(
                    inflow_form,
                    services.fund_inflow,
                    actor=request.user,
                    fund=fund,
                    kind=data["kind"],
                    amount=data["amount"],
                    note=data["note"],
                    idempotency_key=f"page:{data['idempotency_key']}",
                )
                if ok:
                    messages.success(request, "入账成功")
                    return redirect("projects:fund-detail", pk=fund.pk)
        elif "month" in request.POST and supermarket is not None:
            month_form = MonthForm(request.POST)
            if month_form.is_valid():
                ok, record = call_service(
                    month_form,
                    services.supermarket_record_month,
                    actor=request.user,
                    supermarket=supermarket,
                    **month_form.cleaned_data,
                )
                if ok:
                    messages.success(request, f"已登记，提取微基金 {record.contribution} 元")
                    return redirect("projects:fund-detail", pk=fund.pk)
    entries = selectors.fund_entries_for(user=request.user, fund=fund)
    return render(
        request,
        "projects/fund_detail.html",
        {
            "fund": fund,
            "page": paginate(request, entries),
            "can_manage": can_manage,
            "inflow_form": inflow_form,
            "month_form": month_form,
            "supermarket": supermarket,
            "months": supermarket.months.order_by("-month")[:12] if supermarket else [],
        },
    )


@login_required
def import_view(request):
    if not access.can_anywhere(request.user, "projects.import"):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = excel.import_workbook(
            actor=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
        if report.ok:
            messages.success(request, f"导入成功：新增 {report.created} 条，更新 {report.updated} 条")
        else:
            messages.error(request, f"文件中有 {len(report.errors)} 行有误，整个文件未导入，请修改后重新上传")
    return render(request, "projects/import.html", {"form": form, "report": report})


@login_required
def export_view(request, kind: str):
    _require_reader(request.user)
    if kind not in excel.SHEETS:
        raise PermissionDenied
    content = excel.export_workbook(user=request.user, kind=kind)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}.xlsx"'
    return response
