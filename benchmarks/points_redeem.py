"""Redemption benchmark (design §11: ≥ 250 redemptions completed per second; 500 concurrent
against one balance → exactly ⌊balance/price⌋ succeed, none negative, balance == sum(entries)).

Part 1 — throughput on one merchant: 1,000 residents with points; worker threads (each its
own PostgreSQL connection, as gunicorn workers would have) each place an order through
`redemption_order` and have the merchant's counter settle it with `redemption_verify`. A
redemption is *completed* when it is settled. Reports completed/s and per-call latency.

Part 2 — 500 concurrent orders against one balance: one resident whose balance covers 137
orders; 500 orders are released at once from 64 threads. Reports successes (must be exactly
137), refusals by reason, the lowest balance seen, and `points_verify` over the whole ledger.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qionglai_bench_points \
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python benchmarks/points_redeem.py

The database named by DATABASE_URL is dropped and recreated.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qionglai_bench_points")
os.environ.setdefault("CELERY_EAGER", "1")

RESIDENTS = 1_000
CYCLES = int(os.environ.get("BENCH_CYCLES", "3000"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
# worker processes, each running THREADS threads (like gunicorn workers × threads); Python's
# GIL makes processes the way to use both cores
PROCS = int(os.environ.get("BENCH_PROCS", "2"))
TARGET_PER_SECOND = 250
CONCURRENT = 500
PRICE = 10
COVERS = 137  # the one balance covers exactly this many orders


from benchlib import recreate_database  # noqa: E402 - after the path and settings setup


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    recreate_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    assert settings.IS_POSTGRES, "this benchmark needs PostgreSQL"
    call_command("migrate", verbosity=0)

    from points import services
    from points.management.commands.points_verify import verify
    from points.models import Account, HolderClass, Merchant, MerchantKind, Offer, TxKind
    from points.services import Leg
    from projects.models import Community, Town
    from qionglai.core.errors import Busy
    from qionglai.users.models import Grant, Role, User

    town = Town.objects.create(code="001", name="临邛街道", path=f"{settings.CITY_PATH}.001")
    community = Community.objects.create(town=town, code="h01", name="洪川社区", path=f"{town.path}.h01")
    merchant = Merchant.objects.create(
        code="m1", name="洪川共享超市", kind=MerchantKind.SHARED, path=community.path
    )
    offers = [
        Offer.objects.create(
            merchant=merchant, title=f"商品{i}", price=PRICE, stock=1_000_000, path=community.path
        )
        for i in range(10)
    ]
    counter = User.objects.create(username="counter", real_name="收银员")
    Grant.objects.create(user=counter, role=Role.MERCHANT, path=community.path, unit="m1")
    users = User.objects.bulk_create(
        User(username=f"r{i:04d}", real_name=f"居民{i}") for i in range(RESIDENTS)
    )
    Grant.objects.bulk_create(Grant(user=u, role=Role.RESIDENT, path=community.path) for u in users)
    accounts = [
        services.account_open(user=u, holder_class=HolderClass.RESIDENT, path=community.path) for u in users
    ]
    issuance = services.issuance_for(community.path)
    for a in accounts:
        with transaction.atomic():
            services.post(
                kind=TxKind.EARN,
                key=f"seed:{a.pk}",
                legs=[Leg(issuance, -10_000), Leg(a, 10_000, 10_000)],
                path=a.path,
            )
    with connection.cursor() as cursor:
        # planner statistics for the seeded tables, as autovacuum keeps them on a live database
        cursor.execute("ANALYZE")
    connection.close()
    print(f"set up: {RESIDENTS} residents × 10,000 points, one merchant with {len(offers)} offers")
    print(f"load average at start: {loadavg()}")

    # --- part 1: completed redemptions per second on one merchant ---------------------------
    import multiprocessing

    def run_slice(first: int, last: int, seed: int, out) -> None:
        """One worker process: THREADS threads share the cycles first..last-1."""
        import random

        order_times: list[float] = []
        verify_times: list[float] = []
        busy = [0]
        lock = threading.Lock()
        cycles = iter(range(first, last))

        def worker(n_seed: int) -> None:
            rng = random.Random(n_seed)
            try:
                while True:
                    with lock:
                        n = next(cycles, None)
                    if n is None:
                        break
                    account = accounts[rng.randrange(RESIDENTS)]
                    t0 = time.perf_counter()
                    try:
                        r = services.redemption_order(
                            actor=account.user,
                            offer=offers[n % len(offers)],
                            account=account,
                            idempotency_key=f"b{n}",
                        )
                        t1 = time.perf_counter()
                        services.redemption_verify(actor=counter, code=r.code)
                        t2 = time.perf_counter()
                    except Busy:
                        with lock:
                            busy[0] += 1
                        continue
                    with lock:
                        order_times.append(t1 - t0)
                        verify_times.append(t2 - t1)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(seed * 100 + i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out.put((order_times, verify_times, busy[0]))

    connection.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    share = CYCLES // PROCS
    procs = [
        context.Process(
            target=run_slice, args=(i * share, CYCLES if i == PROCS - 1 else (i + 1) * share, i, queue)
        )
        for i in range(PROCS)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    order_times = [t for r in results for t in r[0]]
    verify_times = [t for r in results for t in r[1]]
    busy = sum(r[2] for r in results)
    done = len(order_times)
    rate = done / elapsed
    cycle = [a + b for a, b in zip(order_times, verify_times, strict=True)]
    print(
        f"\nthroughput, one merchant, {PROCS} processes × {THREADS} threads, {CYCLES} order+verify cycles:\n"
        f"  completed (settled): {done} in {elapsed:.2f} s = {rate:.0f}/s "
        f"(target ≥ {TARGET_PER_SECOND}/s, ratio {rate / TARGET_PER_SECOND:.2f}×); busy refusals: {busy}\n"
        f"  order  p50 {pct(order_times, 0.5):.1f} ms  p95 {pct(order_times, 0.95):.1f} ms\n"
        f"  verify p50 {pct(verify_times, 0.5):.1f} ms  p95 {pct(verify_times, 0.95):.1f} ms\n"
        f"  cycle  mean {statistics.mean(cycle) * 1000:.1f} ms"
    )
    lock = threading.Lock()

    # --- part 2: 500 concurrent orders against one balance ----------------------------------
    user = User.objects.create(username="one", real_name="同一账户")
    Grant.objects.create(user=user, role=Role.RESIDENT, path=community.path)
    target = services.account_open(user=user, holder_class=HolderClass.RESIDENT, path=community.path)
    with transaction.atomic():
        services.post(
            kind=TxKind.EARN,
            key="seed:one",
            legs=[Leg(issuance, -PRICE * COVERS), Leg(target, PRICE * COVERS, PRICE * COVERS)],
            path=community.path,
        )
    connection.close()
    outcomes: Counter = Counter()
    lowest = [PRICE * COVERS]
    pending = iter(range(CONCURRENT))
    gate = threading.Barrier(64)

    def hammer() -> None:
        try:
            gate.wait()
            while True:
                with lock:
                    n = next(pending, None)
                if n is None:
                    break
                try:
                    services.redemption_order(
                        actor=user, offer=offers[0], account=target, idempotency_key=f"c{n}"
                    )
                    kind = "ok"
                except services.InsufficientPoints:
                    kind = "insufficient"
                except Busy:
                    kind = "busy"
                balance = Account.objects.filter(pk=target.pk).values_list("balance", flat=True).get()
                with lock:
                    outcomes[kind] += 1
                    lowest[0] = min(lowest[0], balance)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(64)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    final = Account.objects.get(pk=target.pk).balance
    problems = verify()
    exact = outcomes["ok"] == COVERS
    print(
        f"\n{CONCURRENT} concurrent orders (64 threads) against one balance of {PRICE * COVERS} at {PRICE} each:\n"
        f"  succeeded {outcomes['ok']} (expected exactly {COVERS}: {'OK' if exact else 'WRONG'}), "
        f"refused for balance {outcomes['insufficient']}, busy {outcomes['busy']}\n"
        f"  lowest balance observed {lowest[0]}, final {final} (never negative: {'OK' if lowest[0] >= 0 else 'WRONG'})\n"
        f"  finished in {elapsed:.2f} s\n"
        f"  points_verify over {Account.objects.count()} accounts: {'clean' if not problems else problems[:5]}\n"
        f"load average at end: {loadavg()}"
    )
    if not exact or lowest[0] < 0 or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
