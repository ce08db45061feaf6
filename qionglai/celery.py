import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")

app = Celery("qionglai")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Photos have a queue of their own, so a backlog of photo work never holds back a notice or an
# escalation, and production can give the photo worker its own process and priority
# (docker-compose.yml: `worker -X photos` and `photo-worker -Q photos`). A worker started
# without -Q/-X consumes both queues (development, tests).
app.conf.task_queues = (Queue("celery"), Queue("photos"))
app.conf.task_default_queue = "celery"
app.conf.task_routes = {
    "grids.tasks.drain_photos": {"queue": "photos"},
    "grids.tasks.process_photos": {"queue": "photos"},
}
app.autodiscover_tasks()
