"""A proposer's own parts of the reading page from the cache (edition/ownparts.py): no query
for a page already seen, and every write that changes them seen by the next page."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from edition import ownparts
from edition.models import Document, Edition, Suggestion
from edition.rendering import RENDER_VERSION
from tests.helpers import revise, text_spec

pytestmark = pytest.mark.django_db

D142, D143 = "/frus1958-60v18/d142/", "/frus1958-60v18/d143/"


def doc(xml_id: str) -> Document:
    return Document.objects.get(xml_id=xml_id)


def propose(author, exact="restrained manner", replacement="calm manner"):
    from review.actions.propose import do_propose

    document = doc("d142")
    revision = document.current_revision
    return do_propose(document, author=author, base_revision=revision.number,
                      changes=[text_spec(revision, exact, replacement)], rationale="fix")


@pytest.fixture
def editor(sample_volume, people):
    client = Client()
    client.force_login(people.editor)
    client.get(D142)
    client.get(D143)  # both pages' own parts cached
    return client


def cached(xml_id: str):
    return cache.get(ownparts.entry_key(RENDER_VERSION, doc(xml_id).pk))


def test_an_editors_page_seen_before_costs_no_query(editor):
    with CaptureQueriesContext(connection) as queries:
        page = editor.get(D143)
    assert page.status_code == 200 and 'id="suggestions"' in page.content.decode()
    assert [q["sql"] for q in queries] == []


def test_the_cached_parts_hold_no_token(editor):
    own = cached("d143")
    assert own.suggestions and ownparts.token_marker() in own.suggestions
    token = editor.cookies["csrftoken"].value
    page = editor.get(D143).content.decode()
    assert ownparts.token_marker() not in page
    assert token not in repr(own)


def test_a_new_proposal_a_withdrawal_and_an_approval_show_at_once(editor, people):
    from review.actions.approve import do_approve
    from review.actions.decide import do_withdraw

    first = propose(people.editor2)
    assert f"Proposal {first.pk}<" in editor.get(D142).content.decode()
    do_withdraw(first, by=people.editor2)
    assert f"Proposal {first.pk}<" not in editor.get(D142).content.decode()
    second = propose(people.reviewer, "prospective membership", "future membership")
    assert f"Proposal {second.pk}<" in editor.get(D142).content.decode()
    do_approve(second, by=people.admin)
    page = editor.get(D142).content.decode()
    assert f"Proposal {second.pk}<" not in page and "future membership" in page
    assert 'data-rev="2"' in page


def test_a_change_saved_alone_drops_the_parts(editor, people):
    proposal = propose(people.editor2)
    editor.get(D142)
    assert cache.get(ownparts.unit_key(doc("d142").pk)) is not None
    change = proposal.changes.get()
    change.save()
    assert cache.get(ownparts.unit_key(doc("d142").pk)) is None


def test_a_new_revision_drops_the_parts(editor):
    revise(doc("d142"), "restrained manner", "calm manner")
    assert cache.get(ownparts.unit_key(doc("d142").pk)) is None
    assert 'data-rev="2"' in editor.get(D142).content.decode()


def test_a_dismissed_suggestion_goes_at_once(editor):
    suggestion = Suggestion.objects.filter(document=doc("d143")).open().first()
    assert f'id="suggestion-{suggestion.pk}"' in editor.get(D143).content.decode()
    suggestion.dismiss(by=None)
    assert f'id="suggestion-{suggestion.pk}"' not in editor.get(D143).content.decode()


def test_a_check_turned_off_goes_at_once(editor):
    suggestion = Suggestion.objects.filter(document=doc("d143")).open().first()
    edition = Edition.objects.get()
    edition.disabled_checks = [suggestion.check_name]
    edition.save(update_fields=["disabled_checks"])
    assert f'id="suggestion-{suggestion.pk}"' not in editor.get(D143).content.decode()


def test_suggestions_made_in_bulk_drop_the_parts(editor):
    from edition.checks.run import run_document

    document = doc("d142")
    key = ownparts.unit_key(document.pk)
    assert cache.get(key) is not None
    run_document(document)
    assert cache.get(key) is None


def test_the_imports_findings_drop_the_parts(editor):
    from edition.imports import _store_findings

    document = doc("d142")
    key = ownparts.unit_key(document.pk)
    assert cache.get(key) is not None
    _store_findings(document, [])
    assert cache.get(key) is None


def test_an_entry_under_old_stamps_is_never_used(editor, people):
    # A lost drop of the unit stamp (the cache unreachable as the proposal was made) is
    # bounded by OWN_TTL; a drop that arrives makes every entry stored before it unreachable.
    old = cached("d142")
    proposal = propose(people.editor2)
    cache.set(ownparts.entry_key(RENDER_VERSION, doc("d142").pk), old)
    assert f"Proposal {proposal.pk}<" in editor.get(D142).content.decode()


def test_an_authors_new_name_shows_at_once(editor, people):
    propose(people.editor2)
    assert "by editor2:" in " ".join(editor.get(D142).content.decode().split())
    people.editor2.username = "renamed"
    people.editor2.save()
    page = " ".join(editor.get(D142).content.decode().split())
    assert "by renamed:" in page and "by editor2:" not in page
