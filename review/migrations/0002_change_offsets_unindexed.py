"""Approvals shift the offsets of pending changes: keep those updates cheap on PostgreSQL.

Without an index on `start`, an UPDATE of start/end touches no index, and with free room
left in each page (fill factor 70) PostgreSQL writes the new row version in place (a HOT
update) instead of inserting into every index of the table.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE review_change SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE review_change RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("review", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="change", name="change_position"),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
