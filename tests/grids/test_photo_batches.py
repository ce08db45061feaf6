"""The photo worker drains pending photos in batches: each claimed with SKIP LOCKED so two
workers never take the same photo, one UPDATE per batch, one queued drain for many reports, and
the beat sweep for a drain message that was lost."""

import io
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from grids import services
from grids.models import EventKind, IncidentEvent, IncidentPhoto, PhotoStatus
from grids.services import photos as photo_service
from grids.storage import private_storage, quarantine_storage
from qionglai.celery import app

from .conftest import ensure_reference_data, jpeg_bytes
from .test_photo_processing import files_in, png_with_garbage_pixels, post_report

pytestmark = pytest.mark.django_db


def upload(content: bytes = b"", name: str = "p.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or jpeg_bytes((320, 240)), content_type="image/jpeg")


def pending(report, *contents: bytes) -> list[IncidentPhoto]:
    """Photos of one report, still PROCESSING (outside `django_capture_on_commit_callbacks` the
    after-commit drain never runs in these tests)."""
    inc = report(photos=[upload(c, "p.png" if c.startswith(b"\x89PNG") else "p.jpg") for c in contents])
    photos = list(inc.photos.order_by("pk"))
    assert {p.status for p in photos} == {PhotoStatus.PROCESSING}
    return photos


@pytest.fixture
def drains_sent(monkeypatch):
    """Drain messages sent, counted instead of run (a broker nobody consumes yet)."""
    sent = []
    app.loader.import_default_modules()
    monkeypatch.setattr(app.tasks[photo_service.DRAIN_TASK], "delay", lambda: sent.append(1))
    return sent


def test_a_drain_cleans_every_pending_photo_and_deletes_the_originals(
    report, django_capture_on_commit_callbacks
):
    photos = pending(report, jpeg_bytes((640, 480)), jpeg_bytes((200, 100)))
    photos += pending(report, jpeg_bytes((100, 400)))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain(batch_size=2) == 3
    for photo in photos:
        photo.refresh_from_db()
        assert photo.status == PhotoStatus.READY and photo.processed_at is not None
        assert photo.image.name.startswith("incidents/") and photo.thumbnail.name.startswith(
            "incidents/thumbs/"
        )
        assert not photo.quarantine
    assert [(p.width, p.height) for p in photos] == [(640, 480), (200, 100), (100, 400)]
    assert files_in(quarantine_storage) == [] and len(files_in(private_storage)) == 6
    with photos[0].thumbnail.open("rb") as f:
        from PIL import Image

        assert Image.open(io.BytesIO(f.read())).size == (320, 240)


def test_a_failing_photo_in_a_batch_does_not_block_the_others(
    report, alice, monkeypatch, django_capture_on_commit_callbacks
):
    good, bad, lost, later = pending(
        report, jpeg_bytes(), png_with_garbage_pixels(), jpeg_bytes(), jpeg_bytes()
    )
    quarantine_storage.delete(lost.quarantine.name)  # its original vanished from the disk
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain() == 4
    for photo in (good, bad, lost, later):
        photo.refresh_from_db()
    assert good.status == later.status == PhotoStatus.READY
    assert bad.status == PhotoStatus.REJECTED and "图片文件已损坏或不完整" in bad.error
    assert lost.status == PhotoStatus.REJECTED and lost.error == photo_service.MSG_PHOTO_MISSING
    rejected = IncidentEvent.objects.filter(kind=EventKind.PHOTO_REJECTED).order_by("pk")
    assert [e.data["photo"] for e in rejected] == [bad.pk, lost.pk]
    assert files_in(quarantine_storage) == []


def test_a_photo_whose_files_cannot_be_written_stays_pending_and_the_rest_go_on(
    report, monkeypatch, django_capture_on_commit_callbacks
):
    first, unlucky, last = pending(report, jpeg_bytes(), jpeg_bytes((90, 60)), jpeg_bytes())
    real_write = photo_service._write_new

    def write(storage, name, data, made):
        if len(data) == unlucky_size:
            raise OSError(28, "No space left on device")
        return real_write(storage, name, data, made)

    from qionglai.core.images import clean_inspected_image

    with quarantine_storage.open(unlucky.quarantine.name) as f:
        unlucky_size = clean_inspected_image(f.read(), field="photos").content.size
    monkeypatch.setattr(photo_service, "_write_new", write)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain(batch_size=2) == 2  # and it ends: the unlucky one is not retried here
    for photo in (first, unlucky, last):
        photo.refresh_from_db()
    assert first.status == last.status == PhotoStatus.READY
    assert unlucky.status == PhotoStatus.PROCESSING and unlucky.quarantine  # for the sweep, original kept
    assert len(files_in(quarantine_storage)) == 1
    monkeypatch.setattr(photo_service, "_write_new", real_write)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain() == 1
    unlucky.refresh_from_db()
    assert unlucky.status == PhotoStatus.READY


def test_reports_queue_one_drain_between_them_until_it_starts(
    alice, micro_a1, category, drains_sent, django_capture_on_commit_callbacks
):
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_report(alice, micro_a1, category, jpeg_bytes()).status_code == 201
    assert len(drains_sent) == 1  # the second and third report found a drain queued
    assert IncidentPhoto.objects.filter(status=PhotoStatus.PROCESSING).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain() == 3  # the queued drain, when the worker takes it
    with django_capture_on_commit_callbacks(execute=True):
        post_report(alice, micro_a1, category, jpeg_bytes())
    assert len(drains_sent) == 2  # a report after the drain started queues the next one


def test_a_lost_drain_message_is_made_good_by_the_sweep(
    alice, micro_a1, category, drains_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_report(alice, micro_a1, category, jpeg_bytes())
    assert len(drains_sent) == 1  # ... and Redis lost it: no worker will ever run it
    with django_capture_on_commit_callbacks(execute=True):
        post_report(alice, micro_a1, category, jpeg_bytes())
    assert len(drains_sent) == 1  # coalesced into the lost one
    assert services.photos_resend_stuck() == 0  # not stuck yet
    IncidentPhoto.objects.update(uploaded_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_resend_stuck() == 2
    assert len(drains_sent) == 2  # sent although the flag still says a drain is queued
    assert cache.get(photo_service.DRAIN_FLAG)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain() == 2
    assert set(IncidentPhoto.objects.values_list("status", flat=True)) == {PhotoStatus.READY}


def test_a_drain_past_its_time_budget_hands_over_to_a_fresh_message(
    report, drains_sent, django_capture_on_commit_callbacks
):
    pending(report, jpeg_bytes(), jpeg_bytes(), jpeg_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_drain(batch_size=2, budget=0) == 2
    assert len(drains_sent) == 1
    assert IncidentPhoto.objects.filter(status=PhotoStatus.PROCESSING).count() == 1


@pytest.mark.parametrize("n", [1, 5])
def test_a_batch_costs_two_queries_whatever_its_size(
    report, n, django_assert_num_queries, django_capture_on_commit_callbacks
):
    pending(report, *[jpeg_bytes((64 + i, 48)) for i in range(n)])
    # the claim (SELECT … FOR UPDATE SKIP LOCKED LIMIT 16) and one UPDATE for the whole batch;
    # savepoint + release (2) are the test's outer transaction. A short batch ends the drain
    # without a further empty claim.
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(4):
        assert services.photos_drain() == n
    assert IncidentPhoto.objects.filter(status=PhotoStatus.READY).count() == n


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_clean_each_photo_exactly_once(alice, micro_a1, category, monkeypatch):
    ensure_reference_data()
    post_report(alice, micro_a1, category, jpeg_bytes())  # an incident; its photo is cleaned on commit
    incident = IncidentPhoto.objects.get().incident
    rows = []
    for i in range(24):
        name = quarantine_storage.save(f"incidents/p{i}.jpg", io.BytesIO(jpeg_bytes((64 + i, 48))))
        rows.append(IncidentPhoto(incident=incident, status=PhotoStatus.PROCESSING, quarantine=name))
    ids = {p.pk for p in IncidentPhoto.objects.bulk_create(rows)}

    claims: dict[str, list[int]] = {"a": [], "b": []}
    # Each worker holds its first batch until the other has claimed one too: with a plain
    # FOR UPDATE the second would wait on the first's locks and the barrier would break.
    both_claimed = threading.Barrier(2, timeout=20)
    real = photo_service._process_locked

    def process(photos):
        name = threading.current_thread().name
        first = not claims[name]
        claims[name].extend(p.pk for p in photos)
        if first:
            both_claimed.wait()
        return real(photos)

    monkeypatch.setattr(photo_service, "_process_locked", process)
    done: dict[str, int] = {}
    errors = []

    def worker():
        try:
            done[threading.current_thread().name] = services.photos_drain(batch_size=4)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=n) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert claims["a"] and claims["b"]  # both took part
    assert not set(claims["a"]) & set(claims["b"])  # and never the same photo
    assert sorted(claims["a"] + claims["b"]) == sorted(ids)
    assert done["a"] + done["b"] == 24
    statuses = IncidentPhoto.objects.filter(pk__in=ids).values_list("status", flat=True)
    assert set(statuses) == {PhotoStatus.READY}
    assert files_in(quarantine_storage) == []
    assert len(files_in(private_storage)) == 2 * 25  # photo + thumbnail each, no stray copies
    assert not IncidentEvent.objects.filter(kind=EventKind.PHOTO_REJECTED).exists()
    assert Path(private_storage.location).exists()


def test_drains_go_to_the_photos_queue_which_production_gives_a_worker_of_its_own():
    import yaml

    for name in ("grids.tasks.drain_photos", "grids.tasks.process_photos"):
        assert app.amqp.router.route({}, name)["queue"].name == "photos"
    assert app.amqp.router.route({}, "qionglai.core.tasks.sweep_notices")["queue"].name == "celery"
    # a worker started without -Q takes them all (development, the reliability tests)
    assert {q.name for q in app.conf.task_queues} == {"celery", "photos", "rollups"}
    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    general, photos = compose["services"]["worker"], compose["services"]["photo-worker"]
    assert "-X photos,rollups" in general["command"] and "-Q photos" in photos["command"]
    assert photos["restart"] == general["restart"] == "unless-stopped"
