"""The dashboard's fill runs in a worker of its own, below the web's priority (docker-compose.yml):
at the web's priority its ~25–35 s of CPU a minute took the cores from the dashboard's readers."""

from pathlib import Path

import yaml

from qionglai.celery import app


def test_the_fill_goes_to_the_rollups_queue_which_one_niced_process_takes():
    assert app.amqp.router.route({}, "qionglai.dashboard.tasks.dashboard_fill")["queue"].name == "rollups"
    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    services = compose["services"]
    rollups = services["rollup-worker"]["command"]
    assert rollups.startswith("nice -n ") and "-Q rollups" in rollups
    assert "--concurrency 1" in rollups  # one process: two fills never overlap
    assert "rollups" in services["worker"]["command"].split("-X ")[1].split()[0].split(",")
    # the beat still sends the fill every minute; only where it runs changed
    from django.conf import settings

    assert (
        settings.CELERY_BEAT_SCHEDULE["dashboard-fill"]["task"] == "qionglai.dashboard.tasks.dashboard_fill"
    )
