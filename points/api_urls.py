from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("points/accounts", api.AccountViewSet, basename="points-account")
router.register("points/offers", api.OfferViewSet, basename="points-offer")
router.register("points/redemptions", api.RedemptionViewSet, basename="points-redemption")
router.register("points/rules", api.RuleViewSet, basename="points-rule")
router.register("points/claims", api.ClaimViewSet, basename="points-claim")
router.register("points/merchant-offers", api.MerchantOfferViewSet, basename="points-merchant-offer")

urlpatterns = [
    path("points/counter/lookup/", api.CounterLookupView.as_view(), name="points-counter-lookup"),
    path("points/counter/verify/", api.CounterVerifyView.as_view(), name="points-counter-verify"),
    path("points/donations/", api.DonationView.as_view(), name="points-donations"),
    path("points/ranking/", api.RankingView.as_view(), name="points-ranking"),
    *router.urls,
]
