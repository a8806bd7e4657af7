"""The fragment store's text compressed with LZ4 instead of PostgreSQL's default pglz.

A cold full build, an import and every approval write their rendered pieces here (about 15 MB
for a 400-document volume), and most pieces are longer than the 2 KB at which PostgreSQL
compresses a value: with pglz the server spent about 0.5 s compressing those 15 MB, with LZ4
about 0.14 s, for the same size on disk (5.4 and 5.5 MB in bench/README.md's measurement), and
reading them back is faster too. Values stored before keep their pglz compression and read as
before. A server built without LZ4 keeps pglz (the statement is skipped, not failed);
SQLite has no such setting.
"""

from django.db import migrations

LZ4 = """
DO $$
BEGIN
    ALTER TABLE edition_exportfragment ALTER COLUMN text SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'PostgreSQL without LZ4: the fragment store keeps pglz';
END
$$;
"""
PGLZ = "ALTER TABLE edition_exportfragment ALTER COLUMN text SET COMPRESSION pglz;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LZ4)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PGLZ)


class Migration(migrations.Migration):
    dependencies = [("edition", "0018_facsimile_item_rows")]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
