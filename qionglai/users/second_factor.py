"""The second factor for staff and grid workers (design §12), on django-otp.

A staff role signs in with the password, then a TOTP code from a phone authenticator (or one
of ten single-use recovery codes). django-otp verifies the codes: a TOTP code is refused a
second time within its time step (the device keeps the last step used) and wrong codes are
throttled with an increasing delay. This module decides who needs the factor, how far a
session has got, and writes every enrolment and reset with its audit row.
"""

from __future__ import annotations

import base64
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from qionglai.core.audit import audit_record

from . import access, identity
from .models import User

RECOVERY_CODE_COUNT = 10
DEVICE_NAME = "手机验证器"
RECOVERY_NAME = "备用恢复码"
MSG_BAD_CODE = "验证码不正确或已使用，请输入验证器上当前显示的 6 位数字"
MSG_THROTTLED = "错误次数过多，请稍等片刻再试"
MSG_RESET_SELF = "不能重置自己的动态验证码，请由另一位管理员操作"
MSG_RESET_DENIED = "只有系统管理员可以重置他人的动态验证码"


class Stage(StrEnum):
    OK = "ok"  # no factor needed, or verified in this session
    GRACE = "grace"  # needed, not enrolled, still within the grace logins
    VERIFY = "verify"  # enrolled: the code must be entered
    ENROL = "enrol"  # needed, not enrolled, grace used up: enrolment is forced


def required_for(user) -> bool:
    """Does this account need a second factor? Every staff role, every grid worker, admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_superuser or access.has_role(user, *access.STAFF_ROLES))


def grace_left(user) -> bool:
    grace = settings.OTP_GRACE_LOGINS
    return grace is None or user.logins_without_second_factor <= grace


def has_device(user) -> bool:
    """Has the user a confirmed device? From the identity cache's copy when the request's user
    came from it (no query), else django-otp's lookup (one query per device kind)."""
    devices = getattr(user, "_identity_devices", None)
    if devices is not None:
        return bool(devices)
    return user_has_device(user)


def stage(user) -> Stage:
    if not required_for(user):
        return Stage.OK
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return Stage.OK
    if has_device(user):
        return Stage.VERIFY
    return Stage.GRACE if grace_left(user) else Stage.ENROL


def count_login(*, user) -> None:
    """Called on every sign-in: an account that needs the factor and has none uses one grace login."""
    if required_for(user) and not user_has_device(user):
        User.objects.filter(pk=user.pk).update(
            logins_without_second_factor=F("logins_without_second_factor") + 1
        )
        identity.forget_user(user.pk)  # an update() sends no signal
        user.refresh_from_db(fields=["logins_without_second_factor"])


def secret_of(device: TOTPDevice) -> str:
    """The base32 secret an authenticator app takes for manual entry."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def otp_enrol_start(*, user) -> TOTPDevice:
    """The user's unconfirmed TOTP device, made on first call. Pre: user needs or wants the
    factor. Post: at most one unconfirmed device; confirmed devices untouched."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


def otp_enrol_confirm(*, request, user, device: TOTPDevice, token: str) -> list[str]:
    """Confirms the device with a code it produced, signs this session in with it and returns
    ten fresh recovery codes (shown once). Pre: `device` is the user's unconfirmed device.
    Post: the device is confirmed, older TOTP devices are gone, an audit row is written."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            raise ValidationError({"token": MSG_THROTTLED})
        if not device.verify_token(token.strip()):
            raise ValidationError({"token": MSG_BAD_CODE})
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        User.objects.filter(pk=user.pk).update(logins_without_second_factor=0)
        identity.forget_user(user.pk)  # an update() sends no signal
        audit_record(actor=user, action="otp.enrol", target=user, summary="启用动态验证码")
    otp_login(request, device)
    return codes


def otp_verify(*, request, user, token: str, login: bool = True):
    """Checks a TOTP or recovery code against the user's confirmed devices and (login=True)
    marks the session verified. A recovery code is used up by the check; a TOTP code is refused
    again within its time step. Raises ValidationError."""
    token = token.strip().replace(" ", "")
    throttled = False
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                throttled = True
                continue
            if device.verify_token(token):
                kind = "recovery" if isinstance(device, StaticDevice) else "totp"
                audit_record(
                    actor=user,
                    action="otp.verify",
                    target=user,
                    summary="动态验证码验证",
                    data={"kind": kind},
                )
                break
        else:
            device = None
    if device is None:
        raise ValidationError({"token": MSG_THROTTLED if throttled else MSG_BAD_CODE})
    if login:
        otp_login(request, device)
    return device


def otp_recovery_regenerate(*, request, user) -> list[str]:
    """Ten new recovery codes for a verified user; the old ones stop working."""
    if not request.user.is_verified():
        raise PermissionDenied(access.DENIED_MESSAGE)
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit_record(actor=user, action="otp.recovery_codes", target=user, summary="重新生成恢复码")
    return codes


@transaction.atomic
def otp_device_reset(*, actor, user) -> int:
    """Removes every second-factor device of `user`, so they enrol again at their next sign-in.
    Pre: actor is an admin other than user (a lost phone must not be self-served by whoever
    holds the password). Post: devices gone, grace counter restarted, audited."""
    if not access.is_admin(actor):
        raise PermissionDenied(MSG_RESET_DENIED)
    if actor.pk == user.pk:
        raise PermissionDenied(MSG_RESET_SELF)
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        removed += model.objects.filter(user=user).count()
        model.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(logins_without_second_factor=0)
    identity.forget_user(user.pk)  # an update() sends no signal
    audit_record(
        actor=actor, action="otp.reset", target=user, summary="重置动态验证码", data={"devices": removed}
    )
    return removed
