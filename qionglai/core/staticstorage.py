"""Static files as production serves them: hashed names and gzip copies (WhiteNoise), without
rewriting JavaScript source-map comments — vendored libraries (Leaflet) name .map files they
do not ship, which makes Django's manifest post-processing fail the whole collectstatic."""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(p for p in HashedFilesMixin.patterns if p[0] != "*.js")
