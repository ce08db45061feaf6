import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from points import services
from points.management.commands.points_verify import verify
from points.models import Account, AccountKind, Entry, Transaction, TxKind
from points.services import Leg
from qionglai.core.errors import ApplicationError

from .conftest import credit

pytestmark = pytest.mark.django_db


def test_it_posts_a_balanced_transaction_and_moves_the_stored_balance(rita_account):
    credit(rita_account, 40)
    rita_account.refresh_from_db()
    assert rita_account.balance == 40
    issuance = Account.objects.get(kind=AccountKind.ISSUANCE)
    assert issuance.balance == 0  # derived: never stored
    assert sum(Entry.objects.filter(account=issuance).values_list("amount", flat=True)) == -40
    assert verify() == []


def test_it_refuses_a_transaction_whose_entries_do_not_sum_to_zero(rita_account):
    with pytest.raises(ApplicationError, match="分录合计必须为零"), transaction.atomic():
        services.post(kind=TxKind.ADJUST, key="x", legs=[Leg(rita_account, 5)], path=rita_account.path)
    assert not Transaction.objects.exists()


def test_it_never_takes_a_holder_balance_below_zero(rita_account):
    credit(rita_account, 10)
    pool = services.pool_for(rita_account.path)
    with pytest.raises(services.InsufficientPoints), transaction.atomic():
        services.post(
            kind=TxKind.DONATE, key="d", legs=[Leg(rita_account, -11), Leg(pool, 11)], path=rita_account.path
        )
    rita_account.refresh_from_db()
    assert rita_account.balance == 10


def test_the_database_refuses_a_negative_balance_even_past_the_service(rita_account):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=rita_account.pk).update(balance=-1)


@pytest.mark.django_db(transaction=True)
def test_the_deferred_trigger_refuses_an_unbalanced_transaction_at_commit(rita_account):
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        tx = Transaction.objects.create(kind=TxKind.ADJUST, idempotency_key="raw", path=rita_account.path)
        Entry.objects.create(transaction=tx, account=rita_account, amount=5, kind=TxKind.ADJUST)
    assert not Transaction.objects.filter(idempotency_key="raw").exists()


def test_entries_are_append_only_in_the_database(rita_account):
    credit(rita_account, 10)
    entry = Entry.objects.filter(account=rita_account).get()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=99)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).delete()


def test_points_verify_passes_on_a_clean_ledger_and_fails_on_a_difference(rita_account, capsys):
    credit(rita_account, 25)
    call_command("points_verify")
    assert "台账一致" in capsys.readouterr().out
    with connection.cursor() as cursor:  # simulate a bug that moved a balance without entries
        cursor.execute("UPDATE points_account SET balance = balance + 1 WHERE id = %s", [rita_account.pk])
    with pytest.raises(SystemExit) as exit_info:
        _run_cli()  # the CLI path: CommandError → exit status 1
    assert exit_info.value.code != 0


def _run_cli():
    from django.core.management import ManagementUtility

    ManagementUtility(["manage.py", "points_verify"]).execute()


def test_the_same_idempotency_key_posts_once(rita_account):
    credit(rita_account, 50)
    pool = services.pool_for(rita_account.path)

    def work():
        return services.post(
            kind=TxKind.DONATE, key="same", legs=[Leg(rita_account, -5), Leg(pool, 5)], path=rita_account.path
        )

    first = services.once(find=lambda: Transaction.objects.filter(idempotency_key="same").first(), work=work)
    second = services.once(find=lambda: Transaction.objects.filter(idempotency_key="same").first(), work=work)
    assert first.pk == second.pk
    rita_account.refresh_from_db()
    assert rita_account.balance == 45
