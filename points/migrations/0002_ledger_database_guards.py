"""PostgreSQL guards for the ledger (design §6): a deferred constraint trigger checks at commit
that every transaction's entries sum to zero, and entries/transactions refuse UPDATE and
DELETE (corrections are reversing transactions). SQLite (the embedded demo) relies on the
service checks and `manage.py points_verify`."""

from django.db import migrations

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION points_tx_balanced() RETURNS trigger AS $$
    DECLARE total bigint;
    BEGIN
      SELECT COALESCE(SUM(amount), 0) INTO total FROM points_entry WHERE transaction_id = NEW.transaction_id;
      IF total <> 0 THEN
        RAISE EXCEPTION 'points transaction % does not balance (entries sum to %)', NEW.transaction_id, total
          USING ERRCODE = '23514';
      END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER points_entry_balanced AFTER INSERT ON points_entry
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION points_tx_balanced()
    """,
    """
    CREATE OR REPLACE FUNCTION points_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'points ledger rows are append-only: post a reversing transaction'
        USING ERRCODE = '42501';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER points_entry_append_only BEFORE UPDATE OR DELETE ON points_entry
      FOR EACH ROW EXECUTE FUNCTION points_append_only()
    """,
    """
    CREATE TRIGGER points_tx_append_only BEFORE UPDATE OR DELETE ON points_transaction
      FOR EACH ROW EXECUTE FUNCTION points_append_only()
    """,
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS points_tx_append_only ON points_transaction",
    "DROP TRIGGER IF EXISTS points_entry_append_only ON points_entry",
    "DROP FUNCTION IF EXISTS points_append_only()",
    "DROP TRIGGER IF EXISTS points_entry_balanced ON points_entry",
    "DROP FUNCTION IF EXISTS points_tx_balanced()",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("points", "0001_ledger_accounts_rules_claims_merchants")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
