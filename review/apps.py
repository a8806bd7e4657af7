from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"

    def ready(self) -> None:
        # Edition never imports review: it signals a new revision, and review places its open
        # proposals again when that revision has no step map (a re-import, an admin edit).
        from edition.signals import proposer_page_state, revision_added

        from .pending import page_state
        from .reanchoring import on_revision_added

        revision_added.connect(on_revision_added, dispatch_uid="review.reanchoring")
        # The open proposals marked in a proposer's reading view are part of its ETag.
        proposer_page_state.connect(page_state, dispatch_uid="review.pending")
