"""GET /api/v1/: the API root. Its own module because it is documented with drf-spectacular,
which cannot be imported from qionglai.core.api (DRF imports that module, as the pagination
class, while rest_framework.generics is still initialising)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRoot(APIView):
    """GET /api/v1/: the API's collections (every argument-free endpoint under /api/v1/) and
    where the documentation is. Open to anyone: it lists addresses, never data."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(summary="接口目录：各集合的地址与文档位置", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver

        def names(patterns):
            for entry in patterns:
                if isinstance(entry, URLResolver) and not entry.namespace:
                    yield from names(entry.url_patterns)
                elif isinstance(entry, URLPattern) and entry.name:
                    yield entry.name

        endpoints = {}
        for name in set(names(get_resolver().url_patterns)):
            try:
                url = reverse(name)  # a name that needs an id is not a collection: skipped
            except NoReverseMatch:
                continue
            if url.startswith("/api/v1/") and url != "/api/v1/":
                endpoints[name] = request.build_absolute_uri(url)
        return Response(
            {
                "name": "邛崃善治 API",
                "version": "v1",
                "docs": request.build_absolute_uri(reverse("swagger-ui")),
                "schema": request.build_absolute_uri(reverse("schema")),
                "endpoints": dict(sorted(endpoints.items())),
            }
        )
