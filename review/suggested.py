"""A suggestion (edition/suggestions.py) made into a proposal in one click: its fix, as the
prefilled form would submit it, through `do_propose` (and so the gate), with a rationale that
names the check and says why."""

from __future__ import annotations

from django.db import transaction

from edition.models import Suggestion
from edition.suggestions import Offer

from .actions import ProposalError, full_stop
from .actions.propose import ChangeSpec, do_propose
from .models import Proposal

# Fixes one click may propose: text and footnote edits. The import's structural fixes carry
# placeholders ("[Place], [Month Day, Year]") that a person fills in on the form first.
ONE_CLICK = ("text", "note-edit")


def can_one_click(offer: Offer) -> bool:
    return bool(offer.propose_url) and offer.suggestion.change in ONE_CLICK


def rationale(suggestion: Suggestion) -> str:
    """“Suggested by the check ‘Range without its dash’: … (what the check looks for)”; an
    OCR suggestion names its evidence: the page, what the image reads, the confidence."""
    if suggestion.kind == Suggestion.Kind.OCR:
        confidence = (f" (OCR confidence {suggestion.confidence:.0f}%)"
                      if suggestion.confidence is not None else "")
        return (f"Suggested by the OCR cross-check of the page image{confidence}: "
                f"{full_stop(suggestion.explanation)}")
    about = suggestion.check_explanation
    return (f"Suggested by the check “{suggestion.check_label}”: "
            f"{full_stop(suggestion.explanation)}" + (f" {full_stop(about)}" if about else ""))


def changes_of(offer: Offer) -> list[ChangeSpec]:
    fields = offer.fields
    if offer.suggestion.change == "note-edit":
        return [ChangeSpec("note-edit", 0, 0, fields["note_edit_body"],
                           note_id=fields["note_id"])]
    return [ChangeSpec("text", fields["start"], fields["end"], fields["replacement"],
                       exact=fields["exact"])]


def do_propose_suggestion(offer: Offer, *, author) -> Proposal:
    """Propose the offer's fix on the revision it was placed on and mark the suggestions it
    repairs (several, for one footnote's) as proposed, in one transaction. Raises
    ProposalError (the fix no longer applies, or the gate refuses the result) or
    PermissionDenied / Http404 as `do_propose` does."""
    if not can_one_click(offer):
        raise ProposalError("this suggestion has no fix to propose in one click: use the "
                            "proposing form", code="invalid")
    suggestion = offer.suggestion
    with transaction.atomic():
        proposal = do_propose(suggestion.document, author=author,
                              base_revision=offer.fields["rev"], changes=changes_of(offer),
                              rationale=rationale(suggestion))
        # The suggestion's evidence (an OCR one's page, words and region) goes with it.
        proposal.suggestion = suggestion
        proposal.save(update_fields=["suggestion"])
        for repaired in Suggestion.objects.filter(pk__in=offer.fixes).open():
            repaired.mark_proposed(by=author)
    return proposal
