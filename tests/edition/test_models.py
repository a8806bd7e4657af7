"""What must always hold for editions, documents and revisions."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from edition.changes import RevisionChange
from edition.models import Document, Revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def d142(sample_edition):
    return Document.objects.with_current().get(xml_id="d142")


def test_revision_derives_text_layer_and_checksum(d142):
    revision = d142.current_revision
    assert revision.text.startswith("142. Memorandum")
    assert len(revision.checksum) == 64


def test_saving_a_revision_again_is_refused(d142):
    revision = d142.current_revision
    revision.summary = "rewritten"
    with pytest.raises(TypeError, match="immutable"):
        revision.save()


def test_queryset_update_and_delete_are_refused(d142):
    with pytest.raises(TypeError):
        Revision.objects.filter(pk=d142.current_revision_id).update(summary="x")
    with pytest.raises(TypeError):
        Revision.objects.all().delete()
    with pytest.raises(TypeError):
        d142.current_revision.delete()


def test_the_database_refuses_to_change_a_revision(d142):
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE edition_revision SET tei = 'x' WHERE id = %s",
                           [d142.current_revision_id])
    assert Revision.objects.get(pk=d142.current_revision_id).tei.startswith("<div")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite triggers refuse UPDATE only")
def test_the_database_refuses_to_delete_a_revision(d142):
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM edition_revision WHERE id = %s", [d142.current_revision_id])


def test_revision_numbers_are_unique_per_document(d142):
    with pytest.raises(IntegrityError), transaction.atomic():
        Revision.objects.create(document=d142, number=2, parent=d142.current_revision,
                                tei=d142.current_revision.tei, summary="a")
        Revision.objects.create(document=d142, number=2, parent=d142.current_revision,
                                tei=d142.current_revision.tei, summary="b")


def test_only_the_first_revision_lacks_a_parent(d142):
    with pytest.raises(IntegrityError), transaction.atomic():
        Revision.objects.create(document=d142, number=2, tei=d142.current_revision.tei,
                                summary="orphan")


def test_document_ids_are_unique_per_edition(d142):
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.create(edition=d142.edition, xml_id="d142", title="again", order=99)


def test_a_revision_is_current_for_one_document_only(sample_edition, d142):
    d144 = Document.objects.get(xml_id="d144")
    d144.current_revision = d142.current_revision
    with pytest.raises(IntegrityError), transaction.atomic():
        d144.save()


def test_add_revision_links_parent_and_moves_current(d142):
    first = d142.current_revision
    new = d142.add_revision(first.tei.replace("Parsons", "Parsons Jr."), by=None,
                            summary="test", change=RevisionChange(kind="test"))
    d142.refresh_from_db()
    assert d142.current_revision == new
    assert (new.number, new.parent) == (2, first)
    assert not Revision.objects.get(pk=first.pk).is_current
