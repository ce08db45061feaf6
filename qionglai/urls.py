from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from qionglai.core import health
from qionglai.core import views as core_views
from qionglai.core.api_root import ApiRoot


def _optional(module: str) -> list:
    try:
        __import__(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return []
    return [path("", include(module))]


# Django tries a request's path against each pattern in order, so the grids API (the incident
# list is the busiest endpoint) comes before the users' and the projects' (some 40 router
# patterns); no two apps' prefixes overlap, so the order picks no other view for any path
# (tests/core/test_urls.py).
api_v1 = [
    path("", ApiRoot.as_view(), name="api-root"),
    *_optional("grids.api_urls"),
    path("", include("qionglai.users.api_urls")),
    path("", include("projects.api_urls")),
    *_optional("consultation.api_urls"),
    *_optional("points.api_urls"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("status/", health.status_page, name="status"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("accounts/", include("qionglai.users.urls")),
    path("notifications/", include("qionglai.core.urls")),
    path("registry/", include("projects.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("i18n/", include("django.conf.urls.i18n")),
]
for module, prefix in (
    ("grids.urls", "grids/"),
    ("grids.open311_urls", "open311/v2/"),  # GeoReport v2 at the path its clients expect
    ("consultation.urls", "consultation/"),
    ("points.urls", "points/"),
    ("qionglai.dashboard.urls", "dashboard/"),
):
    try:
        __import__(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
    else:
        urlpatterns.append(path(prefix, include(module)))

# MEDIA_ROOT is never served directly (design §12): every uploaded file goes through a view that
# checks who may see it (grids photos, consultation attachments, claim evidence, renewal photos).

handler403 = "qionglai.core.views.permission_denied"
handler404 = "qionglai.core.views.page_not_found"
handler500 = "qionglai.core.views.server_error"
