"""Revisions are history: the database itself refuses to change or delete one.

The model refuses too, but a trigger also stops raw SQL, bulk updates and other programs.
"""

from django.db import migrations

# SQLite (the embedded shape) refuses updates only: it has no TRUNCATE, so Django's test flush
# deletes rows one by one, and a delete trigger would make every TransactionTestCase fail.
SQLITE = [
    """CREATE TRIGGER edition_revision_no_update BEFORE UPDATE ON edition_revision
       BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS edition_revision_no_update",
]
# PostgreSQL refuses both; TRUNCATE (the test flush) fires no row triggers.
POSTGRES = [
    """CREATE FUNCTION edition_revision_immutable() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'revisions are immutable' USING ERRCODE = 'integrity_constraint_violation'; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER edition_revision_immutable BEFORE UPDATE OR DELETE ON edition_revision
       FOR EACH ROW EXECUTE FUNCTION edition_revision_immutable()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS edition_revision_immutable ON edition_revision",
    "DROP FUNCTION IF EXISTS edition_revision_immutable()",
]


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("edition", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
