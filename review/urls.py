from django.urls import include, path

from edition.urls import DocumentIdConverter  # noqa: F401  (registers docid and num)

from .views import batches, fixes, history, proposal, propose, queue, search, suggestions

app_name = "review"
urlpatterns = [
    # Full-text search: public; members also find pending proposals (review/search.py).
    path("search/", search.search_page, name="search"),
    # Reviewers and editors (signed in).
    path("review/", queue.dashboard, name="dashboard"),
    path("review/queue/", queue.queue, name="queue"),
    path("review/batch-approve/", queue.batch_approve, name="batch_approve"),
    path("review/mine/", queue.my_proposals, name="mine"),
    path("review/proposals/<num:pk>/", proposal.proposal_detail, name="proposal"),
    # One address per action (review/actions/): POST only.
    path("review/proposals/<num:pk>/approve/", proposal.approve, name="approve"),
    path("review/proposals/<num:pk>/reject/", proposal.reject, name="reject"),
    path("review/proposals/<num:pk>/request-changes/", proposal.request_changes,
         name="request_changes"),
    path("review/proposals/<num:pk>/withdraw/", proposal.withdraw, name="withdraw"),
    path("review/proposals/<num:pk>/comment/", proposal.comment, name="comment"),
    path("review/proposals/<num:pk>/retarget/", proposal.proposal_retarget, name="retarget"),
    # Proposing, from the reading view (HTMX) or the form without JavaScript.
    path("<slug:edition>/<docid:doc>/propose/", propose.propose, name="propose"),
    # A suggestion's fix proposed in one click (edition/suggestions.py, review/suggested.py).
    path("<slug:edition>/<docid:doc>/suggestions/<num:pk>/propose/",
         suggestions.propose_suggestion, name="propose_suggestion"),
    # Guided structural fixes: one page per common repair (review/fixes.py).
    path("<slug:edition>/<docid:doc>/fix/<slug:repair>/", fixes.fix, name="fix"),
    # One correction across the edition (review/batches.py): preview and submit, from a
    # phrase or from one check's suggestions; the batch page and "Approve all that apply".
    path("<slug:edition>/batches/new/", batches.batch_new, name="batch_new"),
    path("<slug:edition>/batches/check/<slug:check_name>/", batches.batch_from_check,
         name="batch_from_check"),
    path("<slug:edition>/batches/<num:pk>/", batches.batch_detail, name="batch"),
    path("<slug:edition>/batches/<num:pk>/approve/", batches.batch_approve_all,
         name="batch_approve_all"),
    # History: the history page, diffs, reverts, corrections (public except revert).
    path("<slug:edition>/<docid:doc>/history/", history.document_history, name="history"),
    path("<slug:edition>/<docid:doc>/diff/<num:a>/<num:b>/", history.revision_diff, name="diff"),
    path("<slug:edition>/<docid:doc>/r/<num:number>/revert/", history.revert, name="revert"),
    path("<slug:edition>/<docid:doc>/corrections/", history.document_corrections,
         name="document_corrections"),
    path("<slug:edition>/corrections/", history.edition_corrections, name="edition_corrections"),
    path("api/", include("review.api_urls")),
]
