"""One module per decision about a proposal: propose, approve, decide, comment, retarget, revert.

Each verb has a `check_*` that holds its access rule — the only place it lives — and raises
`PermissionDenied` (a role too small: 403) or `ProposalError` (the proposal's state forbids it:
409); a `do_*` that owns its transaction, takes its locks in the order its docstring states,
and runs the same `check_*` again under them. Views, the API, the queue, batch approval and the
templates' "may I show this button" (`refusal`) all ask the same `check_*`. Outsiders never
reach a check: the lookups (`review.access`, `edition.roles`) answer them 404.

Locks are always taken document row first, then proposal row, so decisions on one document
serialise (Document FOR NO KEY UPDATE OF the document only: an export build holds the edition
row while it commits rows referencing documents; locking more deadlocks the two).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied

from edition.models import Document

from ..models import Proposal


class ProposalError(Exception):
    """A proposal or decision that cannot be taken; `code` names the kind for API clients
    (docs/API.md): invalid, reason, quote, offsets, unapplicable, note, overlap, metadata,
    markup, stale, conflicted, closed, duplicate, too_many, too_large, too_deep, the gate's
    (edition/gate.py: invalid-tei, unrenderable, no-schema; refused at approval), or the
    proposal's status."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message, self.code = message, code


def check_text(what: str, value: str | None) -> None:
    """Refuse a NUL in text to be stored: PostgreSQL cannot hold one (issue 13)."""
    if value and "\x00" in value:
        raise ProposalError(f"the {what} contains a NUL character", code="invalid")


def refusal(check: Callable[..., None], *args, **kwargs) -> str:
    """Why `check(*args)` refuses, or "" when it allows: for showing or hiding a button."""
    try:
        check(*args, **kwargs)
    except PermissionDenied as exc:
        return str(exc)
    except ProposalError as exc:
        return exc.message
    return ""


def lock(proposal: Proposal, *, applying: bool = False) -> tuple[Document, Proposal]:
    """Lock the proposal's document, then the proposal; return both, fresh. Call inside a
    transaction. The document comes with its edition (neither locked). `applying`: also with
    its current revision, the edition's header (the gate's TEI export frames the unit in it)
    and the proposal's author (not locked), read in the same two statements, as applying the
    proposal needs them all."""
    documents = Document.objects.select_for_update(of=("self",), no_key=True)
    proposals = Proposal.objects.select_for_update(of=("self",))
    if applying:
        documents = (documents.select_related("edition", "current_revision")
                     .defer("edition__tei_skeleton"))
        proposals = proposals.select_related("author")
    else:
        documents = (documents.select_related("edition")
                     .defer("edition__tei_skeleton", "edition__tei_header"))
    document = documents.get(pk=proposal.document_id)
    if applying:
        document.settle_current_revision()  # an approval that committed while we waited
    proposal = proposals.get(pk=proposal.pk)
    proposal.document = document
    return document, proposal


def closed_error(proposal: Proposal, *, with_reason: bool = False) -> ProposalError:
    """The error for acting on a proposal that is no longer open to it; `with_reason` adds
    why it is in that state (a conflict's reason, for an approval that cannot happen)."""
    reason = f": {proposal.status_reason}" if with_reason and proposal.status_reason else ""
    return ProposalError(f"this proposal is {proposal.get_status_display().lower()}{reason}",
                         code=proposal.status)


def check_prose_length(text: str, what: str) -> None:
    """Refuse a rationale, reason or comment longer than EMEND_MAX_RATIONALE_CHARS (code
    "too_large")."""
    limit = settings.EMEND_MAX_RATIONALE_CHARS
    if len(text.strip()) > limit:
        raise ProposalError(f"the {what} is {len(text.strip()):,} characters long, over the "
                            f"limit of {limit:,}: shorten it", code="too_large")


def full_stop(text: str) -> str:
    """`text` ending in one full stop (never ".."), unless it ends in other punctuation."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else text + "."


def sentence(text: str) -> str:
    """A message as a sentence: capital first, one full stop at the end."""
    text = full_stop(text)
    return text[:1].upper() + text[1:]
