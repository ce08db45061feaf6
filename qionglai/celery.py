import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")

app = Celery("qionglai")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Photos have a queue of their own, so a backlog of photo work never holds back a notice or an
# escalation, and production can give the photo worker its own process and priority
# (docker-compose.yml: `worker -X photos` and `photo-worker -Q photos`). A worker started
# without -Q/-X consumes every queue (development, tests).
# The dashboard's fill has one too: each minute it spends ~25–35 s of CPU at 100 transitions/s,
# and at the web's priority it took the cores from the dashboard's own readers (8 clients met
# p95 ≤ 20 ms in 5 of 8 scope × range beside a fill, 8 of 8 with the fill niced to 15, its lag
# still under 60 s: docs/performance.md, dashboard round 6). docker-compose.yml gives it a worker
# of its own at a lower priority, one process, so two fills never run at once either.
app.conf.task_queues = (Queue("celery"), Queue("photos"), Queue("rollups"))
app.conf.task_default_queue = "celery"
app.conf.task_routes = {
    "grids.tasks.drain_photos": {"queue": "photos"},
    "grids.tasks.process_photos": {"queue": "photos"},
    "qionglai.dashboard.tasks.dashboard_fill": {"queue": "rollups"},
}
app.autodiscover_tasks()
