"""Checks the ledger's invariants over every row; exits non-zero on any difference.

- every transaction's entries sum to zero (and it has entries);
- every stored balance equals the sum of its account's entries, and is not negative;
- derived accounts (issuance, hold) keep no stored balance;
- each merchant's hold account holds exactly the points of its open orders.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, Sum

from points.models import DERIVED_KINDS, Account, AccountKind, Entry, Redemption, Transaction


def verify() -> list[str]:
    problems: list[str] = []
    unbalanced = (
        Transaction.objects.annotate(total=Sum("entries__amount"), legs=Count("entries"))
        .filter(Q(legs=0) | ~Q(total=0))
        .values_list("pk", "total", "legs")
    )
    problems += [f"交易 #{pk} 分录合计 {total}（{legs} 条分录）" for pk, total, legs in unbalanced]
    sums = dict(Entry.objects.values("account_id").annotate(s=Sum("amount")).values_list("account_id", "s"))
    for pk, kind, balance in Account.objects.values_list("pk", "kind", "balance").iterator():
        derived = sums.get(pk, 0) or 0
        if kind in DERIVED_KINDS:
            if balance != 0:
                problems.append(f"账户 #{pk}（{kind}）不应存储余额，却为 {balance}")
        elif balance != derived:
            problems.append(f"账户 #{pk} 余额 {balance} ≠ 分录合计 {derived}")
        if kind not in DERIVED_KINDS and balance < 0:
            problems.append(f"账户 #{pk} 余额为负：{balance}")
    held = dict(
        Redemption.objects.filter(status="held")
        .values("merchant_id")
        .annotate(s=Sum("points"))
        .values_list("merchant_id", "s")
    )
    for pk, merchant_id in Account.objects.filter(kind=AccountKind.HOLD).values_list("pk", "merchant_id"):
        if (sums.get(pk, 0) or 0) != (held.get(merchant_id, 0) or 0):
            problems.append(
                f"商户 #{merchant_id} 冻结账户合计 {sums.get(pk, 0)} ≠ 待核销订单积分 {held.get(merchant_id, 0)}"
            )
    return problems


class Command(BaseCommand):
    help = "核对积分台账：每笔交易借贷平衡、每个账户余额等于分录合计（有差异时以非零状态退出）"

    def handle(self, *args, **options):
        problems = verify()
        accounts = Account.objects.count()
        transactions = Transaction.objects.count()
        if problems:
            for line in problems[:200]:
                self.stderr.write(line)
            raise CommandError(f"发现 {len(problems)} 处差异（{accounts} 个账户，{transactions} 笔交易）")
        self.stdout.write(self.style.SUCCESS(f"台账一致：{accounts} 个账户，{transactions} 笔交易"))
