"""Domain signals grids publishes for higher apps (design §2). grids never imports them.

Each is sent by a grids service *inside* its transaction; a receiver that does work should
schedule it with `transaction.on_commit` so nothing happens for a rolled-back change.
`event_key` is unique per source event, for idempotent handling by receivers.
"""

from django.dispatch import Signal

# A reported incident passed verification (RESOLVED → VERIFIED).
# kwargs: incident_id: int, reporter_id: int | None, party_member_ids: list[int]
#         (party members who took part in handling it), community_path: str, event_key: str
incident_verified = Signal()
