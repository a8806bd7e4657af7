"""Two reviewers approving overlapping proposals at the same moment, on real connections.

PostgreSQL only: SQLite serialises every writer anyway, so only PostgreSQL shows whether the
row lock on the document does its job.
"""

import threading

import pytest
from django.db import connection, connections

from edition.models import Document, Revision
from review.actions import ProposalError
from review.actions.propose import do_propose
from review.models import Event, Proposal
from tests.helpers import text_spec
from review.actions.approve import do_approve

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def approve_together(proposals, reviewers):
    barrier = threading.Barrier(len(proposals))
    outcomes = [None] * len(proposals)

    def run(i):
        try:
            barrier.wait()
            outcomes[i] = do_approve(Proposal.objects.get(pk=proposals[i].pk), by=reviewers[i])
        except ProposalError as exc:
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(proposals))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.parametrize("attempt", range(5))
def test_exactly_one_of_two_overlapping_approvals_applies(sample_edition, people, attempt):
    editor, first, second = people.editor, people.reviewer, people.reviewer2
    document = Document.objects.get(xml_id="d142")
    head = document.current_revision
    a = do_propose(document, author=editor, base_revision=head.number, rationale="a",
                   changes=[text_spec(head, "the Cameroons", "Cameroun")])
    b = do_propose(document, author=editor, base_revision=head.number, rationale="b",
                   changes=[text_spec(head, "Cameroons for early", "Cameroons for prompt")])

    outcomes = approve_together([a, b], [first, second])

    applied = [o for o in outcomes if isinstance(o, Revision)]
    refused = [o for o in outcomes if isinstance(o, ProposalError)]
    assert len(applied) == 1 and len(refused) == 1, outcomes
    statuses = sorted(Proposal.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
    assert statuses == ["approved", "conflicted"]
    assert document.revisions.count() == 2
    # Nothing lost: the winner's approval is on record; the loser's proposal keeps its change
    # and says why it conflicted, for its author to re-target.
    assert Event.objects.filter(kind=Event.Kind.APPROVED).count() == 1
    loser = Proposal.objects.get(status="conflicted", pk__in=[a.pk, b.pk])
    assert loser.status_reason and loser.changes.count() == 1
    assert Event.objects.filter(proposal=loser, kind=Event.Kind.CONFLICTED).count() == 1
    assert "conflicted" in refused[0].message
    document.refresh_from_db()
    assert document.current_revision.number == 2


def test_disjoint_approvals_at_the_same_moment_both_apply(sample_edition, people):
    editor, first, second = people.editor, people.reviewer, people.reviewer2
    document = Document.objects.get(xml_id="d142")
    head = document.current_revision
    a = do_propose(document, author=editor, base_revision=1, rationale="a",
                   changes=[text_spec(head, "north Korea", "North Korea")])
    b = do_propose(document, author=editor, base_revision=1, rationale="b",
                   changes=[text_spec(head, "the Cameroons", "Cameroun")])
    outcomes = approve_together([a, b], [first, second])
    assert all(isinstance(o, Revision) for o in outcomes), outcomes
    document.refresh_from_db()
    text = document.current_revision.text
    assert document.current_revision.number == 3
    assert "to North Korea" in text and "of Cameroun for" in text
