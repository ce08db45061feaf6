from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import access, second_factor
from .services import token_issue
from .throttle import AnonRateThrottle, ScopedRateThrottle


class GrantOut(serializers.Serializer):
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    path = serializers.CharField()
    post = serializers.CharField()
    unit = serializers.CharField()


class MeOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    real_name = serializers.CharField()
    grants = GrantOut(many=True)


class MeView(APIView):
    @extend_schema(responses=MeOut)
    def get(self, request):
        user = request.user
        return Response(
            MeOut(
                {
                    "id": user.pk,
                    "username": user.username,
                    "real_name": user.real_name,
                    "grants": access.active_grants(user),
                }
            ).data
        )


class TokenIn(serializers.Serializer):
    username = serializers.CharField(label="账号或手机号", max_length=150)
    password = serializers.CharField(label="密码", max_length=128, style={"input_type": "password"})
    otp = serializers.CharField(
        label="动态验证码",
        max_length=16,
        required=False,
        help_text="工作人员账号必填：验证器上的 6 位数字或一个恢复码",
    )


MSG_OTP_REQUIRED = "工作人员账号需要填写动态验证码"
MSG_OTP_NOT_ENROLLED = "请先在网页上登录并启用动态验证码，再签发 API 令牌"


class TokenView(APIView):
    """Exchanges a username/phone and password for an API token (same throttling as login)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=TokenIn,
        responses={
            200: inline_serializer(
                "TokenOut", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
            )
        },
    )
    def post(self, request):
        body = TokenIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = authenticate(request=request._request, username=data["username"], password=data["password"])
        if user is None:
            return Response({"message": "账号或密码不正确", "fields": {}}, status=status.HTTP_400_BAD_REQUEST)
        if second_factor.required_for(user):
            # tokens for staff only after a verified login (design §12)
            if not second_factor.user_has_device(user):
                raise ValidationError({"otp": [MSG_OTP_NOT_ENROLLED]})
            if not data.get("otp"):
                raise ValidationError({"otp": [MSG_OTP_REQUIRED]})
            try:
                second_factor.otp_verify(request=request._request, user=user, token=data["otp"], login=False)
            except ValidationError as error:
                raise ValidationError({"otp": error.message_dict["token"]}) from error
        token, key = token_issue(user=user, label="API 登录")
        return Response({"token": key, "expires_at": token.expires_at})
