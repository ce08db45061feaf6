from django.urls import path

from . import views

app_name = "consultation"

urlpatterns = [
    path("", views.index, name="index"),
    path("topics/new/", views.topic_new, name="topic-new"),
    path("topics/<int:pk>/", views.topic_detail, name="topic-detail"),
    path("meetings/<int:pk>/", views.meeting_run, name="meeting-run"),
    path("motions/<int:pk>/vote/", views.motion_vote, name="motion-vote"),
    path("motions/<int:pk>/count.json", views.motion_count, name="motion-count"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("attachments/<int:pk>/thumb/", views.attachment, {"thumb": True}, name="attachment-thumb"),
    path("public/<int:community>/", views.public_notices, name="public-notices"),
    path("templates/", views.template_list, name="template-list"),
    path("templates/<int:pk>/", views.template_edit, name="template-edit"),
]
