"""Points pages (Chinese, phone first for residents and the merchant counter). Reads through
selectors, writes through services; out-of-scope ids are 404."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Q, Value, When
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe

from projects.models import Community, Town
from qionglai.core.errors import ApplicationError
from qionglai.core.pages import call_service, paginate, posted_id
from qionglai.core.places import place_name, place_names
from qionglai.users import access

from . import selectors, services
from .forms import (
    ClaimForm,
    CodeForm,
    DonateForm,
    NoteForm,
    ObjectionForm,
    OrderForm,
    PoolGrantForm,
    RankingForm,
    SanctionForm,
    StaffClaimForm,
)
from .models import Account, AccountKind, Claim, ClaimStatus, HolderClass, Offer, RedemptionStatus
from .services.periods import local_year


def _holder_accounts(user) -> list[Account]:
    # a read: accounts are opened by grant_give, or by the person on POST (account_open below),
    # never as a side effect of a GET
    return list(selectors.my_accounts(user=user))


def _no_account_yet(user, accounts) -> bool:
    return not accounts and access.can_anywhere(user, "points.hold")


@login_required
def account_open(request):
    """POST: opens the accounts the person's grants give them (idempotent); for a grant made
    before grant_give opened them. A GET only shows the page that offers this."""
    if request.method != "POST":
        return redirect("points:mine")
    if services.accounts_ensure_for(user=request.user):
        messages.success(request, "积分账户已开通")
    return redirect("points:mine")


# --- resident ---------------------------------------------------------------------------


@login_required
def my_points(request):
    accounts = _holder_accounts(request.user)
    if _no_account_yet(request.user, accounts):
        return render(request, "points/no_account.html")
    if not accounts:
        if services.merchants_of(request.user):
            return redirect("points:counter")
        if access.can_anywhere(request.user, "points.view"):
            return redirect("points:staff")
        raise PermissionDenied("您还没有积分账户")
    year = local_year()
    scores = selectors.scores(account_ids=[a.pk for a in accounts], year=year)
    for account in accounts:
        account.score = scores[account.pk]
    selected = next((a for a in accounts if str(a.pk) == request.GET.get("account")), accounts[0])
    page = paginate(request, selectors.history(account=selected), 15)
    return render(
        request,
        "points/my_points.html",
        {
            "accounts": accounts,
            "selected": selected,
            "year": year,
            "page": page,
            "lines": selectors.history_lines(page.object_list),
            "open_orders": selectors.my_redemptions(user=request.user).filter(status=RedemptionStatus.HELD)[
                :5
            ],
            "query": f"account={selected.pk}",
        },
    )


@login_required
def offer_list(request):
    accounts = _holder_accounts(request.user)
    offers = selectors.offers_open(path=accounts[0].path if accounts else None)
    kind = request.GET.get("kind", "")
    if kind:
        offers = offers.filter(merchant__kind=kind)
    q = request.GET.get("q", "").strip()
    if q:
        offers = offers.filter(Q(title__icontains=q) | Q(merchant__name__icontains=q))
    return render(
        request,
        "points/offer_list.html",
        {
            "page": paginate(request, offers, 20),
            "balance": sum(a.balance for a in accounts),
            "kind": kind,
            "q": q,
            "query": "&".join(f"{k}={v}" for k, v in (("kind", kind), ("q", q)) if v),
        },
    )


@login_required
def offer_detail(request, pk: int):
    offer = get_object_or_404(Offer.objects.select_related("merchant"), pk=pk, active=True)
    accounts = _holder_accounts(request.user)
    if _no_account_yet(request.user, accounts):
        return redirect("points:mine")
    form = OrderForm(request.POST or None, accounts=accounts, offer=offer)
    if request.method == "POST" and form.is_valid():
        account = next(a for a in accounts if a.pk == form.cleaned_data["account"])
        ok, redemption = call_service(
            form,
            services.redemption_order,
            actor=request.user,
            offer=offer,
            account=account,
            quantity=form.cleaned_data["quantity"],
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
        if ok:
            messages.success(request, f"兑换成功，已冻结 {redemption.points} 分。请到店出示核销码。")
            return redirect("points:order", pk=redemption.pk)
    return render(request, "points/offer_detail.html", {"offer": offer, "form": form, "accounts": accounts})


def _qr_svg(text: str) -> str:
    """Inline SVG of a QR code. Safe to mark safe: segno writes it from our own digits."""
    out = io.BytesIO()
    qr = segno.make_qr(text, error="m")  # never a Micro QR: phone scanners cannot read those
    qr.save(out, kind="svg", scale=8, border=2, xmldecl=False, omitsize=True, dark="#1f2328")
    return mark_safe(out.getvalue().decode())  # noqa: S308 - generated SVG, no user input


@login_required
def order_detail(request, pk: int):
    redemption = get_object_or_404(selectors.my_redemptions(user=request.user), pk=pk)
    if request.method == "POST":
        services.redemption_cancel(actor=request.user, redemption=redemption)
        messages.success(request, "订单已取消，积分已退回")
        return redirect("points:order", pk=pk)
    account = Account.objects.get(pk=redemption.account_id)
    return render(
        request,
        "points/order_detail.html",
        {
            "r": redemption,
            "account": account,
            "qr": _qr_svg(f"QLJF:{redemption.code}") if redemption.status == RedemptionStatus.HELD else "",
        },
    )


@login_required
def order_status(request, pk: int):
    """Polled by the order page so it changes the moment the counter settles it."""
    redemption = get_object_or_404(selectors.my_redemptions(user=request.user), pk=pk)
    balance = Account.objects.filter(pk=redemption.account_id).values_list("balance", flat=True).get()
    return JsonResponse(
        {"status": redemption.status, "label": redemption.get_status_display(), "balance": balance}
    )


@login_required
def order_list(request):
    return render(
        request,
        "points/order_list.html",
        {"page": paginate(request, selectors.my_redemptions(user=request.user))},
    )


@login_required
def donate(request):
    accounts = _holder_accounts(request.user)
    if _no_account_yet(request.user, accounts):
        return redirect("points:mine")
    if not accounts:
        raise PermissionDenied
    form = DonateForm(request.POST or None, accounts=accounts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source = next(a for a in accounts if a.pk == data["from_account"])
        target = None
        if data["target"] == "pool":
            target = services.pool_for(source.path)
        else:
            from django.contrib.auth import get_user_model

            user = (
                get_user_model().objects.filter(Q(username=data["person"]) | Q(phone=data["person"])).first()
            )
            target = (
                # the resident wallet first: a gift between neighbours lands where it can be spent
                Account.objects.filter(kind=AccountKind.HOLDER, user=user)
                .order_by(
                    Case(When(holder_class=HolderClass.RESIDENT, then=Value(0)), default=Value(1)), "id"
                )
                .first()
                if user
                else None
            )
            if target is None:
                form.add_error("person", "找不到对方的积分账户")
        if target is not None:
            ok, donation = call_service(
                form,
                services.donation_make,
                actor=request.user,
                from_account=source,
                to_account=target,
                amount=data["amount"],
                note=data["note"],
                idempotency_key=data["idempotency_key"],
            )
            if ok:
                messages.success(request, f"感谢您的爱心！已向「{target.name}」捐赠 {donation.amount} 分")
                return redirect("points:mine")
    return render(request, "points/donate.html", {"form": form})


@login_required
def claim_new(request):
    accounts = _holder_accounts(request.user)
    if _no_account_yet(request.user, accounts):
        return redirect("points:mine")
    form = ClaimForm(request.POST or None, request.FILES or None, accounts=accounts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = next(a for a in accounts if a.pk == data["account"])
        ok, _claim = call_service(
            form,
            services.claim_submit,
            actor=request.user,
            account=account,
            rule=data["rule"],
            quantity=data["quantity"],
            note=data["note"],
            evidence=data.get("evidence"),
        )
        if ok:
            messages.success(request, "申报已提交，社区审核通过后将公示 3 天")
            return redirect("points:my-claims")
    return render(request, "points/claim_new.html", {"form": form})


@login_required
def my_claims(request):
    return render(
        request, "points/my_claims.html", {"page": paginate(request, selectors.my_claims(user=request.user))}
    )


@login_required
def publicity(request):
    """The community's publicity list: anyone in it may read and object."""
    accounts = _holder_accounts(request.user)
    paths = [a.path for a in accounts] or access.grant_paths(request.user, "points.object")
    if not paths:
        raise PermissionDenied
    path = request.GET.get("path") if request.GET.get("path") in paths else paths[0]
    form = ObjectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        claim = get_object_or_404(Claim, pk=posted_id(request.POST.get("claim")))
        ok, _ = call_service(
            form, services.claim_object, actor=request.user, claim=claim, reason=form.cleaned_data["reason"]
        )
        if ok:
            messages.success(request, "异议已提交，社区将核实处理；处理前该积分暂不生效")
            return redirect(f"{request.path}?path={path}")
    return render(
        request,
        "points/publicity.html",
        {"page": paginate(request, selectors.publicity_list(path=path), 30), "form": form, "path": path},
    )


# --- merchant counter -------------------------------------------------------------------


@login_required
def counter(request):
    merchants = services.merchants_of(request.user)
    if not merchants:
        raise PermissionDenied("您不是任何商户的核销员")
    form = CodeForm(request.POST or request.GET or None)
    found = None
    if request.method == "POST" and form.is_valid():
        ok, r = call_service(
            form, services.redemption_verify, actor=request.user, code=form.cleaned_data["code"]
        )
        if ok:
            messages.success(
                request, f"核销成功：请交付「{r.offer.title} × {r.quantity}」，{r.points} 分已结算到本店"
            )
            return redirect("points:counter")
    elif request.GET.get("code") and form.is_valid():
        ok, found = call_service(
            form, services.redemption_find_for_counter, actor=request.user, code=form.cleaned_data["code"]
        )
    settlement = selectors.settled_points(merchants=merchants)
    for m in merchants:
        m.settled = settlement.get(m.pk, 0)
    recent = selectors.merchant_redemptions(merchants=merchants).filter(status=RedemptionStatus.SETTLED)[:10]
    offers = Offer.objects.filter(merchant__in=merchants).order_by("merchant_id", "price")
    return render(
        request,
        "points/counter.html",
        {"form": form, "found": found, "merchants": merchants, "recent": recent, "offers": offers},
    )


# --- community staff --------------------------------------------------------------------


def _flash(request, fn, /, **kwargs) -> bool:
    """Run a service from a list page's inline button; a refusal becomes an error message."""
    try:
        fn(**kwargs)
    except ApplicationError as error:
        messages.error(request, error.message)
        return False
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return False
    return True


def _require_staff(user):
    if not access.can_anywhere(user, "points.view"):
        raise PermissionDenied


def _scope_choices(user) -> list[tuple[str, str]]:
    out = []
    for path in access.grant_paths(user, "points.view"):
        town = Town.objects.filter(path=path).first()
        community = Community.objects.filter(path=path).first()
        out.append((path, (community or town).name if (community or town) else "全市"))
        children = (
            Community.objects.filter(town=town) if town else (Town.objects.all() if not community else [])
        )
        out += [(c.path, f"　{c.name}") for c in children]
    return out


@login_required
def staff(request):
    """积分管理: review queue, 代录, publicity, objections."""
    _require_staff(request.user)
    user = request.user
    record_form = StaffClaimForm(prefix="rec")
    if request.method == "POST":
        if "record" in request.POST:
            record_form = StaffClaimForm(request.POST, request.FILES, prefix="rec")
            if record_form.is_valid():
                data = record_form.cleaned_data
                ok, account = call_service(
                    record_form,
                    services.account_for_person,
                    actor=user,
                    ident=data["person"],
                    holder_class=data["holder_class"],
                )
                if ok:
                    ok, _ = call_service(
                        record_form,
                        services.claim_submit,
                        actor=user,
                        account=account,
                        rule=data["rule"],
                        quantity=data["quantity"],
                        note=data["note"],
                        evidence=data.get("evidence"),
                    )
                if ok:
                    messages.success(request, f"已为「{account.name}」代录申报，待审核")
                    return redirect("points:staff")
        elif "review" in request.POST:
            claim = get_object_or_404(
                selectors.claim_list_for(user=user), pk=posted_id(request.POST.get("claim"))
            )
            note = NoteForm(request.POST)
            note.is_valid()
            if _flash(
                request,
                services.claim_review,
                actor=user,
                claim=claim,
                approve=request.POST["review"] == "approve",
                note=note.cleaned_data.get("note", ""),
            ):
                messages.success(
                    request,
                    f"已{'通过' if request.POST['review'] == 'approve' else '退回'}：{claim.account.name} · {claim.rule.name}",
                )
            return redirect("points:staff")
        elif "resolve" in request.POST:
            objection = get_object_or_404(
                selectors.objection_list_for(user=user), pk=posted_id(request.POST.get("objection"))
            )
            note = NoteForm(request.POST)
            note.is_valid()
            if _flash(
                request,
                services.objection_resolve,
                actor=user,
                objection=objection,
                uphold=request.POST["resolve"] == "uphold",
                note=note.cleaned_data.get("note") or "经核实",
            ):
                messages.success(request, "异议已处理")
            return redirect("points:staff")
    return render(
        request,
        "points/staff.html",
        {
            "pending": selectors.claim_list_for(user=user, status=ClaimStatus.SUBMITTED)[:50],
            "publicity": selectors.claim_list_for(user=user).filter(
                status__in=[ClaimStatus.PUBLICITY, ClaimStatus.OBJECTED]
            )[:50],
            "objections": selectors.objection_list_for(user=user).filter(status="open")[:50],
            "record_form": record_form,
            "can_manage": access.can_anywhere(user, "points.manage"),
        },
    )


@login_required
def sanctions(request):
    _require_staff(request.user)
    form = SanctionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, account = call_service(
            form,
            services.account_for_person,
            actor=request.user,
            ident=data["person"],
            holder_class=data["holder_class"],
            action="points.manage",
        )
        if ok:
            ok, _ = call_service(
                form,
                services.sanction_apply,
                actor=request.user,
                account=account,
                rule=data["rule"],
                reason=data["reason"],
            )
        if ok:
            messages.success(request, f"已对「{account.name}」作出禁止清单处理")
            return redirect("points:sanctions")
    return render(
        request,
        "points/sanctions.html",
        {"form": form, "page": paginate(request, selectors.sanction_list_for(user=request.user))},
    )


@login_required
def pool(request):
    _require_staff(request.user)
    paths = access.grant_paths(request.user, "points.manage")
    pools = [services.pool_for(p) for p in paths if p.count(".") == 2]
    form = PoolGrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and pools:
        data = form.cleaned_data
        ok, account = call_service(
            form,
            services.account_for_person,
            actor=request.user,
            ident=data["person"],
            holder_class=data["holder_class"],
            action="points.manage",
        )
        if ok:
            ok, grant = call_service(
                form,
                services.pool_grant,
                actor=request.user,
                pool=pools[0],
                to_account=account,
                amount=data["amount"],
                reason=data["reason"],
                idempotency_key=data["idempotency_key"],
            )
        if ok:
            messages.success(request, f"已从捐赠池向「{account.name}」发放 {grant.amount} 分")
            return redirect("points:pool")
    grants = []
    if pools:
        from .models import PoolGrant

        grants = PoolGrant.objects.filter(pool__in=pools).select_related("to_account", "granted_by")[:30]
    return render(request, "points/pool.html", {"pools": pools, "form": form, "grants": grants})


@login_required
def ranking(request):
    _require_staff(request.user)
    choices = _scope_choices(request.user)
    # the defaults fill whatever the query leaves out, so the first load's export link (and a
    # bookmarked ?format=xlsx) rank the same thing the page shows
    params = {
        "holder_class": HolderClass.RESIDENT,
        "path": choices[0][0] if choices else "",
        "year": local_year(),
    }
    params.update({k: v for k, v in request.GET.items() if k in RankingForm.base_fields})
    form = RankingForm(params, paths=choices)
    ranked, excluded, data = [], [], {}
    if form.is_valid():
        data = form.cleaned_data
        ranked, excluded = selectors.ranking(
            user=request.user, holder_class=data["holder_class"], path=data["path"], year=data["year"]
        )
        names = place_names(row.account.path for row in [*ranked, *excluded])
        for row in [*ranked, *excluded]:
            row.place = names[row.account.path]
        if request.GET.get("format") == "xlsx":
            return _ranking_xlsx(ranked, excluded, data)
    return render(
        request,
        "points/ranking.html",
        {
            "form": form,
            "ranked": ranked,
            "excluded": excluded,
            "export_query": urlencode({**form.data, "format": "xlsx"}),
        },
    )


def _ranking_xlsx(ranked, excluded, data) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "评先评优排名"
    sheet.append(
        [
            f"{data['year']} 年 {HolderClass(data['holder_class']).label} 积分排名（范围 {place_name(data['path'])}）"
        ]
    )
    sheet.append(["名次", "名称", "所属", "年度积分"])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in ranked:
        sheet.append([row.rank, row.account.name, row.place, row.score])
    other = book.create_sheet("取消资格")
    other.append(["名称", "所属", "原积分", "原因"])
    for e in excluded:
        other.append([e.account.name, e.place, e.score, e.reason])
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="ranking-{data["holder_class"]}-{data["year"]}.xlsx"'
    )
    return response
