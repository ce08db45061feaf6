from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("consultation/topics", api.TopicViewSet, basename="consultation-topic")
router.register("consultation/meetings", api.MeetingViewSet, basename="consultation-meeting")
router.register("consultation/motions", api.MotionViewSet, basename="consultation-motion")
router.register("consultation/publicity", api.PublicityViewSet, basename="consultation-publicity")
router.register("consultation/objections", api.ObjectionViewSet, basename="consultation-objection")
router.register("consultation/ratings", api.RatingViewSet, basename="consultation-rating")
router.register("consultation/outcomes", api.OutcomeViewSet, basename="consultation-outcome")
router.register("consultation/templates", api.TemplateViewSet, basename="consultation-template")

urlpatterns = router.urls
