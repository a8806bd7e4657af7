"""Authors are told by e-mail when their proposal is decided or conflicted, once it commits.

pytest-django's `mailoutbox` collects what Django's locmem backend sends; mail goes out in
`transaction.on_commit`, which `django_capture_on_commit_callbacks(execute=True)` runs.
"""

import pytest
from django.db import transaction
from django.db.models import F

from edition.models import Document
from review.actions import ProposalError
from review.actions.propose import do_propose
from review.models import Change, Proposal
from tests.helpers import text_spec
from review.actions.approve import do_approve
from review.actions.decide import do_reject, do_request_changes, do_withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.EMEND_SITE_URL = "https://emend.example"


def propose(author, exact, replacement, doc="d142") -> Proposal:
    document = Document.objects.select_related("current_revision").get(xml_id=doc)
    revision = document.current_revision
    return do_propose(document, author=author, base_revision=revision.number,
                      changes=[text_spec(revision, exact, replacement)],
                      rationale="Typo")


@pytest.fixture
def proposal(people):
    return propose(people.editor, "Secretary Herter", "Mr. Herter")


def test_author_is_told_of_approval(people, proposal, mailoutbox,
                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        do_approve(proposal, by=people.reviewer)
    [mail] = mailoutbox
    assert mail.to == ["editor@example.org"]
    assert mail.subject == "[Emend] Your proposal on Document 142 was approved"
    assert f"https://emend.example/review/proposals/{proposal.pk}/" in mail.body


def test_author_is_told_of_rejection_with_the_reason(people, proposal, mailoutbox,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        do_reject(proposal, by=people.reviewer, reason="The original reads “Secretary”.")
    [mail] = mailoutbox
    assert mail.subject == "[Emend] Your proposal on Document 142 was rejected"
    assert "Reason: The original reads “Secretary”." in mail.body


def test_author_is_told_when_changes_are_requested(people, proposal, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        do_request_changes(proposal, by=people.reviewer, reason="Cite the source.")
    [mail] = mailoutbox
    assert mail.subject == "[Emend] Changes were requested to your proposal on Document 142"
    assert f"A reviewer asked for changes to your proposal {proposal.pk} on Document 142" in (
        mail.body)
    assert "was changes requested" not in mail.body and "is now changes" not in mail.body
    assert "Reason: Cite the source." in mail.body


def test_author_is_told_when_another_approval_conflicts(people, proposal, mailoutbox,
                                                        django_capture_on_commit_callbacks):
    overlapping = propose(people.editor2, "Secretary Herter expressed", "Herter said")
    with django_capture_on_commit_callbacks(execute=True):
        do_approve(proposal, by=people.reviewer)
    overlapping.refresh_from_db()
    assert overlapping.status == "conflicted"
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {"editor@example.org", "editor2@example.org"}
    mail = by_recipient["editor2@example.org"]
    assert mail.subject == "[Emend] Your proposal on Document 142 needs re-targeting"
    assert overlapping.status_reason in mail.body
    assert f"/review/proposals/{overlapping.pk}/" in mail.body


def test_conflict_found_at_approval_is_told(people, proposal, mailoutbox,
                                            django_capture_on_commit_callbacks):
    # A proposal whose offsets went stale outside rebase: approving it finds the conflict,
    # marks it conflicted and tells its author.
    other = propose(people.editor2, "Mr. Parsons", "Parsons")
    with django_capture_on_commit_callbacks(execute=True):
        do_approve(proposal, by=people.reviewer)
    # Offsets that no longer hold the quote (as a re-import without a step map leaves them).
    Change.objects.filter(proposal=other).update(start=F("start") + 3, end=F("end") + 3)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ProposalError):
            do_approve(other, by=people.reviewer)
    assert Proposal.objects.get(pk=other.pk).status == "conflicted"
    [mail] = mailoutbox
    assert mail.to == ["editor2@example.org"] and "re-targeting" in mail.subject


def test_nothing_is_sent_when_the_transaction_rolls_back(people, proposal, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    overlapping = propose(people.editor2, "Secretary Herter expressed", "Herter said")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            do_approve(proposal, by=people.reviewer)
            raise RuntimeError("something later in the request failed")
    assert callbacks == [] and mailoutbox == []
    assert Proposal.objects.get(pk=proposal.pk).status == "pending"
    assert Proposal.objects.get(pk=overlapping.pk).status == "pending"


def test_first_of_two_required_approvals_sends_nothing(people, proposal, mailoutbox,
                                                       django_capture_on_commit_callbacks):
    edition = proposal.document.edition
    edition.required_approvals = 2
    edition.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert do_approve(proposal, by=people.reviewer) is None
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        do_approve(proposal, by=people.reviewer2)
    assert [m.subject for m in mailoutbox] == [
        "[Emend] Your proposal on Document 142 was approved"]


def test_withdrawing_sends_nothing(people, proposal, mailoutbox,
                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        do_withdraw(proposal, by=people.editor)
    assert mailoutbox == []


def test_author_without_address_is_skipped(people, proposal, mailoutbox,
                                           django_capture_on_commit_callbacks):
    people.editor.email = ""
    people.editor.save()
    with django_capture_on_commit_callbacks(execute=True):
        do_approve(proposal, by=people.reviewer)
    assert mailoutbox == []
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"


def test_mail_failure_does_not_undo_the_decision(people, proposal, mailoutbox, monkeypatch,
                                                 django_capture_on_commit_callbacks, caplog):
    def broken(*args, **kwargs):
        raise OSError("SMTP server unreachable")

    monkeypatch.setattr("review.notifications.send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        do_approve(proposal, by=people.reviewer)
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"
    assert "could not mail editor@example.org" in caplog.text


@pytest.mark.parametrize("message, expected", [
    ("the quote is gone", "The quote is gone."),
    ("see the List of Persons (persons).", "See the List of Persons (persons)."),
    ("Really?", "Really?"),
])
def test_messages_end_with_one_full_stop(message, expected):
    from review.actions import sentence

    assert sentence(message) == expected


def test_reanchored_mail_reads_as_english(people, proposal, mailoutbox,
                                          django_capture_on_commit_callbacks):
    from review import notifications

    proposal.status, proposal.status_reason = "needs-review", "the quote was found only near."
    with django_capture_on_commit_callbacks(execute=True):
        notifications.reanchored(proposal)
    [mail] = mailoutbox
    assert "it now needs review: the quote was found only near.\n" in mail.body
    assert "is now needs review" not in mail.body and ".." not in mail.body
