"""The review queue, batch approval, the dashboard and "my proposals".

The queue pages by keyset ("seek") on (created_at, id), oldest first: the cost of a page does
not depend on how deep it is, and every page takes the same handful of queries (the rows with
their document, edition and author joined; revisions, changes and approval events prefetched;
one grouped count), however many proposals wait.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import trigger_client_event

from edition.models import Edition, Revision
from edition.params import positive_int
from edition.roles import member_editions, reviewed_editions

from ..actions import ProposalError, refusal
from ..actions.approve import check_approve, do_approve
from ..actions.decide import check_decide
from ..forms import ANY_STATUS, ProposalFilterForm
from ..models import Event, Proposal, ProposalQuerySet, approvers_since_submission
from ..presentation import RowDiff, row_diff

PAGE_SIZE = 25
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUEUE_TEMPLATE = "review/queue.html"


# ------------------------------------------------------------------------------------------
# Rows and keyset pages


@dataclass
class Row:
    proposal: Proposal
    diffs: list[RowDiff]
    approvers: set[int]
    required: int
    viewer: object  # the user looking at the queue
    outcome: str = ""
    failed: bool = False

    @property
    def approvals(self) -> int:
        return len(self.approvers)

    @property
    def own(self) -> bool:
        return self.proposal.author_id == self.viewer.pk

    @property
    def approved_by_viewer(self) -> bool:
        return self.viewer.pk in self.approvers

    # What the row offers, by the actions' own checks (which run again on the POST); a row
    # just decided offers nothing more.
    @property
    def settled(self) -> bool:
        return bool(self.outcome) and not self.failed

    @property
    def can_approve(self) -> bool:
        return not self.settled and not refusal(check_approve, self.viewer, self.proposal,
                                                approvers=self.approvers)

    @property
    def can_reject(self) -> bool:
        return not self.settled and not refusal(check_decide, self.viewer, self.proposal)


def with_row_data(queryset):
    """Everything a row shows, in a constant number of queries whatever the page size."""
    return queryset.select_related("document__edition", "author").defer(
        # The volume's skeleton and header are large and no row needs them.
        "document__edition__tei_skeleton", "document__edition__tei_header",
    ).prefetch_related(
        "changes",
        Prefetch("events", queryset=Event.objects.filter(kind__in=Event.COUNTED)
                 .only("id", "kind", "actor_id", "proposal_id", "created_at"),
                 to_attr="counted_events"),
    )


def make_rows(proposals, viewer) -> list[Row]:
    # Open proposals are anchored on their document's current revision, closed ones on
    # `revision`: load each text the page needs once, in one query.
    proposals = list(proposals)
    anchor_ids = {p.pk: p.document.current_revision_id if p.is_open else p.revision_id
                  for p in proposals}
    texts = dict(Revision.objects.filter(pk__in=set(anchor_ids.values()))
                 .values_list("pk", "text"))
    rows = []
    for p in proposals:
        text = texts[anchor_ids[p.pk]]
        rows.append(Row(
            proposal=p,
            diffs=[row_diff(c, text) for c in p.changes.all()],
            approvers=approvers_since_submission(p.counted_events),
            required=p.document.edition.required_approvals,
            viewer=viewer,
        ))
    return rows


MAX_PK = 2**63 - 1  # bigint
MAX_MICROS = (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


def encode_cursor(proposal: Proposal) -> str:
    micros = (proposal.created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{proposal.pk}"


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    micros, _, pk = value.partition("-")
    micros, pk = positive_int(micros, maximum=MAX_MICROS), positive_int(pk, maximum=MAX_PK)
    if micros is None or pk is None:
        return None
    return EPOCH + timedelta(microseconds=micros), pk


@dataclass
class Page:
    items: list = field(default_factory=list)
    next_cursor: str = ""
    previous_cursor: str = ""
    first: bool = True


def seek(queryset, *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of `queryset` in (created_at, id) order, after or before a cursor."""
    if before and (cursor := decode_cursor(before)):
        at, pk = cursor
        items = list(queryset.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
                     .order_by("-created_at", "-pk")[: size + 1])
        more_before = len(items) > size
        items = items[:size][::-1]
        return Page(items, encode_cursor(items[-1]) if items else after,
                    encode_cursor(items[0]) if more_before and items else "", not more_before)
    cursor = decode_cursor(after) if after else None
    if cursor:
        at, pk = cursor
        queryset = queryset.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk))
    items = list(queryset.order_by("created_at", "pk")[: size + 1])
    more = len(items) > size
    items = items[:size]
    return Page(items, encode_cursor(items[-1]) if more else "",
                encode_cursor(items[0]) if cursor and items else "", cursor is None)


def _without_cursor(request: HttpRequest, **changes):
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    for key, value in changes.items():
        query[key] = value
    return query


def _status_counts(request: HttpRequest, queryset, *, batches_apart: bool = False) -> dict:
    """Proposals per status under the other filters, each with the link that selects it.
    With `batches_apart`, pending proposals of a batch are left out of the pending count (the
    queue shows a batch as one item while it waits; decided or conflicted, each is a row like
    any other) and `batched_pending` says whether any of them waits: the same one query, so the
    queue runs the batches' query only when there is a batch to show."""
    counted: dict[str, int] = {}
    batched_pending = 0
    if batches_apart:
        in_batch = ExpressionWrapper(Q(batch__isnull=False), output_field=BooleanField())
        for status, batched, n in (queryset.order_by().annotate(in_batch=in_batch)
                                   .values_list("status", "in_batch").annotate(n=Count("id"))):
            if batched and status == Proposal.Status.PENDING:
                batched_pending += n
            else:
                counted[status] = counted.get(status, 0) + n
    else:
        counted = dict(queryset.order_by().values_list("status").annotate(n=Count("id")))
    counts = [{"value": value, "label": label, "n": counted.get(value, 0),
               "url": "?" + _without_cursor(request, status=value).urlencode()}
              for value, label in Proposal.Status.choices]
    return {"counts": counts, "total": sum(counted.values()), "batched_pending": batched_pending,
            "all_url": "?" + _without_cursor(request, status=ANY_STATUS).urlencode()}


def back_to(request: HttpRequest, default: str) -> str:
    """The page a no-JavaScript post came from (`next`), if it is ours; else `default`."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return default


def _reviewed(user) -> list[Edition]:
    editions = list(reviewed_editions(user).defer("tei_skeleton", "tei_header"))
    if not editions:
        raise PermissionDenied("The review queue is for reviewers and edition admins.")
    return editions


# ------------------------------------------------------------------------------------------
# Views


@require_safe
@never_cache  # Back must not show a decision as still open
def queue(request: HttpRequest) -> HttpResponse:
    editions = _reviewed(request.user)  # 403 for editors and strangers
    form = ProposalFilterForm(request.GET, editions=editions,
                              default_status=Proposal.Status.PENDING)
    # A waiting batch (review/batches.py) is one item above the table, not one row per
    # document: its pending proposals are decided on the batch page. Once one is decided, or
    # conflicts, it is listed under its status like any other proposal.
    base = form.filter(Proposal.objects.filter(document__edition__in=[e.pk for e in editions]))
    listed = form.filter_status(base)
    if form.chosen_status == Proposal.Status.PENDING:
        listed = listed.filter(batch__isnull=True)
    page = seek(with_row_data(listed),
                after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    counts = _status_counts(request, base, batches_apart=True)
    chosen = form.value("edition")
    context = {
        "batches": pending_batches([e.pk for e in editions if not chosen or e.slug == chosen])
        if counts["batched_pending"] else [],
        "form": form, "status": form.chosen_status, "page": page,
        "query": _without_cursor(request).urlencode(),
        "rows": make_rows(page.items, request.user), "any_status": ANY_STATUS,
        **counts,
    }
    template = QUEUE_TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template += "#queue-results"
    return TemplateResponse(request, template, context)



@require_POST
def batch_approve(request: HttpRequest) -> HttpResponse:
    """Approve the ticked proposals one by one, each in its own transaction; an error (a
    conflict created by an earlier approval of the batch, say) is reported and the rest go on."""
    editions = _reviewed(request.user)
    ids = {positive_int(v, maximum=MAX_PK) for v in request.POST.getlist("proposal")}
    if None in ids:  # a forged form ("²", a NUL, past bigint): nothing is approved
        return HttpResponseBadRequest("Not a proposal number")
    found = {p.pk: p for p in Proposal.objects.filter(
        pk__in=ids, document__edition__in=[e.pk for e in editions]).select_related("document")}
    report = []  # (pk, "#3 on Document 142", outcome, failed)
    for pk in sorted(ids, key=lambda i: (found[i].created_at, i) if i in found else (EPOCH, i)):
        proposal = found.get(pk)
        if proposal is None:
            report.append((pk, f"#{pk}", "not found among the proposals you review", True))
            continue
        name = f"#{pk} on {proposal.document.label}"
        try:
            revision = do_approve(proposal, by=request.user)
        except (ProposalError, PermissionDenied) as exc:
            report.append((pk, name, getattr(exc, "message", None) or str(exc), True))
            continue
        report.append((pk, name, f"applied as revision {revision.number}" if revision
                       else "approval recorded; more approvals are needed", False))
    if not request.htmx:
        if not report:
            messages.warning(request, "No proposals were selected.")
        for _pk, name, text, failed in report:
            (messages.error if failed else messages.success)(request, f"{name}: {text}")
        return redirect(back_to(request, reverse("review:queue")))
    response = TemplateResponse(request, QUEUE_TEMPLATE + "#batch-report", {"report": report})
    trigger_client_event(response, "proposalsApproved", {"ids": sorted(ids)})
    return response


def pending_batches(edition_ids: list[int]) -> list:
    """Batches with proposals waiting for a decision in these editions: each one item of the
    queue, with how many documents it has and how many wait (one query)."""
    from ..batches import describe
    from ..models import ProposalBatch

    waiting = Proposal.objects.filter(batch=OuterRef("pk"), status=Proposal.Status.PENDING)
    found = list(ProposalBatch.objects.filter(Exists(waiting), edition__in=edition_ids)
                 .select_related("author", "edition")
                 .defer("edition__tei_skeleton", "edition__tei_header")
                 .annotate(n_pending=Count("proposals", filter=Q(
                     proposals__status=Proposal.Status.PENDING)),
                     n_documents=Count("proposals"))
                 .order_by("created_at", "pk"))
    for batch in found:
        batch.title = describe(batch, batch.n_documents)
    return found


def waiting_for(user, editions) -> ProposalQuerySet:
    """Pending proposals of `editions` the user did not write and has not approved since
    their last (re)submission."""
    last_submission = Event.objects.filter(
        proposal=OuterRef("pk"),
        kind__in=[Event.Kind.CREATED, Event.Kind.RESUBMITTED, Event.Kind.CHANGES_REQUESTED],
    ).order_by("-id").values("id")[:1]
    approved = Event.objects.filter(proposal=OuterRef("pk"), actor=user,
                                    kind=Event.Kind.APPROVED, id__gt=OuterRef("submitted"))
    return (Proposal.objects.pending().filter(document__edition__in=editions)
            .exclude(author=user).annotate(submitted=Subquery(last_submission))
            .exclude(Exists(approved)))


@require_safe
@never_cache  # Back must not show a decision as still open
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    editions = list(reviewed_editions(user).values_list("pk", flat=True))
    waiting, waiting_by_edition, batches = [], [], []
    if editions:
        pending = waiting_for(user, editions)
        waiting_by_edition = list(pending.order_by().values(
            "document__edition__slug", "document__edition__title").annotate(n=Count("id"))
            .order_by("document__edition__slug"))
        # A batch waiting is one item (as in the queue), not a row per document.
        waiting = make_rows(with_row_data(pending.filter(batch__isnull=True))
                            .order_by("created_at", "pk")[:10], user)
        batches = [b for b in pending_batches(editions) if b.author_id != user.pk]
    mine = Proposal.objects.filter(author=user)
    # Conflicted and other stuck proposals first: they wait for the author, not a reviewer.
    urgency = Case(When(status__in=Proposal.STUCK, then=Value(0)),
                   When(status=Proposal.Status.CHANGES_REQUESTED, then=Value(1)),
                   When(status=Proposal.Status.PENDING, then=Value(2)),
                   default=Value(3), output_field=IntegerField())
    recent = list(mine.select_related("document__edition").defer(
        "document__edition__tei_skeleton", "document__edition__tei_header")
        .annotate(urgency=urgency).order_by("urgency", "-updated_at", "-pk")[:20])
    context = {
        "is_reviewer": bool(editions),
        "waiting": waiting,
        "batches": batches,
        "waiting_total": sum(e["n"] for e in waiting_by_edition),
        "waiting_by_edition": waiting_by_edition,
        "mine": recent,
        # The working pages of each edition the user belongs to (suggestions, page images).
        "member_of": list(member_editions(user).only("slug", "title").order_by("slug")),
        **_status_counts(request, mine),
    }
    return TemplateResponse(request, "review/dashboard.html", context)


@require_safe
@never_cache  # Back must not show a decision as still open
def my_proposals(request: HttpRequest) -> HttpResponse:
    editions = list(member_editions(request.user).defer("tei_skeleton", "tei_header"))
    form = ProposalFilterForm(request.GET, editions=editions, default_status=ANY_STATUS,
                              with_author=False)
    base = form.filter(Proposal.objects.filter(author=request.user))
    page = seek(with_row_data(form.filter_status(base)),
                after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    context = {"form": form, "status": form.chosen_status, "page": page,
               "query": _without_cursor(request).urlencode(),
               "rows": make_rows(page.items, request.user), "any_status": ANY_STATUS,
               **_status_counts(request, base)}
    return TemplateResponse(request, "review/mine.html", context)
