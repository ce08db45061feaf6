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


def test_it_audits_the_first_api_token_only(api, carol):
    for _ in range(2):
        assert (
            api.post("/api/v1/auth/token/", {"username": "carol", "password": "pass-12345"}).status_code
            == 200
        )
    assert AuditEvent.objects.filter(action="api_token.issue", target_id=str(carol.pk)).count() == 1


def test_mark_all_read_marks_what_the_page_showed_once(client, carol, dave):
    from qionglai.core.notify import notifications_mark_all_read

    for i in range(3):
        deliver(user_ids=[carol.pk, dave.pk], key=f"k{i}", title=f"通知 {i}")
    shown = Notification.objects.filter(user=carol).first().pk
    deliver(user_ids=[carol.pk], key="late", title="页面打开之后才到的通知")
    client.force_login(carol)
    response = client.post("/notifications/read-all", {"upto": shown}, follow=True)
    assert "已将 3 条通知标为已读" in response.content.decode()
    assert list(
        Notification.objects.filter(user=carol, read_at__isnull=True).values_list("key", flat=True)
    ) == ["late"]
    assert Notification.objects.filter(user=dave, read_at__isnull=True).count() == 3  # not someone else's
    assert notifications_mark_all_read(user=carol, upto_id=shown) == 0  # a double tap changes nothing


def test_a_long_backlog_is_a_99_plus_badge_and_a_three_line_summary(client, rita):
    for i in range(120):
        deliver(user_ids=[rita.pk], key=f"demo:{i}", title=f"示范通知 {i}")
    client.force_login(rita)
    html = client.get("/").content.decode()
    assert 'data-testid="unread-count">99+<' in html
    summary = html[html.index('data-testid="unread-summary"') :]
    summary = summary[: summary.index("</section>")]
    assert summary.count("<li>") == 3 and "全部已读" in summary
