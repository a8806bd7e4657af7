"""One correction across an edition: a batch of proposals, one per document, one rationale.

An editor finds a phrase (`matches`) or takes the open suggestions of one check
(`suggestion_matches`), unticks the places that should stay, and submits; `resolve` turns the
ticked tokens of the form back into matches, refusing forged ones (`BatchForged`: a document of
another edition, a quote that is not at those offsets) and marking stale ones (the text moved on
since the preview and the selector no longer finds the passage); `create_batch` stores one
proposal per document through the ordinary propose path (`actions.propose.do_propose`: the
role, `check_text`, the limits, the overlap rules and the gate), each in its own transaction.
Reviewers approve the batch (`approve_batch`: `do_approve` per proposal, a conflict or a gate
refusal reported and left as it is) or decide per document on the ordinary proposal pages.

A token names one match as the preview saw it: `document:revision:start:end[:suggestion]`,
offsets in code points on that revision's text layer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from edition.models import Document, Edition, Revision, Suggestion
from edition.params import positive_int
from edition.roles import require_proposer
from edition.search import documents_containing
from edition.tei.selectors import Quote, QuoteError, place_quote, selector

from .actions import ProposalError, check_prose_length, check_text
from .actions.approve import do_approve
from .actions.propose import ChangeSpec, do_propose
from .models import Proposal, ProposalBatch

CONTEXT = 60  # code points of context either side of a match in the preview
MAX_MATCHES = 5000  # a preview longer than this is refused: narrow the phrase
CHUNK = 50  # documents proposed per transaction (create_batch says why)


class BatchForged(Exception):
    """A submitted match the preview cannot have offered: the whole submission is refused."""


@dataclass
class Match:
    """One occurrence to replace, on the document's current revision (`revision`: its number)."""

    document: Document
    revision: int
    start: int
    end: int
    exact: str
    replacement: str
    text: str = field(repr=False)  # the revision's text layer (shared by the document's matches)
    suggestion: int | None = None
    stale: str = ""  # why it can no longer be applied ("" while it can)

    @property
    def token(self) -> str:
        tail = f":{self.suggestion}" if self.suggestion else ""
        return f"{self.document.pk}:{self.revision}:{self.start}:{self.end}{tail}"

    @property
    def quote(self) -> dict[str, str]:
        return selector(self.text, self.start, self.end)

    @property
    def html(self) -> SafeString:
        """The match in its context with the replacement applied: <del> and <ins>."""
        lo = max(self.start - CONTEXT, 0)
        hi = min(self.end + CONTEXT, len(self.text))
        if lo > 0:  # whole words at the edges
            lo = self.text.find(" ", lo, self.start) + 1 or lo
        if hi < len(self.text):
            cut = self.text.rfind(" ", self.end, hi)
            hi = cut if cut != -1 else hi
        before = self.text[lo:self.start].replace("\n\n", " ¶ ")
        after = self.text[self.end:hi].replace("\n\n", " ¶ ")
        deleted = f"<del>{escape(self.exact)}</del>" if self.exact else ""
        inserted = f"<ins>{escape(self.replacement)}</ins>" if self.replacement else ""
        return mark_safe(("… " if lo > 0 else "") + escape(before) + deleted + inserted
                         + escape(after) + (" …" if hi < len(self.text) else ""))


# ------------------------------------------------------------------------------------------
# Finding


def _current_documents(queryset) -> list[Document]:
    return list(queryset.select_related("current_revision").defer(
        "current_revision__tei", "current_revision__change"))


def matches(edition: Edition, find: str, replacement: str) -> list[Match]:
    """Every literal, non-overlapping occurrence of `find` in the current running text of the
    edition's documents, in volume order. Raises ValueError for an empty phrase, a replacement
    equal to it, or more than MAX_MATCHES occurrences."""
    if not find:
        raise ValueError("say what to find")
    if find == replacement:
        raise ValueError("the replacement is the same text: it would change nothing")
    found: list[Match] = []
    # Volume order whatever order the search gives (h1's indexed version ranks its results).
    for document in _current_documents(documents_containing(edition, find).order_by("order")):
        head = document.current_revision
        text = head.text
        at = text.find(find)
        while at != -1:
            found.append(Match(document, head.number, at, at + len(find), find, replacement,
                               text))
            if len(found) > MAX_MATCHES:
                raise ValueError(f"“{find}” occurs more than {MAX_MATCHES:,} times: choose a "
                                 "longer phrase")
            at = text.find(find, at + len(find))
    return found


def open_text_suggestions(edition: Edition, check_name: str):
    """The open suggestions of one check in the edition that fix the running text."""
    return (Suggestion.objects.open()
            .filter(document__edition=edition, check_name=check_name, change="text",
                    note_id=""))


def suggestion_matches(edition: Edition, check_name: str) -> list[Match]:
    """The open text suggestions of check `check_name`, each placed on its document's current
    revision by its quote (`place_quote`); those that no longer apply (the quote is gone or
    ambiguous, the text already reads as suggested) are left out."""
    suggestions = list(open_text_suggestions(edition, check_name)
                       .order_by("document__order", "pk")
                       .only("pk", "document_id", "exact", "prefix", "suffix", "replacement"))
    documents = {d.pk: d for d in _current_documents(
        Document.objects.filter(pk__in={s.document_id for s in suggestions}))}
    found: list[Match] = []
    for suggestion in suggestions:
        document = documents[suggestion.document_id]
        head = document.current_revision
        try:
            start = place_quote(head.text, Quote(suggestion.exact, suggestion.prefix,
                                                 suggestion.suffix))
        except QuoteError:
            continue
        end = start + len(suggestion.exact)
        if suggestion.exact == suggestion.replacement:
            continue
        found.append(Match(document, head.number, start, end, suggestion.exact,
                           suggestion.replacement, head.text, suggestion=suggestion.pk))
    return _without_overlaps(found)


def _without_overlaps(found: list[Match]) -> list[Match]:
    """Two suggestions on the same words would make one proposal refuse itself: keep the
    first of any overlapping pair."""
    kept: list[Match] = []
    for match in sorted(found, key=lambda m: (m.document.order, m.start, m.end)):
        last = kept[-1] if kept else None
        if last and last.document.pk == match.document.pk and match.start < last.end:
            continue
        kept.append(match)
    return kept


# ------------------------------------------------------------------------------------------
# Reading the form back


@dataclass(frozen=True)
class Token:
    document: int
    revision: int
    start: int
    end: int
    suggestion: int | None = None


def parse_token(value: str) -> Token:
    """A token as the preview wrote it; BatchForged for anything else."""
    parts = value.split(":")
    if len(parts) not in (4, 5):
        raise BatchForged(f"“{value[:40]}” is not a match of the preview")
    numbers = [positive_int(p) if p != "0" else 0 for p in parts]
    if any(n is None for n in numbers):
        raise BatchForged(f"“{value[:40]}” is not a match of the preview")
    document, revision, start, end, *rest = numbers
    if start > end:
        raise BatchForged(f"“{value[:40]}” is not a match of the preview")
    return Token(document, revision, start, end, rest[0] if rest else None)


def resolve(edition: Edition, values: list[str], *, find: str = "", replacement: str = "",
            check_name: str = "") -> list[Match]:
    """The matches the ticked `values` name, on each document's current revision.

    Raises BatchForged when a value names a document outside `edition`, a revision the
    document never had, a suggestion that is not an open text suggestion of `check_name` on
    that document, or offsets where the revision's text is not the quote. A match whose
    document has a newer revision is placed again by its selector (exact with its prefix and
    suffix, as the preview saw them): found once, it moves there; otherwise it comes back with
    `stale` saying why, and is not proposed.
    """
    tokens = [parse_token(v) for v in dict.fromkeys(values)]
    documents = {d.pk: d for d in _current_documents(
        Document.objects.filter(edition=edition, pk__in={t.document for t in tokens}))}
    if missing := {t.document for t in tokens} - documents.keys():
        raise BatchForged(f"document {min(missing)} is not in this edition")
    suggestions = {}
    if check_name:
        suggestions = {s.pk: s for s in open_text_suggestions(edition, check_name).filter(
            pk__in={t.suggestion for t in tokens if t.suggestion})}
    # The texts the preview saw, for the matches whose document has moved on since.
    seen = {(t.document, t.revision) for t in tokens
            if t.revision != documents[t.document].current_revision.number}
    old_texts = {}
    if seen:
        for r in Revision.objects.filter(document_id__in={d for d, _ in seen},
                                         number__in={n for _, n in seen}).only(
                "document_id", "number", "text"):
            if (r.document_id, r.number) in seen:
                old_texts[r.document_id, r.number] = r.text
    found = []
    for token in tokens:
        document = documents[token.document]
        head = document.current_revision
        if check_name:
            suggestion = suggestions.get(token.suggestion)
            if suggestion is None or suggestion.document_id != document.pk:
                raise BatchForged(f"suggestion {token.suggestion} is not an open suggestion of "
                                  f"“{check_name}” in {document.label}")
            exact, new = suggestion.exact, suggestion.replacement
        else:
            exact, new = find, replacement
        if token.revision == head.number:
            text = head.text
        elif (document.pk, token.revision) in old_texts:
            text = old_texts[document.pk, token.revision]
        else:
            raise BatchForged(f"{document.label} has no revision {token.revision}")
        if text[token.start:token.end] != exact or token.end - token.start != len(exact):
            raise BatchForged(f"“{exact[:40]}” is not at {token.start}–{token.end} of "
                              f"{document.label}, revision {token.revision}")
        match = Match(document, head.number, token.start, token.end, exact, new, head.text,
                      suggestion=token.suggestion)
        if token.revision != head.number:
            match = _moved(match, selector(text, token.start, token.end), token.revision)
        found.append(match)
    return found


def _moved(match: Match, quote: dict[str, str], seen: int) -> Match:
    """`match` (seen on revision `seen`) placed on the current text by its whole selector."""
    whole = quote["prefix"] + quote["exact"] + quote["suffix"]
    text = match.text
    first = text.find(whole)
    if first == -1 or text.find(whole, first + 1) != -1:
        match.stale = (f"{match.document.label} changed since the preview (revision {seen}, now "
                       f"{match.revision}) and “{quote['exact'][:40]}” is no longer where it "
                       "was: preview again")
        return match
    match.start = first + len(quote["prefix"])
    match.end = match.start + len(quote["exact"])
    return match


# ------------------------------------------------------------------------------------------
# Proposing


@dataclass
class Created:
    batch: ProposalBatch | None
    proposals: list[Proposal] = field(default_factory=list)
    refused: list[tuple[Document, str]] = field(default_factory=list)


def create_batch(user, edition: Edition, rationale: str, chosen: list[Match], *,
                 find: str = "", replacement: str = "", check_name: str = "") -> Created:
    """One proposal per document of `chosen` (one change per match), all in one batch with
    one rationale.

    Each document's proposal is made by `do_propose` (its lock, role check, limits, overlap
    rules and gate) in a savepoint of its own, inside one transaction per CHUNK documents: a
    document refused (stale, the gate, the limits, overlapping changes) rolls back alone and
    is reported in `refused`, and the others are still proposed. Not one transaction for the
    whole batch: it would hold up to 500 document locks for the whole run and stall every
    approval in the edition; not one per document either: each commit is a WAL flush on
    PostgreSQL, a fifth of the time of a small proposal. A chunk holds its documents' locks
    for well under a second, taken in volume order like every other batch's, so two batches
    cannot deadlock. The batch row is committed first; when no document could be proposed it
    is deleted again, so no empty batch is left.

    Raises PermissionDenied (Http404 for outsiders) and ProposalError for a missing rationale
    or one with a NUL or too long: those refuse the whole batch before anything is stored.
    """
    require_proposer(user, edition)
    rationale = rationale.strip()
    if not rationale:
        raise ProposalError("a rationale is required: say why the text should change")
    check_text("rationale", rationale)
    check_prose_length(rationale, "rationale")
    check_text("phrase", find)
    check_text("replacement", replacement)
    if not chosen:
        raise ProposalError("no match is ticked: tick the places to change")
    result = Created(ProposalBatch.objects.create(
        edition=edition, author=user, rationale=rationale, find=find, replacement=replacement,
        check_name=check_name))
    ordered = sorted(chosen, key=lambda m: (m.document.order, m.start))
    groups = [list(g) for _pk, g in groupby(ordered, key=lambda m: m.document.pk)]
    for first in range(0, len(groups), CHUNK):
        with transaction.atomic():
            for group in groups[first:first + CHUNK]:
                _propose_one(user, rationale, group, result)
    if not result.proposals:
        result.batch.delete()
        result.batch = None
    return result


def _propose_one(user, rationale: str, group: list[Match], result: Created) -> None:
    """One document's proposal (its matches as changes), or why not, into `result`. Inside
    the chunk's transaction: `do_propose`'s own atomic block is a savepoint, so a refusal
    undoes this document only."""
    document = group[0].document
    stale = [m.stale for m in group if m.stale]
    if stale:
        result.refused.append((document, stale[0]))
        return
    specs = [ChangeSpec("text", m.start, m.end, m.replacement, exact=m.exact) for m in group]
    try:
        proposal = do_propose(document, author=user, base_revision=group[0].revision,
                              changes=specs, rationale=rationale, batch=result.batch)
    except ProposalError as exc:
        result.refused.append((document, exc.message))
    except PermissionDenied as exc:
        result.refused.append((document, str(exc)))
    else:
        if len(group) == 1 and group[0].suggestion:
            # One suggestion's fix: its evidence (an OCR one's page and words) goes with it.
            proposal.suggestion_id = group[0].suggestion
            proposal.save(update_fields=["suggestion"])
        result.proposals.append(proposal)


# ------------------------------------------------------------------------------------------
# Reviewing


@dataclass
class Progress:
    approved: int = 0
    rejected: int = 0
    pending: int = 0
    conflicted: int = 0
    withdrawn: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.rejected + self.pending + self.conflicted + self.withdrawn


def progress(batch: ProposalBatch) -> Progress:
    """The batch's proposals by outcome: pending (open: pending or changes requested),
    conflicted (stuck: waiting for the author to re-target), approved, rejected, withdrawn."""
    counts = Counter(dict(batch.proposals.order_by().values_list("status")
                          .annotate(n=Count("id"))))
    S = Proposal.Status
    return Progress(
        approved=counts[S.APPROVED], rejected=counts[S.REJECTED], withdrawn=counts[S.WITHDRAWN],
        pending=sum(counts[s] for s in Proposal.OPEN),
        conflicted=sum(counts[s] for s in Proposal.STUCK))


@dataclass
class Outcome:
    proposal: Proposal
    message: str
    failed: bool


def approve_batch(user, batch: ProposalBatch) -> list[Outcome]:
    """Approve every pending proposal of the batch, in volume order, each through
    `do_approve` in its own transaction (applied and rebased as usual once the edition's
    approvals are reached). One that conflicts, that the gate refuses, or that `user` may not
    approve (their own) is reported and left as it is; the others go on. Proposals that wait
    for their author (conflicted by an earlier approval, changes requested) are reported too,
    with the reason `do_approve` gives, so the report accounts for every undecided document."""
    outcomes = []
    pending = (batch.proposals.filter(status__in=Proposal.OPEN + Proposal.STUCK)
               .select_related("document").order_by("document__order", "pk"))
    for proposal in pending:
        try:
            revision = do_approve(proposal, by=user)
        except (ProposalError, PermissionDenied) as exc:
            outcomes.append(Outcome(proposal, getattr(exc, "message", None) or str(exc), True))
            continue
        outcomes.append(Outcome(proposal, f"applied as revision {revision.number}" if revision
                                else "approval recorded; more approvals are needed", False))
    return outcomes


def describe(batch: ProposalBatch, documents: int) -> str:
    """“Replace ‘139142’ with ‘139–142’ in 12 documents”."""
    where = f"in {documents} document{'s' if documents != 1 else ''}"
    if batch.check_name:
        return f"Fix {batch.check_name} suggestions {where}"
    return f"Replace “{batch.find}” with “{batch.replacement}” {where}"


__all__ = ["BatchForged", "Match", "Created", "Progress", "Outcome", "matches",
           "suggestion_matches", "resolve", "create_batch", "progress", "approve_batch",
           "describe"]
