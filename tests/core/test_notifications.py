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


def _owe_in_a_change(carol, key="k-owed", title="新事件待受理"):
    from django.db import transaction

    from qionglai.core.notify import notify

    with transaction.atomic():
        notify(user_ids=[carol.pk], key=key, title=title, body="内容", url="/x")


def test_a_notice_is_owed_in_the_same_transaction_as_the_change(carol):
    from django.db import transaction

    from qionglai.core.models import OwedNotice
    from qionglai.core.notify import notify

    with pytest.raises(RuntimeError), transaction.atomic():
        notify(user_ids=[carol.pk], key="rolled-back", title="不会送达")
        assert OwedNotice.objects.filter(key="rolled-back").count() == 1
        raise RuntimeError("the change fails")
    assert not OwedNotice.objects.filter(key="rolled-back").exists()  # no change, nothing owed


def test_it_delivers_an_owed_notice_after_commit_with_its_mail(
    carol, django_capture_on_commit_callbacks, mailoutbox
):
    from qionglai.core.models import OwedNotice

    carol.email = "carol@example.org"
    carol.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        _owe_in_a_change(carol)
    owed = OwedNotice.objects.get(key="k-owed")
    assert owed.delivered_at is not None and owed.mail_pending is False
    assert Notification.objects.filter(user=carol, key="k-owed").count() == 1
    assert [m.to for m in mailoutbox] == [["carol@example.org"]]


def test_a_broker_down_at_commit_leaves_the_notice_owed_and_the_sweep_delivers_it(
    carol, django_capture_on_commit_callbacks, monkeypatch
):
    from qionglai.core import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis gone")

    monkeypatch.setattr(tasks.deliver_notices, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _owe_in_a_change(carol)  # does not raise: the change is committed
    assert not Notification.objects.filter(key="k-owed").exists()
    assert tasks.sweep_notices() == 1
    assert tasks.sweep_notices() == 0  # swept twice, delivered once
    assert Notification.objects.filter(user=carol, key="k-owed").count() == 1


def test_a_failing_mail_stays_owed_and_is_sent_by_a_later_sweep(carol, monkeypatch, mailoutbox):
    from django.core import mail

    from qionglai.core import notify as notify_module
    from qionglai.core.models import OwedNotice

    carol.email = "carol@example.org"
    carol.save(update_fields=["email"])
    _owe_in_a_change(carol)
    real = mail.send_mail

    def smtp_down(*args, **kwargs):
        raise OSError("smtp unreachable")

    monkeypatch.setattr(notify_module, "send_mail", smtp_down)
    assert notify_module.deliver_owed() == 1
    owed = OwedNotice.objects.get(key="k-owed")
    assert owed.mail_pending is True and "smtp unreachable" in owed.last_error
    monkeypatch.setattr(notify_module, "send_mail", real)
    assert notify_module.deliver_owed() == 0  # the inbox row is not delivered again
    assert len(mailoutbox) == 1
    assert Notification.objects.filter(user=carol, key="k-owed").count() == 1
    assert OwedNotice.objects.get(key="k-owed").mail_pending is False


def test_a_delivery_without_mail_leaves_the_mail_owed_for_the_next_sweep(carol, mailoutbox):
    """The demo build's outbox sweeps deliver inbox rows only (`with_mail=False`) and send the mails
    owed once at the end: nothing is lost, nothing sent twice."""
    from qionglai.core import notify as notify_module
    from qionglai.core.models import OwedNotice

    carol.email = "carol@example.org"
    carol.save(update_fields=["email"])
    _owe_in_a_change(carol)
    assert notify_module.deliver_owed(with_mail=False) == 1
    assert Notification.objects.filter(user=carol, key="k-owed").count() == 1
    assert OwedNotice.objects.get(key="k-owed").mail_pending is True
    assert mailoutbox == []
    assert notify_module.mail_owed() == 1
    assert notify_module.deliver_owed() == 0  # nothing new to deliver, no mail sent again
    assert [m.to for m in mailoutbox] == [["carol@example.org"]]


def test_the_delivery_task_retries_a_dropped_database_connection(carol, monkeypatch):
    from django.db import OperationalError

    from qionglai.core import notify as notify_module
    from qionglai.core.tasks import deliver_notices

    _owe_in_a_change(carol)
    real, calls = notify_module.deliver_owed, []

    def connection_dropped_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(notify_module, "deliver_owed", connection_dropped_once)
    deliver_notices.apply(args=[["k-owed"]], throw=False)
    assert len(calls) == 2
    assert Notification.objects.filter(user=carol, key="k-owed").count() == 1


def test_the_broker_hands_a_killed_workers_message_out_again_within_minutes(settings):
    # with late acks the redelivery waits for the visibility timeout (Redis default: an hour)
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_TIME_LIMIT < timeout <= 600
