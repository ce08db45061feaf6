from django.urls import path

from . import views

app_name = "consultation"

urlpatterns = [
    path("topics/<int:pk>/", views.topic_detail, name="topic-detail"),
]
