from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("incidents", api.IncidentViewSet, basename="incident")
router.register("incident-categories", api.CategoryViewSet, basename="incident-category")
router.register("grids", api.GridViewSet, basename="grid")

urlpatterns = router.urls
