"""A whole volume's worth of units: the worker, the export build and the contents read in
bounded queries, and never once per revision the edition's skeleton (a volume's passes a
megabyte: loaded with each of 50,000 revisions, it took a worker to 7.7 GB)."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.synth import frus_volume
from edition import contents, pages, tasks
from edition.exporting import builds, sources
from edition.exporting.sources import load_volume
from edition.imports import import_tei
from edition.models import Document, Edition, ExportFragment, ExportRequest, Revision
from edition.rendering import rendered_html
from tests.helpers import EXCERPT

pytestmark = pytest.mark.django_db


def imported(tmp_path, documents: int, *, per_chapter: int = 20) -> Edition:
    """The sample's front matter (persons, terms: a skeleton of some 100 KB) and `documents`
    synthetic documents in chapters of `per_chapter`."""
    path = tmp_path / f"volume-{documents}.xml"
    frus_volume(path, documents, per_chapter=per_chapter, chapters_per_compilation=3,
                sample=EXCERPT)
    edition = import_tei(path).edition
    cache.clear()
    return edition


def skeleton_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "tei_skeleton" in q["sql"]]


def test_warm_rendering_reads_chunks_of_revisions_without_the_skeleton(tmp_path, monkeypatch):
    edition = imported(tmp_path, 120)
    monkeypatch.setattr(tasks, "WARM_CHUNK", 50)
    ids = list(Revision.objects.filter(document__edition=edition).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        assert tasks.warm_rendering(ids) == len(ids)
    assert skeleton_reads(queries) == []
    # Three chunks of revisions, the edition once, and once what links depend on: the local
    # editions and the edition's unit ids.
    assert len(queries) == -(-len(ids) // 50) + 3


def test_a_lone_revision_renders_without_loading_the_skeleton(tmp_path):
    edition = imported(tmp_path, 5)
    revision = Revision.objects.filter(document__edition=edition).last()
    with CaptureQueriesContext(connection) as queries:
        assert rendered_html(revision)
    assert skeleton_reads(queries) == []


def test_load_volume_reads_every_part_in_one_query_without_text_layers(tmp_path):
    imported(tmp_path, 120)
    edition = Edition.objects.without_tei().get()
    with CaptureQueriesContext(connection) as queries:
        volume = load_volume(edition)
    assert len(volume.parts) == Document.objects.count()
    assert len(queries) == 1
    [sql] = [q["sql"] for q in queries.captured_queries]
    assert "tei_skeleton" not in sql and '"edition_revision"."text"' not in sql
    assert all(p.document.edition is edition for p in volume.parts)


def test_export_build_reads_the_skeleton_once_and_renders_each_piece_once(tmp_path, settings,
                                                                          monkeypatch):
    settings.EMEND_EXPORT_FORMATS = ["tei", "html", "txt", "json"]
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "exports")}}}
    edition = imported(tmp_path, 60)
    ExportRequest.objects.all().delete()
    with transaction.atomic():
        builds.request_export(edition, "test", full=True)
    ExportFragment.objects.all().delete()  # the import's gate stored every piece
    built: list[str] = []
    real_write = sources._write
    monkeypatch.setattr(sources, "_write", lambda rows: (built.extend(r.key for r in rows),
                                                         real_write(rows)))
    with CaptureQueriesContext(connection) as queries:
        outcome = builds.run(edition.pk, "text")
    assert outcome.status == builds.Result.BUILT
    assert len(skeleton_reads(queries)) == 1  # the claim's edition: the volume's TEI needs it
    # The fragment store's: a read per format per 200 units, its writes in batches (cold).
    assert len(queries) < 48
    # A full build renders a piece once, for the document's file and the volume's alike: one
    # per unit and format (the JSON's HTML articles are the HTML's).
    units = Document.objects.filter(edition=edition).count()
    assert len(built) == len(set(built)) == units * 4


def test_contents_queries_do_not_grow_with_the_volume(tmp_path, client, monkeypatch):
    monkeypatch.setattr(contents, "PAGE_SIZE", 25)
    monkeypatch.setattr(contents, "CHILDREN_PAGE_SIZE", 25)

    def queries_for(documents: int) -> dict[str, int]:
        edition = imported(tmp_path, documents)
        body = Document.objects.filter(edition=edition, matter="body").count()
        chapter = Document.objects.filter(edition=edition, div_type="chapter").last()
        counts = {}
        for page, url in {"first": f"/{edition.slug}/",
                          "middle": f"/{edition.slug}/?page={-(-body // 25) // 2 + 1}",
                          "chapter": f"/{edition.slug}/{chapter.xml_id}/"}.items():
            cache.clear()
            # And the process's memory of the edition's image hosts (edition.pages
            # .image_origins, kept a minute): each page is measured cold, as the cache is.
            pages.forget_origins()
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            assert skeleton_reads(queries) == []
            counts[page] = len(queries)
        Edition.objects.filter(pk=edition.pk).update(slug=f"old{documents}")
        return counts

    small, large = queries_for(40), queries_for(160)
    assert small == large
    assert all(n > 0 for n in small.values())


@pytest.mark.parametrize("name", ["tei", "html", "txt", "json", "epub"])
def test_a_volume_file_in_chunks_is_the_volume_file(tmp_path, name):
    from edition.exporting.formats import FORMATS

    edition = imported(tmp_path, 30)
    volume = load_volume(edition)
    module = FORMATS[name].module
    chunks = list(module.volume_chunks(volume))
    assert len(chunks) > 1 or name == "epub"
    assert b"".join(chunks) == module.volume(volume)
