# Open311 tests run against the routes module itself, mounted where the design puts it, so they
# do not depend on the project urls.py including it (services still link to incident pages).
from django.urls import include, path

urlpatterns = [
    path("open311/v2/", include("grids.open311_urls")),
    path("grids/", include("grids.urls")),
]
