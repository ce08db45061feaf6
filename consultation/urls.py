from django.urls import path

from .views import meetings, templates, topics

app_name = "consultation"

# One URL per operation, named like the API's actions (docs/api.md).
urlpatterns = [
    path("", topics.index, name="index"),
    path("topics/new/", topics.topic_new, name="topic-new"),
    path("topics/<int:pk>/", topics.topic_detail, name="topic-detail"),
    path("topics/<int:pk>/advance/", topics.topic_advance, name="topic-advance"),
    path("topics/<int:pk>/review/", topics.topic_review, name="topic-review"),
    path("topics/<int:pk>/publicity/", topics.topic_publicity, name="topic-publicity"),
    path("topics/<int:pk>/publicity/photos/", topics.topic_publicity_photo, name="topic-publicity-photo"),
    path("topics/<int:pk>/objections/", topics.topic_objection, name="topic-objection"),
    path("topics/<int:pk>/objections/reply/", topics.topic_objection_reply, name="topic-objection-reply"),
    path("topics/<int:pk>/meeting/", topics.topic_meeting, name="topic-meeting"),
    path("topics/<int:pk>/resolution/", topics.topic_resolution, name="topic-resolution"),
    path("topics/<int:pk>/implementation/", topics.topic_implementation, name="topic-implementation"),
    path("topics/<int:pk>/progress/", topics.topic_progress, name="topic-progress"),
    path("topics/<int:pk>/outcomes/execute/", topics.topic_outcome_execute, name="topic-outcome-execute"),
    path("topics/<int:pk>/supervision/", topics.topic_supervision, name="topic-supervision"),
    path("topics/<int:pk>/rating/", topics.topic_rating, name="topic-rating"),
    path("topics/<int:pk>/evaluate/", topics.topic_evaluate, name="topic-evaluate"),
    path("topics/<int:pk>/end/", topics.topic_end, name="topic-end"),
    path("meetings/<int:pk>/", meetings.meeting_run, name="meeting-run"),
    path("meetings/<int:pk>/open/", meetings.meeting_open, name="meeting-open"),
    path("meetings/<int:pk>/sign-in/", meetings.meeting_sign_in, name="meeting-sign-in"),
    path("meetings/<int:pk>/speak/", meetings.meeting_speak, name="meeting-speak"),
    path("meetings/<int:pk>/end-speech/", meetings.meeting_end_speech, name="meeting-end-speech"),
    path("meetings/<int:pk>/options/", meetings.meeting_option, name="meeting-option"),
    path("meetings/<int:pk>/motions/", meetings.meeting_motion, name="meeting-motion"),
    path("meetings/<int:pk>/motions/close/", meetings.meeting_motion_close, name="meeting-motion-close"),
    path("meetings/<int:pk>/minutes/", meetings.meeting_minutes, name="meeting-minutes"),
    path("meetings/<int:pk>/close/", meetings.meeting_close, name="meeting-close"),
    path("meetings/<int:pk>/advance/", meetings.meeting_advance, name="meeting-advance"),
    path("meetings/<int:pk>/invite/", meetings.meeting_invite, name="meeting-invite"),
    path("meetings/<int:pk>/attachments/", meetings.meeting_attach, name="meeting-attach"),
    path("motions/<int:pk>/vote/", meetings.motion_vote, name="motion-vote"),
    path("motions/<int:pk>/count.json", meetings.motion_count, name="motion-count"),
    path("attachments/<int:pk>/", topics.attachment, name="attachment"),
    path("attachments/<int:pk>/thumb/", topics.attachment, {"thumb": True}, name="attachment-thumb"),
    path("public/<int:community>/", topics.public_notices, name="public-notices"),
    path("templates/", templates.template_list, name="template-list"),
    path("templates/<int:pk>/", templates.template_edit, name="template-edit"),
]
