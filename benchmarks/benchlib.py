"""What every benchmark script shares. The scripts run as `python benchmarks/<name>.py`, so
this folder is on sys.path and they import it as `benchlib`."""

from __future__ import annotations

import os


def recreate_database(url: str | None = None) -> None:
    """Drops and creates the benchmark's own database (its name is the last part of the URL),
    so every run starts from the same empty state."""
    import psycopg

    url = url or os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
