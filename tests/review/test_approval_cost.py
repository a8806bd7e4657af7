"""What one approval costs in SQL statements: the approving request, then the worker's message
after it (the page warmed, the checks run). Each statement the ORM compiles costs the
process about as much CPU as PostgreSQL spends running it, so issue 14's work cut them (20, 9
and 7 before it); these ceilings keep the gain from regressing silently. Counted on an
approval with no other open proposal on the unit: test_rebase.py's TestCost shows the count
does not grow with far-away ones."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from edition import checks, tasks
from edition.checks import run
from edition.models import Document, Revision, Suggestion
from review.actions.approve import do_approve
from review.actions.propose import do_propose
from review.models import Event, Proposal
from tests.helpers import text_spec

pytestmark = pytest.mark.django_db

# Per database, as measured (savepoints not counted).
APPROVAL = {"postgresql": 16, "sqlite": 17}
# The warming: one more than 9 since a stamp read from the database is read again once stored
# (edition/pagecache.py `_values`: a change committed in between has dropped it already).
WARMING = {"postgresql": 10, "sqlite": 10}
# The checks: one more than the 5 of a locking read, since they run before the lock (only
# the revision's id is read under it: an approval never waits for the low-priority worker).
CHECKS = {"postgresql": 6, "sqlite": 6}


def ceiling(counts: dict[str, int]) -> int:
    return counts.get(connection.vendor, max(counts.values()))


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements sent, but savepoints: the test's own transaction turns each
    `atomic` into a pair of them."""
    return [q["sql"][:200] for q in queries if "SAVEPOINT" not in q["sql"]]


def proposal_on(document: Document, people, exact: str, replacement: str) -> Proposal:
    head = document.current_revision
    proposal = do_propose(document, author=people.editor, base_revision=head.number,
                          rationale="A fix", changes=[text_spec(head, exact, replacement)])
    return Proposal.objects.get(pk=proposal.pk)


def test_one_approval_and_its_worker_message_stay_within_their_statements(
        client, sample_edition, people):
    document = Document.objects.get(xml_id="d144")
    client.get(f"/{sample_edition.slug}/d144/")  # an origin pages are served at: warmed
    proposal = proposal_on(document, people, "mentioned", "noted")
    reviewer = type(people.reviewer).objects.get(pk=people.reviewer.pk)

    with CaptureQueriesContext(connection) as approving:
        revision = do_approve(proposal, by=reviewer)
    with CaptureQueriesContext(connection) as warming:
        assert tasks.warm_pages(revision.pk) == 1
    with CaptureQueriesContext(connection) as checking:
        tasks.run_checks([document.pk])

    assert len(statements(approving)) <= ceiling(APPROVAL), statements(approving)
    assert len(statements(warming)) <= ceiling(WARMING), statements(warming)
    assert len(statements(checking)) <= ceiling(CHECKS), statements(checking)
    # Fewer statements, nothing less done: the revision, its events in order, the page.
    assert Document.objects.get(pk=document.pk).current_revision_id == revision.pk
    kinds = list(Event.objects.filter(proposal=proposal).values_list("kind", flat=True))
    assert kinds[-2:] == [Event.Kind.APPROVED, Event.Kind.APPLIED]
    with CaptureQueriesContext(connection) as reading:
        response = client.get(f"/{sample_edition.slug}/d144/")
    assert response.status_code == 200 and len(reading) == 0  # the page warmed is served
    assert "noted" in Revision.objects.get(pk=revision.pk).text


def test_checks_replace_open_suggestions_and_keep_settled_ones(sample_edition, people):
    document = Document.objects.get(xml_id="d144")
    head = document.current_revision
    rows = dict(document=document, revision=head, change="", explanation="x")
    check = checks.names()[0]
    stale = Suggestion.objects.create(check_name=check, exact="gone", **rows)
    settled = Suggestion.objects.create(check_name=check, exact="kept", **rows,
                                        dismissed_at=head.created_at)
    other = Suggestion.objects.create(check_name=Suggestion.Check.DATELINE, exact="theirs",
                                      **rows)  # the import's: no run of the checks touches it
    run.run_documents([document.pk])
    assert not Suggestion.objects.filter(pk=stale.pk).exists()
    assert Suggestion.objects.filter(pk__in=[settled.pk, other.pk]).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_checks_that_waited_for_an_approval_check_its_new_revision(sample_edition, people,
                                                                   monkeypatch):
    """The checks run on the revision current before the lock, then lock the unit; when an
    approval holding the lock commits first, the revision it made is read and checked under
    the lock, never the one before it, never none."""
    document = Document.objects.get(xml_id="d144")
    holding, outcome, checked = threading.Event(), {}, []
    record = run._record

    def recording(locked, known, previous, found=None):
        checked.append(locked.current_revision_id)
        return record(locked, known, previous, found)

    monkeypatch.setattr(run, "_record", recording)

    def approve_slowly():
        try:
            with transaction.atomic():
                locked = (Document.objects.select_for_update(of=("self",), no_key=True)
                          .select_related("edition", "current_revision").get(pk=document.pk))
                tei = locked.current_revision.tei.replace("mentioned", "noted", 1)
                outcome["revision"] = locked.add_revision(tei, by=people.editor,
                                                          summary="slow")
                holding.set()
                time.sleep(0.5)  # the checks are waiting for the row meanwhile
        finally:
            holding.set()
            connections.close_all()

    def check():
        try:
            holding.wait(10)
            outcome["count"] = run.run_documents([document.pk])
        except Exception as exc:  # reported below, with its type
            outcome["error"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve_slowly), threading.Thread(target=check)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert "error" not in outcome, outcome.get("error")
    revision = outcome["revision"]
    assert checked == [revision.pk]  # checked, and on the revision the approval committed
    assert not Suggestion.objects.of_checks().filter(document=document).exclude(
        revision=revision).open().exists()
