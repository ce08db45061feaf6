"""Domain signals consultation publishes for higher apps (design §2, §5).

Sent by consultation services inside their transaction; receivers schedule work on commit.
`event_key` is unique per (topic, person, kind), so awards are idempotent per topic and person.
"""

from django.dispatch import Signal

# kwargs for all three: topic_id: int, user_id: int, community_path: str, event_key: str
participant_attended = Signal()  # signed in at a 小圆桌 meeting of the topic
participant_spoke = Signal()  # spoke at a meeting of the topic
supervision_recorded = Signal()  # the resident supervisor recorded a check in step 8 监督
