import pytest

from qionglai.core.models import AuditEvent, Notification
from qionglai.core.notify import deliver, notification_mark_read

pytestmark = pytest.mark.django_db


def test_it_delivers_a_notice_once_per_key(carol):
    assert deliver(user_ids=[carol.pk], key="k1", title="新事件待受理") == 1
    assert deliver(user_ids=[carol.pk], key="k1", title="新事件待受理") == 0
    assert Notification.objects.filter(user=carol).count() == 1


def test_it_marks_a_notice_read_once_and_only_for_its_owner(client, carol, dave):
    deliver(user_ids=[carol.pk], key="k1", title="新事件待受理", url="/")
    note = Notification.objects.get(user=carol)
    client.force_login(dave)
    assert client.post(f"/notifications/{note.pk}/read").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None
    client.force_login(carol)
    assert client.post(f"/notifications/{note.pk}/read").status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    assert notification_mark_read(user=carol, notification=note) is False  # already read: no change


def test_it_audits_every_api_token_issued(api, rita):
    # each sign-in through the API issues its own expiring, revocable token (design §12)
    for _ in range(2):
        assert (
            api.post("/api/v1/auth/token/", {"username": "rita", "password": "pass-12345"}).status_code == 200
        )
    assert AuditEvent.objects.filter(action="api_token.issue", target_id=str(rita.pk)).count() == 2
