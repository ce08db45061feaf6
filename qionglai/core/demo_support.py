"""What every app's demo builder shares: a moved clock, one progress line per step, and
marking a demo login's old notices read.

The history is written by calling the services as the right people at the right moment: the
clock is moved with time_machine (the `demo` extra, installed by `make demo`) so every
`timezone.now()` inside a service — deadlines, events, audit rows, ledger entries — reads
the moment the demo says it is. Progress bars time themselves with `perf_counter`, which
time_machine leaves alone, so they show real elapsed time while the clock is moved.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone
from tqdm import tqdm


class Clock:
    """The demo's clock: `at(moment)` moves every reader of the time to `moment`.

    Notices go through the outbox as everywhere (each service owes them in its transaction),
    but during a build no delivery task is sent per change: the outbox sweep (what beat runs
    every minute for notices whose task was lost) delivers what is owed once the clock has
    moved `SWEEP_EVERY` past the first notice owed, so a notice reaches its inbox within that
    time of the change — tens of thousands of one-notice deliveries become about a thousand
    sweeps (a sweep costs the same for one notice as for fifty, and an hourly one cost a tenth
    of the build). The sweeps deliver the inbox rows only; the mails owed (none: demo accounts
    have no address) are sent once when the clock is put back."""

    SWEEP_EVERY = timedelta(hours=4)

    def __init__(self, traveller) -> None:
        self._traveller = traveller
        self._now: datetime | None = None
        self.owed_since: datetime | None = None

    def owed(self, keys) -> None:
        if self.owed_since is None:
            self.owed_since = self._now or timezone.now()

    def sweep(self) -> None:
        from qionglai.core.notify import deliver_owed

        if self.owed_since is not None:
            self.owed_since = None
            deliver_owed(with_mail=False)

    def at(self, moment: datetime) -> datetime:
        if self.owed_since is not None and (self._now is None or moment < self._now):
            self.sweep()  # the clock runs back (another story): deliver at the latest moment
        elif self.owed_since is not None and moment >= self.owed_since + self.SWEEP_EVERY:
            self._traveller.move_to(self.owed_since + self.SWEEP_EVERY)
            self.sweep()
        self._traveller.move_to(moment)
        self._now = moment
        return moment


@contextmanager
def moved_clock(start: datetime) -> Iterator[Clock]:
    try:
        import time_machine
    except ModuleNotFoundError:  # a production image without the dev extras
        from django.core.management.base import CommandError

        raise CommandError(
            "生成示范数据需要 time-machine：pip install -e '.[demo]'（make demo 已包含）"
        ) from None

    from qionglai.core import notify

    with time_machine.travel(start, tick=False) as traveller:
        clock = Clock(traveller)
        clock._now = start
        send_soon, notify._send_soon = notify._send_soon, clock.owed
        try:
            yield clock
            clock.sweep()
            notify.mail_owed()
        finally:
            notify._send_soon = send_soon


class Timeline:
    """Many stories told in one chronological order.

    A story is a generator: it yields the moment its next step happens (its first yield is
    when it starts) and does that step when resumed (the yield's value is that moment). The timeline always resumes the story
    whose next moment is earliest, with the clock moved there, so everything written — events,
    audit rows, ledger entries — is written in the order it happened, across stories (a
    person's 余额 line by line is then their balance as it stood). Ties go to the story added
    first; a moment earlier than the clock is taken as "now" (the clock never runs back).
    """

    def __init__(self, clock: Clock, start: datetime) -> None:
        self.clock = clock
        self.now = start
        self._heap: list[tuple[datetime, int, Iterator[datetime]]] = []
        self._seq = 0

    def add(self, story: Iterator[datetime]) -> None:
        try:
            moment = next(story)
        except StopIteration:
            return
        heapq.heappush(self._heap, (max(moment, self.now), self._seq, story))
        self._seq += 1

    def __len__(self) -> int:
        return len(self._heap)

    def run(self, *, tick=None) -> None:
        """Runs every story to its end; `tick()` is called as each one ends (a progress bar)."""
        heap = self._heap
        while heap:
            moment, seq, story = heapq.heappop(heap)
            if moment > self.now:
                self.now = self.clock.at(moment)
            try:
                after = story.send(self.now)
            except StopIteration:
                if tick is not None:
                    tick()
                continue
            heapq.heappush(heap, (max(after, self.now), seq, story))


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


# The demo logins, one line each: who the person is (their name on screen comes from the
# account) and where to start. rundemo prints them; the README has the same table.
DEMO_LOGINS = [
    ("admin", "系统管理员：管理后台 /admin/"),
    ("city", "市委社治委：首页看全市数据看板"),
    ("town_linqiong", "临邛街道工作人员：辖区事件、镇街层级事项"),
    ("staff_hongchuan", "洪川社区工作者：事件受理派单、小圆桌议题看板与会议（平板）、积分审核"),
    ("grid_hongchuan", "洪川社区第一网格专职网格员：手机上报与处置事件"),
    ("lead_hongchuan", "洪川社区第一网格网格长：核查已办结事件"),
    ("resident_hongchuan", "洪川社区居民：随手拍、评价事件、提议题、到会投票、积分兑换（手机）"),
    ("resident_hongchuan_1 … _8", "洪川社区的另八位居民：与刘大爷一起到会表决，过半数即通过"),
    ("dept_zjj", "市住建局经办人：派至本局的事件"),
    ("merchant_hongchuan", "洪川社区共享超市收银员：核销居民出示的兑换码"),
    ("merchant_love", "爱心超市志愿者：核销兑换码"),
    ("resident_wang", "受禁止清单处理的居民：暂停兑换、不参加评先评优"),
]


def login_lines() -> list[str]:
    """`username  name on screen  where to start`, from the accounts the demo created."""
    from django.contrib.auth import get_user_model

    names = dict(
        get_user_model()
        .objects.filter(username__in=[u for u, _ in DEMO_LOGINS])
        .values_list("username", "real_name")
    )
    first_neighbour = get_user_model().objects.filter(username="resident_hongchuan_1").first()
    lines = []
    for username, start in DEMO_LOGINS:
        name = names.get(username) or (
            first_neighbour.real_name + " 等" if "…" in username and first_neighbour else ""
        )
        lines.append(f"  {username:<26} {name:<12} {start}")
    return lines
