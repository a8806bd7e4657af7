"""Signals the edition sends for the apps built on it (edition never imports them).

`revision_added` is sent by `Document.add_revision`, inside the caller's transaction, with
`document`, `revision` and `change` (its `RevisionChange`). Receivers that write must write in
that transaction: a revision without a step map (a re-import, an edit outside review) leaves
the review app's open proposals pointing at the old text until its receiver places them again.
"""

from django.dispatch import Signal

revision_added = Signal()

# Sent by the reading view for a member who may propose, with `document` and `user`. Each
# receiver returns a string that changes whenever what it adds to that page changes (review's
# open proposals, marked in the text): it goes into the page's ETag, so a browser revalidating
# the page never keeps marks that are out of date.
proposer_page_state = Signal()
