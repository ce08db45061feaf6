"""Account security pages: second-factor enrolment and verification, recovery codes, API
tokens. Each page calls a service; none changes state itself."""

from __future__ import annotations

import io

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from . import second_factor
from .models import ApiToken
from .services import token_issue, token_revoke


class CodeForm(forms.Form):
    token = forms.CharField(
        label="验证码",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="打开手机上的验证器应用，输入当前显示的 6 位数字；手机不在身边时可输入一个备用恢复码。",
    )


class EnrolForm(CodeForm):
    token = forms.CharField(
        label="验证码",
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="添加后，输入验证器上显示的 6 位数字以确认。",
    )


class TokenForm(forms.Form):
    label = forms.CharField(label="用途说明", max_length=60, required=False)


def _next(request, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _qr_svg(text: str) -> str:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, omitsize=True)
    return mark_safe(out.getvalue().decode())  # noqa: S308 - segno's own SVG of our otpauth URL


def _apply_errors(form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


@login_required
def otp_enrol(request):
    user = request.user
    device = second_factor.otp_enrol_start(user=user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = second_factor.otp_enrol_confirm(
                request=request, user=user, device=device, token=form.cleaned_data["token"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return render(request, "users/recovery_codes.html", {"codes": codes, "next": _next(request)})
    return render(
        request,
        "users/otp_enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": second_factor.secret_of(device),
            "next": _next(request, ""),
            "forced": second_factor.stage(user) == second_factor.Stage.ENROL,
        },
        status=400 if form.errors else 200,
    )


@login_required
def otp_verify(request):
    user = request.user
    if second_factor.stage(user) != second_factor.Stage.VERIFY:
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            second_factor.otp_verify(request=request, user=user, token=form.cleaned_data["token"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect(_next(request))
    return render(
        request,
        "users/otp_verify.html",
        {"form": form, "next": _next(request, "")},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def recovery_regenerate(request):
    codes = second_factor.otp_recovery_regenerate(request=request, user=request.user)
    return render(request, "users/recovery_codes.html", {"codes": codes, "next": "/accounts/security/"})


@login_required
def security(request):
    """The account's second factor and its API tokens (listed, issued, revoked here)."""
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "users/security.html",
        {
            "tokens": tokens,
            "now": timezone.now(),
            "form": TokenForm(),
            "needs_factor": second_factor.required_for(request.user),
            "enrolled": second_factor.has_device(request.user),
        },
    )


@login_required
@require_POST
def token_new(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        return redirect("account_security")
    if second_factor.required_for(request.user) and not request.user.is_verified():
        messages.error(request, "请先启用并验证动态验证码，再签发 API 令牌。")
        return redirect("account_security")
    token, key = token_issue(user=request.user, label=form.cleaned_data["label"])
    return render(request, "users/token_new.html", {"token": token, "key": key})


@login_required
@require_POST
def token_revoke_view(request, pk: int):
    token_revoke(user=request.user, token_id=pk)
    messages.success(request, "令牌已撤销，使用它的程序将无法再访问。")
    return redirect("account_security")
