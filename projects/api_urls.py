from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("towns", api.TownViewSet, basename="town")
router.register("communities", api.CommunityViewSet, basename="community")
router.register("compounds", api.CompoundViewSet, basename="compound")
router.register("plans", api.PlanViewSet, basename="plan")
router.register("problems", api.ProblemViewSet, basename="problem")
router.register("renewal-projects", api.RenewalViewSet, basename="renewal")
router.register("funds", api.FundViewSet, basename="fund")
router.register("supermarkets", api.SupermarketViewSet, basename="supermarket")

urlpatterns = router.urls
