"""Incident photos live outside MEDIA_ROOT (which the embedded default serves openly): they are
read only through the permission-checked view in grids.views."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property


class PrivateStorage(FileSystemStorage):
    @cached_property
    def base_location(self):
        # Follows MEDIA_ROOT (tests override it per test; FileSystemStorage drops this cache
        # on setting_changed), next to it rather than inside it.
        root = Path(settings.MEDIA_ROOT)
        return str(root.parent / f"{root.name}-private")

    @cached_property
    def base_url(self):
        return None


private_storage = PrivateStorage()
