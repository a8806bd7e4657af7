"""The full-text index (edition/search.py): a row per unit's running text and per footnote,
indexed by the database itself. PostgreSQL: a generated tsvector column (English stemming) with a
GIN index, so every INSERT indexes its row in the same statement. SQLite: an FTS5 table (porter
stemmer) over the rows as external content, kept in step by triggers.

Then every unit already in the database is indexed (`rebuild_search_index` does the same later).
A future migration that rebuilds edition_searchentry on SQLite (an ALTER TABLE Django emulates by
copying) drops the triggers: it must create them again.
"""

import django.db.models.deletion
from django.db import migrations, models

# left(): a tsvector holds at most 1 MB; no unit's text comes near, but an import must not fail.
POSTGRES = [
    """ALTER TABLE edition_searchentry ADD COLUMN search tsvector
       GENERATED ALWAYS AS (to_tsvector('english'::regconfig, left(text, 500000))) STORED""",
    "CREATE INDEX edition_searchentry_search ON edition_searchentry USING gin (search)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS edition_searchentry_search",
    "ALTER TABLE edition_searchentry DROP COLUMN IF EXISTS search",
]
SQLITE = [
    """CREATE VIRTUAL TABLE edition_searchentry_fts USING fts5(
       text, content='edition_searchentry', content_rowid='id',
       tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER edition_searchentry_fts_insert AFTER INSERT ON edition_searchentry BEGIN
       INSERT INTO edition_searchentry_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER edition_searchentry_fts_delete AFTER DELETE ON edition_searchentry BEGIN
       INSERT INTO edition_searchentry_fts(edition_searchentry_fts, rowid, text)
       VALUES ('delete', old.id, old.text); END""",
    """CREATE TRIGGER edition_searchentry_fts_update AFTER UPDATE ON edition_searchentry BEGIN
       INSERT INTO edition_searchentry_fts(edition_searchentry_fts, rowid, text)
       VALUES ('delete', old.id, old.text);
       INSERT INTO edition_searchentry_fts(rowid, text) VALUES (new.id, new.text); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS edition_searchentry_fts_insert",
    "DROP TRIGGER IF EXISTS edition_searchentry_fts_delete",
    "DROP TRIGGER IF EXISTS edition_searchentry_fts_update",
    "DROP TABLE IF EXISTS edition_searchentry_fts",
]


def index_backend(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRES}.get(vendor, []):
        schema_editor.execute(statement)


def drop_index_backend(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(vendor, []):
        schema_editor.execute(statement)


def index_existing(apps, schema_editor):
    """Historical models, and the pure `passages` (text in, text out), never the live models."""
    from edition.search import passages

    Document = apps.get_model("edition", "Document")
    SearchEntry = apps.get_model("edition", "SearchEntry")
    rows = []
    units = Document.objects.filter(current_revision__isnull=False).values_list(
        "pk", "current_revision__tei", "current_revision__text")
    for pk, tei, text in units.iterator(chunk_size=500):
        rows += [SearchEntry(document_id=pk, note_id=n, text=t) for n, t in passages(tei, text)]
        if len(rows) >= 500:
            SearchEntry.objects.bulk_create(rows)
            rows = []
    SearchEntry.objects.bulk_create(rows)


class Migration(migrations.Migration):

    dependencies = [
        ('edition', '0010_checks'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('note_id', models.CharField(blank=True, max_length=100)),
                ('text', models.TextField()),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='search_entries', to='edition.document')),
            ],
            options={
                'indexes': [models.Index(fields=['document', 'note_id'], name='search_entry_document')],
            },
        ),
        migrations.RunPython(index_backend, drop_index_backend),
        migrations.RunPython(index_existing, migrations.RunPython.noop),
    ]
