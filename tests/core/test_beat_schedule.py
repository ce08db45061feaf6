"""Every timer in the beat schedule names a task that exists: a typo there fails silently in
production (beat sends, no worker knows the name), so it fails here instead."""

from django.conf import settings

from qionglai.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    registered = set(app.tasks)
    entries = settings.CELERY_BEAT_SCHEDULE
    assert "grids.tasks.resend_stuck_photos" in {e["task"] for e in entries.values()}
    missing = {name: e["task"] for name, e in entries.items() if e["task"] not in registered}
    assert missing == {}
