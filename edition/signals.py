"""Signals the edition sends for the apps built on it (edition never imports them).

`revision_added` is sent by `Document.add_revision`, inside the caller's transaction, with
`document`, `revision` and `change` (its `RevisionChange`). Receivers that write must write in
that transaction: a revision without a step map (a re-import, an edit outside review) leaves
the review app's open proposals pointing at the old text until its receiver places them again.
"""

from django.dispatch import Signal

revision_added = Signal()
