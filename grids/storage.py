"""Incident photos live outside MEDIA_ROOT (which the embedded default serves openly): they are
read only through the permission-checked view in grids.views.

Uploads wait in a second directory, the quarantine, until a task has decoded and re-encoded
them; nothing serves that directory, so an untrusted original can never reach a browser."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property


class PrivateStorage(FileSystemStorage):
    suffix = "private"

    @cached_property
    def base_location(self):
        # Follows MEDIA_ROOT (tests override it per test; FileSystemStorage drops this cache
        # on setting_changed), next to it rather than inside it.
        root = Path(settings.MEDIA_ROOT)
        return str(root.parent / f"{root.name}-{self.suffix}")

    @cached_property
    def base_url(self):
        return None


class QuarantineStorage(PrivateStorage):
    suffix = "quarantine"


private_storage = PrivateStorage()
quarantine_storage = QuarantineStorage()
