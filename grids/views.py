"""Grid pages: mobile-first for grid workers and residents, tables for staff. Reads go
through selectors (out-of-scope incidents are 404, so nothing leaks by id); every change goes
through a service via call_service, which puts domain errors on the form."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from projects.models import Department
from qionglai.core.audit import audit_record
from qionglai.core.pages import call_service, paginate, posted_id
from qionglai.users import access
from qionglai.users.models import Role

from . import exports, selectors, services, transitions
from .filters import IncidentFilterSet, incident_list_url
from .forms import (
    AcceptForm,
    DispatchForm,
    EvaluateForm,
    ExtensionForm,
    ModeForm,
    ReasonForm,
    ReportForm,
    ResolveForm,
    RosterForm,
    VerifyForm,
)
from .models import (
    OPEN_STATES,
    GridKind,
    IncidentPhoto,
    PhotoStatus,
    RosterEntry,
    Status,
    Tier,
)
from .pagination import keyset_page


def _any(user, *actions) -> bool:
    return any(access.can_anywhere(user, a) for a in actions)


@login_required
def home(request):
    """Grid worker: my grids and their open incidents. Staff: the queues at a glance."""
    user = request.user
    if not access.can_anywhere(user, "grids.view"):
        if access.can_anywhere(user, "grids.report"):
            return redirect("grids:mine")  # residents: their own reports are their home here
        raise PermissionDenied
    tasks = selectors.task_list_for(user=user)
    grids = []
    if access.can_anywhere(user, "grids.view") and not access.has_role(
        user, Role.CITY_STAFF, Role.DEPARTMENT_HANDLER
    ):
        grids = list(
            selectors.grid_list_for(user=user, kind=GridKind.MICRO)
            .annotate(open_count=Count("incidents", filter=Q(incidents__status__in=OPEN_STATES)))
            .order_by("-open_count", "path")[:30]
        )
    now = timezone.now()
    counts = {}
    if access.can_anywhere(user, "grids.incident_view"):
        counts = selectors.workbench_counts(user=user, now=now)
    return render(
        request,
        "grids/home.html",
        {
            "tasks": tasks[:10],
            "task_count": selectors.task_count_for(user=user),
            "grids": grids,
            "counts": counts,
            "links": {
                "reported": incident_list_url(status=Status.REPORTED),
                "open": incident_list_url(open=1),
                "overdue": incident_list_url(overdue=1),
                "supervised": incident_list_url(supervised=1, open=1),
            },
            "now": now,
            "can_report": access.can_anywhere(user, "grids.report"),
            "extensions": selectors.pending_extensions_for(user=user).count(),
        },
    )


TITLES = {"reported": "待受理（分拣队列）", "overdue": "超时事件", "supervised": "升级督办事件"}
CHIPS = [
    ("办理中", {"open": "1"}),
    ("待受理", {"status": Status.REPORTED}),
    ("待派单", {"status": Status.ACCEPTED}),
    ("待核查", {"status": Status.RESOLVED}),
    ("已超时", {"overdue": "1"}),
    ("升级督办", {"supervised": "1", "open": "1"}),
    ("已归档", {"status": Status.CLOSED}),
]


def _incident_page(request, *, mine: bool = False):
    """The filtered, keyset-paged list both the list page and 我的上报 show."""
    user = request.user
    data = request.GET.copy()
    if mine:
        data["mine"] = "1"
    # the unfiltered list reads a community grant by community_id, as the API does
    # (selectors._staff_q): one ordered range of incident_community_created instead of the
    # community's path range sorted; a filtered page keeps the path indexes that carry its column
    queryset = None
    if not mine and not IncidentFilterSet.applies_to(data):
        queryset = selectors.visible_for(user=user, by_community=True)
    filterset = selectors.incident_filter(user=user, data=data, queryset=queryset)
    if not mine:
        filterset.for_page(user)
    valid = filterset.is_valid()
    active = filterset.active if valid else {}
    # no joins: the names the rows show come from the cached maps (selectors.named_rows)
    qs = (filterset.qs if valid else filterset.queryset.none()).select_related(None)
    whole = not active and not mine and selectors.sees_everything(user)
    try:
        page = keyset_page(qs, cursor=request.GET.get("cursor"), size=20, whole_table=whole)
    except ValidationError as error:
        messages.error(request, error.message_dict["cursor"][0])
        page = keyset_page(qs, cursor=None, size=20, whole_table=whole)
    page.rows = selectors.named_rows(page.rows)
    return filterset, active, page


@login_required
def incident_list(request):
    user = request.user
    if not (access.can_anywhere(user, "grids.incident_view") or access.units(user, Role.DEPARTMENT_HANDLER)):
        raise PermissionDenied
    filterset, active, page = _incident_page(request)
    title = "事件列表"
    if active.get("status") == Status.REPORTED:
        title = TITLES["reported"]
    elif active.get("overdue"):
        title = TITLES["overdue"]
    elif active.get("supervised"):
        title = TITLES["supervised"]
    query = urlencode(active, doseq=True)
    chips = [
        (label, urlencode(params), all(active.get(k) == v for k, v in params.items()))
        for label, params in CHIPS
    ]
    return render(
        request,
        "grids/incident_list.html",
        {
            "page": page,
            "filter": filterset,
            "query": query,
            "chips": chips,
            "title": title,
            "now": timezone.now(),
            "can_export": access.can_anywhere(user, "grids.incident_view"),
        },
    )


@login_required
def incident_export(request):
    """The list as a file, with exactly the list's filters; recorded in the audit log."""
    user = request.user
    if not access.can_anywhere(user, "grids.incident_view"):
        raise PermissionDenied
    filterset = selectors.incident_filter(user=user, data=request.GET)
    if not filterset.is_valid():
        messages.error(request, "筛选条件有误，未导出")
        return redirect(incident_list_url() + "?" + request.GET.urlencode())
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    audit_record(actor=user, action="incident.export", summary=fmt, data={"filters": filterset.active})
    return exports.export_response(filterset.qs, fmt=fmt)


@login_required
def task_list(request):
    tasks = selectors.task_list_for(user=request.user)
    return render(request, "grids/tasks.html", {"page": paginate(request, tasks), "now": timezone.now()})


@login_required
def my_reports(request):
    _, _, page = _incident_page(request, mine=True)
    return render(request, "grids/mine.html", {"page": page, "now": timezone.now(), "query": ""})


@login_required
def report(request):
    user = request.user
    if not access.can_anywhere(user, "grids.report"):
        raise PermissionDenied
    micro_grids = list(selectors.reportable_micro_grids(user=user)[:500])
    form = ReportForm(request.POST or None, request.FILES or None, micro_grids=micro_grids)
    # the page's outbox sends each draft in the background and reads JSON back
    outbox = request.method == "POST" and request.headers.get("X-Outbox") == "1"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = None
        if data["micro_grid"] is None and data["lat"] is None:
            community = _single_community(user)
        ok, incident = call_service(
            form,
            services.incident_report,
            actor=user,
            category=data["category"],
            urgency=data["urgency"],
            description=data["description"],
            address=data["address"],
            lat=data["lat"],
            lng=data["lng"],
            micro_grid=data["micro_grid"],
            channel=data["channel"] if access.can_anywhere(user, "grids.report_channel") else "online",
            photos=data["photos"],
            community=community,
            idempotency_key=request.POST.get("idempotency_key", ""),
        )
        if ok:
            if not outbox or request.headers.get("X-Outbox-Foreground") == "1":
                messages.success(request, f"事件已上报（编号 {incident.pk}），我们会尽快受理")
            if outbox:
                url = reverse("grids:incident-detail", args=[incident.pk])
                replayed = getattr(incident, "replayed", False)
                return JsonResponse({"id": incident.pk, "url": url}, status=200 if replayed else 201)
            return redirect("grids:incident-detail", pk=incident.pk)
    if outbox:
        # refused: the draft stays in the outbox with the messages, for the worker to fix
        fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        first = next((m for errors in fields.values() for m in errors), "提交的内容有误")
        return JsonResponse(
            {"message": first, "fields": fields}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    return render(
        request,
        "grids/report.html",
        {"form": form, "is_staff": access.can_anywhere(user, "grids.report_channel")},
    )


def report_service_worker(request):
    """The report page's service worker, served under /grids/ so its scope covers the page.
    Its version follows the assets' contents, so a release replaces the cached copies."""
    from django.contrib.staticfiles import finders

    digest = hashlib.sha256()
    for name in ("css/app.css", "css/nav.css", "css/grids.css", "js/nav.js", "js/grids-report.js"):
        found = finders.find(name)
        digest.update(Path(found).read_bytes() if found else name.encode())
    version = digest.hexdigest()[:12]
    response = render(request, "grids/sw.js", {"version": version}, content_type="application/javascript")
    response["Cache-Control"] = "no-cache"  # browsers re-check a worker's script anyway
    return response


def _single_community(user):
    """A resident without a location or grid choice reports to the community of their grant."""
    from projects.models import Community

    paths = access.grant_paths(user, "grids.report")
    if len(paths) == 1:
        return Community.objects.filter(path=".".join(paths[0].split(".")[:3])).first()
    return None


def _actions(user, inc) -> dict:
    """The buttons the page shows: exactly the moves the transition table allows this user now."""
    allowed = transitions.available(user, inc)
    return {
        "accept": "accept" in allowed,
        "accept_grid_only": not access.can(user, "grids.dispatch", inc.path),
        "reject": "reject" in allowed,
        "dispatch": "dispatch" in allowed,
        "handle": "resolve" in allowed,
        "verify": "verify" in allowed,
        "evaluate": "evaluate" in allowed,
        # pressing it twice is harmless in the service, but the page need not offer it again
        "me_too": "me_too" in allowed and not inc.followers.filter(user=user).exists(),
    }


ACTION_FORMS = {
    "accept": AcceptForm,
    "reject": ReasonForm,
    "dispatch": DispatchForm,
    "return": ReasonForm,
    "extension": ExtensionForm,
    "resolve": ResolveForm,
    "verify": VerifyForm,
    "evaluate": EvaluateForm,
}


@login_required
def incident_detail(request, pk: int):
    user = request.user
    inc = selectors.incident_detail_for(user=user, pk=pk)
    if inc is None:
        raise Http404
    departments = list(Department.objects.all())
    forms = {
        "accept": AcceptForm(
            initial={"tier": Tier.GRID, "urgency": inc.urgency, "category": inc.category.code}
        ),
        "reject": ReasonForm(prefix="reject"),
        "dispatch": DispatchForm(departments=departments, initial={"tier": inc.tier or Tier.COMMUNITY}),
        "return": ReasonForm(prefix="return"),
        "extension": ExtensionForm(),
        "resolve": ResolveForm(),
        "verify": VerifyForm(),
        "evaluate": EvaluateForm(),
    }
    actions = _actions(user, inc)
    if not actions["accept_grid_only"]:
        forms["accept"].initial["tier"] = Tier.COMMUNITY
    else:
        forms["accept"].fields["tier"].choices = [(Tier.GRID, Tier.GRID.label)]
    if request.method == "POST":
        action = request.POST.get("action", "")
        ok, message = _handle_post(request, inc, action, forms, departments)
        if ok:
            messages.success(request, message)
            return redirect("grids:incident-detail", pk=inc.pk)
        inc = selectors.incident_detail_for(user=user, pk=pk)
        # the state moved on (another user acted first): the form for this action is no
        # longer shown, so its refusal goes to the messages instead
        shown = {"resolve": "handle", "extension": "handle", "return": "handle"}.get(action, action)
        form = forms.get(action)
        actions = _actions(user, inc)
        if form is not None and not actions.get(shown):
            for error in form.non_field_errors():
                messages.error(request, error)
    events = inc.events.select_related("actor").order_by("at", "id")
    photos = list(inc.photos.all())
    return render(
        request,
        "grids/incident_detail.html",
        {
            "inc": inc,
            "events": events,
            "before_photos": [p for p in photos if p.kind == "before"],
            "after_photos": [p for p in photos if p.kind == "after"],
            "actions": actions,
            "forms": forms,
            "now": timezone.now(),
            "escalations": inc.escalations.all(),
            "extensions": inc.extensions.select_related("requested_by").all(),
            "show_reporter": access.can(user, "grids.incident_view", inc.path),
        },
    )


def _handle_post(request, inc, action, forms, departments):
    user = request.user
    if action == "me_too":
        ok, _ = call_service(None, services.incident_me_too, actor=user, incident=inc)
        return ok, "已附议，您将收到该事件的进展"
    if action not in ACTION_FORMS:
        raise PermissionDenied
    prefix = {"reject": "reject", "return": "return"}.get(action)
    kwargs = {"prefix": prefix} if prefix else {}
    if action == "dispatch":
        kwargs["departments"] = departments
    form = ACTION_FORMS[action](request.POST, request.FILES, **kwargs)
    if action == "accept" and forms["accept"].fields["tier"].choices != form.fields["tier"].choices:
        form.fields["tier"].choices = forms["accept"].fields["tier"].choices
    forms[action] = form
    if not form.is_valid():
        return False, ""
    d = form.cleaned_data
    if action == "accept":
        ok, _ = call_service(
            form,
            services.incident_accept,
            actor=user,
            incident=inc,
            tier=d["tier"],
            urgency=d["urgency"],
            category=d["category"],
            note=d["note"],
        )
        return ok, "已受理"
    if action == "reject":
        ok, _ = call_service(form, services.incident_reject, actor=user, incident=inc, reason=d["reason"])
        return ok, "已不予受理，并告知上报人"
    if action == "dispatch":
        department = next((x for x in departments if x.code == d["department"]), None)
        ok, _ = call_service(
            form,
            services.incident_dispatch,
            actor=user,
            incident=inc,
            tier=d["tier"],
            department=department,
            note=d["note"],
        )
        return ok, "已派单"
    if action == "return":
        ok, _ = call_service(form, services.incident_return, actor=user, incident=inc, reason=d["reason"])
        return ok, "已退回，等待重新派单"
    if action == "extension":
        ok, _ = call_service(
            form,
            services.incident_request_extension,
            actor=user,
            incident=inc,
            hours=d["hours"],
            reason=d["reason"],
        )
        return ok, "延期申请已提交"
    if action == "resolve":
        ok, _ = call_service(
            form, services.incident_resolve, actor=user, incident=inc, result=d["result"], photos=d["photos"]
        )
        return ok, "已办结，等待核查"
    if action == "verify":
        ok, _ = call_service(
            form, services.incident_verify, actor=user, incident=inc, passed=d["passed"], note=d["note"]
        )
        return ok, "核查完成"
    ok, _ = call_service(
        form,
        services.incident_evaluate,
        actor=user,
        incident=inc,
        satisfaction=d["satisfaction"],
        comment=d["comment"],
    )
    return ok, "感谢您的评价"


@login_required
def photo(request, pk: int, thumb: bool = False):
    """Incident photos only for those who may see the incident (they are not under MEDIA_URL)."""
    # only re-encoded photos: an original waiting in quarantine, or a refused one, is never sent
    item = get_object_or_404(
        IncidentPhoto.objects.only("id", "incident_id", "image", "thumbnail"),
        pk=pk,
        status=PhotoStatus.READY,
    )
    if selectors.incident_detail_for(user=request.user, pk=item.incident_id) is None:
        raise Http404
    field = item.thumbnail if thumb else item.image
    response = FileResponse(
        field.open("rb"), content_type="image/png" if field.name.endswith(".png") else "image/jpeg"
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def extension_list(request):
    user = request.user
    if not access.can_anywhere(user, "grids.approve_extension"):
        raise PermissionDenied
    if request.method == "POST":
        ext = get_object_or_404(
            selectors.pending_extensions_for(user=user), pk=posted_id(request.POST.get("extension"))
        )
        call_service(
            None,
            services.incident_decide_extension,
            actor=user,
            extension=ext,
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("note", "")[:300],
        )
        messages.success(request, "已审批")
        return redirect("grids:extensions")
    pending = selectors.pending_extensions_for(user=user)
    return render(request, "grids/extensions.html", {"page": paginate(request, pending)})


@login_required
def grid_list(request):
    user = request.user
    if not access.can_anywhere(user, "grids.view"):
        raise PermissionDenied
    kind = request.GET.get("kind") or GridKind.GENERAL
    qs = selectors.with_totals(selectors.grid_list_for(user=user, kind=kind))
    if q := (request.GET.get("q") or "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(community__name__icontains=q))
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(
        request,
        "grids/grid_list.html",
        {"page": paginate(request, qs, 50), "kind": kind, "kinds": GridKind.choices, "query": query},
    )


@login_required
def grid_detail(request, pk: int):
    user = request.user
    grid = get_object_or_404(selectors.with_totals(selectors.grid_list_for(user=user)), pk=pk)
    mode_form, roster_form = (
        ModeForm(initial={"mode": "war" if grid.mode == "peace" else "peace"}),
        RosterForm(),
    )
    if request.method == "POST":
        if "mode" in request.POST:
            mode_form = ModeForm(request.POST)
            if mode_form.is_valid():
                ok, _ = call_service(
                    mode_form, services.grid_mode_switch, actor=user, grid=grid, **mode_form.cleaned_data
                )
                if ok:
                    messages.success(request, "运行模式已切换")
                    return redirect("grids:grid-detail", pk=grid.pk)
        elif "retire" in request.POST:
            entry = get_object_or_404(RosterEntry, pk=request.POST["retire"], grid=grid)
            call_service(None, services.roster_retire, actor=user, entry=entry)
            messages.success(request, "已调离岗位")
            return redirect("grids:grid-detail", pk=grid.pk)
        else:
            roster_form = RosterForm(request.POST)
            if roster_form.is_valid():
                d = roster_form.cleaned_data
                person = (
                    get_user_model()
                    .objects.filter(Q(username=d["username"]) | Q(phone=d["username"]))
                    .first()
                )
                if person is None:
                    roster_form.add_error("username", "未找到该账号")
                else:
                    ok, _ = call_service(
                        roster_form,
                        services.roster_assign,
                        actor=user,
                        grid=grid,
                        user=person,
                        post=d["post"],
                        reserve_kind=d["reserve_kind"],
                    )
                    if ok:
                        messages.success(request, "已加入网格人员")
                        return redirect("grids:grid-detail", pk=grid.pk)
    roster = (
        RosterEntry.objects.filter(grid=grid, retired_at__isnull=True)
        .select_related("user")
        .order_by("post", "id")
    )
    children = grid.children.filter(retired_at__isnull=True).order_by("path")
    open_incidents = selectors.incident_list_for(user=user, filters={"open": True, "path": grid.path})
    return render(
        request,
        "grids/grid_detail.html",
        {
            "grid": grid,
            "roster": roster,
            "children": children[:100],
            "open_page": paginate(request, open_incidents, 10),
            "switches": grid.mode_switches.select_related("actor")[:10],
            "doctor_pairings": grid.doctor_pairings.filter(ended_on__isnull=True).select_related("team"),
            "party_group": getattr(grid, "party_group", None) if grid.kind == GridKind.MICRO else None,
            "party_org": getattr(grid, "party_organization", None) if grid.kind == GridKind.GENERAL else None,
            "can_switch": access.can(user, "grids.mode_switch", grid.path),
            "can_roster": access.can(user, "grids.roster_manage", grid.path),
            "mode_form": mode_form,
            "roster_form": roster_form,
            "now": timezone.now(),
        },
    )
