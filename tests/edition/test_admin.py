"""The Django admin shows history read-only."""

import pytest
from django.contrib.auth import get_user_model

from edition.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, sample_edition):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.org", "pw"))
    return client


def test_revision_change_page_is_read_only(admin_client):
    revision = Document.objects.get(xml_id="d142").current_revision
    url = f"/admin/edition/revision/{revision.pk}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b'name="tei"' not in response.content  # shown, not editable
    assert b"Memorandum of Conversation" in response.content
    assert admin_client.post(url, {"summary": "forged"}).status_code == 403


def test_revisions_cannot_be_deleted_or_added(admin_client):
    revision = Document.objects.get(xml_id="d142").current_revision
    assert admin_client.get(f"/admin/edition/revision/{revision.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/edition/revision/add/").status_code == 403


def test_document_admin_lists_documents(admin_client):
    response = admin_client.get("/admin/edition/document/")
    assert b"d142" in response.content and b"d144" in response.content
