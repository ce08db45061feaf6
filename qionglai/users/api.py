from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from . import access
from .services import token_issue


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
    username = serializers.CharField(label="账号或手机号")
    password = serializers.CharField(label="密码", style={"input_type": "password"})


class TokenView(APIView):
    """Exchanges a username/phone and password for an API token (same throttling as login)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=TokenIn, responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})}
    )
    def post(self, request):
        body = TokenIn(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(request=request._request, **body.validated_data)
        if user is None:
            return Response({"message": "账号或密码不正确", "fields": {}}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"token": token_issue(user=user).key})
