"""Open311 GeoReport v2 routes. Mounted at /open311/v2/ by the project's urls.py:
path("open311/v2/", include("grids.open311_urls")),"""

from django.urls import path, register_converter

from . import open311


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FormatConverter, "fmt")

app_name = "open311"

urlpatterns = [
    path("discovery.<fmt:fmt>", open311.discovery, name="discovery"),
    path("services.<fmt:fmt>", open311.service_list, name="services"),
    path("services/<str:code>.<fmt:fmt>", open311.service_definition, name="service"),
    path("requests.<fmt:fmt>", open311.request_list, name="requests"),
    path("requests/<int:pk>.<fmt:fmt>", open311.request_detail, name="request"),
    path("tokens/<uuid:token>.<fmt:fmt>", open311.token_detail, name="token"),
]
