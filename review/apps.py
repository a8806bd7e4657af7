from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"

    def ready(self) -> None:
        # Edition never imports review: it signals a new revision, and review places its open
        # proposals again when that revision has no step map (a re-import, an admin edit).
        from edition.signals import revision_added

        from .reanchoring import on_revision_added

        revision_added.connect(on_revision_added, dispatch_uid="review.reanchoring")
