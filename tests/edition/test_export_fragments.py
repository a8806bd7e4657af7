"""The fragment store (ExportFragment, exporting/sources.py `fragment`): what the gate renders
for an approval or an import is kept, a build assembles its files from it, and a piece is
rendered again whenever anything it depends on changes. Every build here is compared byte for
byte with a cold one (an empty store: everything rendered)."""

from datetime import UTC, datetime

import pytest
from django.core.files.storage import storages
from django.db import transaction

from edition.exporting import builds, epub, sources, tei, text
from edition.exporting.sources import Part, load_volume
from edition.models import ExportFile, ExportFragment
from review.actions.approve import do_approve
from review.actions.propose import do_propose
from tests.helpers import revise, text_spec

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC)
FORMATS = ["tei", "html", "txt", "json", "epub"]


@pytest.fixture(autouse=True)
def text_group(settings, monkeypatch):
    settings.EMEND_EXPORT_FORMATS = FORMATS
    # One moment for every build: the files name it, and builds are compared byte for byte.
    real = builds.load_volume

    def at_one_moment(*args, **kwargs):
        vol = real(*args, **kwargs)
        vol.built_at = WHEN
        return vol

    monkeypatch.setattr(builds, "load_volume", at_one_moment)


def counting(monkeypatch) -> list:
    """Every piece rendered, by format (what `fragment` calls `build` for)."""
    rendered = []
    real = sources.fragment

    def spy(fmt, version, part, build):
        def counted():
            rendered.append((fmt, part.xml_id))
            return build()
        return real(fmt, version, part, counted)

    monkeypatch.setattr(sources, "fragment", spy)  # html, text, annotations, tei call it so
    monkeypatch.setattr(epub, "fragment", spy)  # imported by name
    return rendered


def build_files(edition) -> dict[tuple, bytes]:
    """A full build (every file written), its files by (format, document)."""
    with transaction.atomic():
        builds.request_export(edition, "test", full=True)
    [built] = builds.run(edition.pk).builds
    files = {}
    for row in ExportFile.objects.filter(build=built).select_related("document"):
        with storages["exports"].open(row.name, "rb") as handle:
            files[(row.format, row.document.xml_id if row.document else None)] = handle.read()
    return files


def cold(edition) -> dict[tuple, bytes]:
    ExportFragment.objects.all().delete()
    return build_files(edition)


def test_a_build_from_the_stored_pieces_is_the_cold_build(sample_volume, monkeypatch):
    units = sample_volume.documents.count()
    # The import's gate stored every unit's pieces of every format.
    assert ExportFragment.objects.filter(format="html").count() == units
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert rendered == []  # assembled, nothing rendered
    again = cold(sample_volume)
    assert len(rendered) == units * len(FORMATS)
    assert len(stored) == (units + 1) * len(FORMATS)
    assert stored == again


def test_an_approval_stores_its_pieces_for_the_build(sample_volume, people, monkeypatch):
    d142 = sample_volume.documents.get(xml_id="d142")
    proposal = do_propose(d142, author=people.editor, base_revision=1, rationale="x",
                          changes=[text_spec(d142.current_revision, "north Korea",
                                             "North Korea")])
    revision = do_approve(proposal, by=people.reviewer)
    assert set(ExportFragment.objects.filter(checksum=revision.checksum)
               .values_list("format", flat=True)) >= {"tei", "html", "txt", "json", "epub"}
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert rendered == []
    assert b"North Korea" in stored[("txt", "d142")]
    assert stored == cold(sample_volume)


def test_a_missing_piece_is_rendered_and_stored(sample_volume, monkeypatch):
    d143 = sample_volume.documents.get(xml_id="d143")
    ExportFragment.objects.filter(checksum=d143.current_revision.checksum,
                                  format="html").delete()
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert rendered == [("html", "d143")]
    assert ExportFragment.objects.filter(checksum=d143.current_revision.checksum,
                                         format="html").exists()
    assert stored == cold(sample_volume)


def test_a_revision_without_pieces_is_rendered(sample_volume, monkeypatch):
    # A revision stored without the gate (a data migration, a script): nothing in the store.
    revise(sample_volume.documents.get(xml_id="d144"), "typhoons", "cyclones")
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert sorted(rendered) == sorted((f, "d144") for f in ["tei", "html", "txt", "json",
                                                            "epub"])
    assert b"cyclones" in stored[("html", "d144")]
    assert stored == cold(sample_volume)


def test_a_renamed_unit_renders_its_own_pieces_again(sample_volume, monkeypatch):
    # The EPUB's chapter carries the unit's heading; other units link to it by token only,
    # and the contents that list its title are assembled, never stored.
    sample_volume.documents.filter(xml_id="d143").update(title="A Renamed Telegram")
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert {x for _, x in rendered} == {"d143"}
    assert b"A Renamed Telegram" in stored[("html", None)]
    assert stored == cold(sample_volume)


def test_a_renumbered_unit_renders_its_own_pieces_again(sample_volume, monkeypatch):
    d144 = sample_volume.documents.get(xml_id="d144")
    sample_volume.documents.filter(pk=d144.pk).update(number=d144.number + 100)
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert {x for _, x in rendered} == {"d144"}
    assert stored == cold(sample_volume)


def test_a_version_bump_renders_every_piece_of_that_format(sample_volume, monkeypatch):
    units = sample_volume.documents.count()
    monkeypatch.setattr(text, "VERSION", text.VERSION + 1)
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert sorted(rendered) == sorted(("txt", d.xml_id) for d in sample_volume.documents.all())
    assert len(rendered) == units
    assert stored == cold(sample_volume)


def test_a_renderer_version_bump_renders_every_piece(sample_volume, monkeypatch):
    units = sample_volume.documents.count()
    monkeypatch.setattr(sources, "RENDER_VERSION", f"{sources.RENDER_VERSION}.test")
    rendered = counting(monkeypatch)
    build_files(sample_volume)
    assert len(rendered) == units * len(FORMATS)


def test_another_site_address_renders_every_piece(sample_volume, monkeypatch, settings):
    units = sample_volume.documents.count()
    settings.EMEND_SITE_URL = "https://elsewhere.example"
    rendered = counting(monkeypatch)
    stored = build_files(sample_volume)
    assert len(rendered) == units * len(FORMATS)
    assert b"https://elsewhere.example/" in stored[("json", "d142")]


def test_rerender_forgets_the_editions_pieces(sample_volume, monkeypatch):
    from django.core.management import call_command

    rendered = counting(monkeypatch)
    call_command("rebuild_exports", sample_volume.slug, "--rerender", "--now")
    assert len(rendered) == sample_volume.documents.count() * len(FORMATS)


def test_the_standalone_tei_is_document_tei(sample_volume):
    for part in load_volume(sample_volume).parts:
        assert tei.standalone(part) == tei.document_tei(sample_volume, part.revision)


def test_the_standalone_tei_of_an_id_written_escaped(sample_volume):
    part = load_volume(sample_volume).parts[1]
    # An id that is not letters, digits, ".", "-", "_": the frame is made for it.
    part.document.xml_id = "dé143"
    assert (tei.standalone(part)
            == tei.document_tei(sample_volume, part.revision).replace(
                f'"{sample_volume.slug}-d143"'.encode(),
                f'"{sample_volume.slug}-dé143"'.encode()))


@pytest.mark.parametrize("value", ["plain", "a\x00b\x00", "\x01", "\x01\x02\x00\x01\x03",
                                   "\x00\x01\x00\x01\x01", ""])
def test_a_piece_comes_back_as_it_was_stored(sample_volume, value):
    part = load_volume(sample_volume).parts[0]
    with sources.storing():
        assert sources.fragment("test", repr(value), part, lambda: value) == value
    assert sources.fragment("test", repr(value), part, lambda: "rendered again") == value
    assert sources._unescape(sources._escape(value)) == value


def test_the_gate_stores_nothing_for_a_proposal(sample_volume):
    from edition.gate import check_candidate

    d142 = sample_volume.documents.get(xml_id="d142")
    tei_text = d142.current_revision.tei.replace("north Korea", "northern Korea", 1)
    before = ExportFragment.objects.count()
    check_candidate(tei_text, d142, number=2)  # a proposal's candidate: scratch
    assert ExportFragment.objects.count() == before
    check_candidate(tei_text, d142, number=2, keep=True)
    candidate = Part.candidate(d142, tei_text, number=2)
    assert ExportFragment.objects.filter(checksum=candidate.revision.checksum).count() >= 4


def test_a_tei_piece_is_stored_as_a_mark_only_when_the_tei_makes_it(sample_volume):
    d142 = sample_volume.documents.get(xml_id="d142")
    current = d142.current_revision.tei
    # As lxml writes it: the piece is the stored TEI but for the root's declarations.
    written = Part.candidate(d142, current, number=2)
    # The same tree written otherwise (single quotes): the piece itself is stored.
    start = current.index(">")
    quoted = Part.candidate(d142, current[:start].replace('type="document"', "type='document'")
                            + current[start:], number=2)
    assert quoted.revision.checksum != written.revision.checksum
    stored = []
    for part in (written, quoted):
        with sources.storing():
            file = tei.standalone(part)
        assert file == tei.document_tei(sample_volume, part.revision)
        stored.append(ExportFragment.objects.get(
            key=sources.fragment_key("tei", tei.VERSION, part)).text)
        # Read back from the store, it makes the same file.
        assert tei.standalone(part) == file
    assert stored[0] == "="
    assert stored[1].startswith('<div type="document"')


def test_a_store_that_cannot_be_written_breaks_nothing(sample_volume, people, monkeypatch):
    from django.db import DatabaseError

    expected = build_files(sample_volume)
    ExportFragment.objects.all().delete()

    def failing(rows):
        raise DatabaseError("deadlock detected")

    monkeypatch.setattr(sources, "_write", failing)
    assert build_files(sample_volume) == expected  # every piece rendered, none stored
    d142 = sample_volume.documents.get(xml_id="d142")
    proposal = do_propose(d142, author=people.editor, base_revision=1, rationale="x",
                          changes=[text_spec(d142.current_revision, "north Korea",
                                             "North Korea")])
    assert do_approve(proposal, by=people.reviewer) is not None
    assert not ExportFragment.objects.exists()


def test_moved_site_addresses_make_other_keys(sample_volume):
    from django.urls import get_script_prefix, set_script_prefix

    part = load_volume(sample_volume).parts[0]
    before = sources.fragment_key("json", 1, part)
    prefix = get_script_prefix()
    set_script_prefix("/under/a/path/")  # the site served below a path: its links move
    try:
        assert sources.fragment_key("json", 1, part) != before
    finally:
        set_script_prefix(prefix)
    assert sources.fragment_key("json", 1, part) == before


def test_a_build_that_forgets_what_it_read_reads_it_again(sample_volume, monkeypatch):
    # A volume whose pieces do not fit the build's memory: small windows, a tiny memory.
    expected = build_files(sample_volume)
    monkeypatch.setattr(sources._Store, "WINDOW", 2)
    monkeypatch.setattr(sources._Store, "MEMO_CHARS", 2000)
    monkeypatch.setattr(sources._Store, "BATCH_CHARS", 3000)
    rendered = counting(monkeypatch)
    assert build_files(sample_volume) == expected
    assert rendered == []
    assert cold(sample_volume) == expected  # rendered, stored, forgotten, read back
    assert len(rendered) == sample_volume.documents.count() * len(FORMATS)


def test_the_store_compresses_with_lz4_on_postgresql():
    # Migration 0015: LZ4 where the server has it (pglz, the default, is several times
    # slower to write the pieces of a cold build or an import).
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                       "AND 'lz4' = ANY(enumvals)")
        if cursor.fetchone() is None:
            pytest.skip("this PostgreSQL has no LZ4: the store keeps pglz")
        cursor.execute("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                       "'edition_exportfragment'::regclass AND attname = 'text'")
        assert cursor.fetchone()[0] == "l"
        ExportFragment.objects.create(key="k" * 64, edition_id=_edition().pk, checksum="c",
                                      format="html", text="<p>words</p>" * 2000)
        cursor.execute("SELECT pg_column_compression(text) FROM edition_exportfragment "
                       "WHERE key = %s", ["k" * 64])
        assert cursor.fetchone()[0] == "lz4"


def _edition():
    from edition.models import Edition

    return Edition.objects.create(slug="lz4", title="LZ4", tei_header="<x/>",
                                  tei_skeleton="<x/>")


def _writes_apart(monkeypatch) -> list[str]:
    """The threads `_write_apart` ran on, one name a batch."""
    import threading

    threads = []
    real = sources._write_apart

    def spy(rows):
        threads.append(threading.current_thread().name)
        real(rows)

    monkeypatch.setattr(sources, "_write_apart", spy)
    return threads


@pytest.mark.django_db(transaction=True)
def test_a_build_outside_a_transaction_stores_its_pieces_apart(sample_volume, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("written apart on PostgreSQL only")
    threads = _writes_apart(monkeypatch)
    # A batch a piece: the batches go one at a time, each waiting for the one before.
    monkeypatch.setattr(sources._Store, "BATCH_CHARS", 1)
    units = sample_volume.documents.count()
    files = cold(sample_volume)
    assert len(threads) == units * len(FORMATS)  # one batch a piece, each apart
    assert set(threads) == {"export-fragments"}
    # Every piece is stored when the build ends (its thread waited), and makes the same files.
    assert ExportFragment.objects.count() == units * len(FORMATS)
    rendered = counting(monkeypatch)
    assert build_files(sample_volume) == files
    assert rendered == []


@pytest.mark.django_db(transaction=True)
def test_a_write_apart_that_fails_breaks_nothing(sample_volume, monkeypatch, caplog):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("written apart on PostgreSQL only")
    threads = _writes_apart(monkeypatch)
    expected = cold(sample_volume)
    ExportFragment.objects.all().delete()

    def failing(rows):
        raise RuntimeError("the server went away")  # not even a DatabaseError

    monkeypatch.setattr(sources, "_write", failing)
    assert build_files(sample_volume) == expected  # every piece rendered, none stored
    assert threads
    assert not ExportFragment.objects.exists()
    assert "rendered pieces not stored" in caplog.text


def test_a_build_inside_a_transaction_writes_its_pieces_itself(sample_volume, monkeypatch):
    # A test's transaction, an import's: another connection could not see its rows.
    threads = _writes_apart(monkeypatch)
    cold(sample_volume)
    assert threads == []
    assert ExportFragment.objects.filter(format="html").count() == \
        sample_volume.documents.count()
