"""What every app's demo builder shares: a moved clock, one progress line per step, and
marking a demo login's old notices read.

The history is written by calling the services as the right people at the right moment: the
clock is moved with time_machine (a dev dependency, installed by `make demo`) so every
`timezone.now()` inside a service — deadlines, events, audit rows, ledger entries — reads
the moment the demo says it is. Progress bars time themselves with `perf_counter`, which
time_machine leaves alone, so they show real elapsed time while the clock is moved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from tqdm import tqdm


class Clock:
    """The demo's clock: `at(moment)` moves every reader of the time to `moment`."""

    def __init__(self, traveller) -> None:
        self._traveller = traveller

    def at(self, moment: datetime) -> datetime:
        self._traveller.move_to(moment)
        return moment


@contextmanager
def moved_clock(start: datetime) -> Iterator[Clock]:
    import time_machine

    with time_machine.travel(start, tick=False) as traveller:
        yield Clock(traveller)


def bar(iterable: Iterable, *, desc: str, total: int | None = None, stdout=None, progress: bool = True):
    """A progress bar (one line) that keeps real time under a moved clock."""
    bar_ = tqdm(
        iterable,
        desc=desc,
        total=total,
        disable=not progress,
        file=stdout,
        leave=True,
        dynamic_ncols=True,
        mininterval=0.5,
    )
    bar_._time = time.perf_counter
    bar_.start_t = bar_.last_print_t = time.perf_counter()
    return bar_


def step_line(stdout, label: str, detail: str = "") -> None:
    """One line for a step that needs no bar (fast, or already built)."""
    if stdout is not None:
        stdout.write(f"{label}：{detail}" if detail else label)


def notices_mark_read(*, users, before: datetime) -> int:
    """The demo logins' notices about their past (months of history) are marked read through
    the inbox service, so a visitor's inbox holds today's work, not a pile of old news."""
    from qionglai.core.models import Notification
    from qionglai.core.notify import notification_mark_read

    done = 0
    for user in users:
        for notice in Notification.objects.filter(user=user, read_at__isnull=True, created_at__lt=before):
            done += notification_mark_read(user=user, notification=notice)
    return done
