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
        # ...and of the proposer's parts cached with it (edition/ownparts.py): every proposal
        # and change saved or deleted one by one drops them. Changes made in bulk are made
        # with their proposal's save (propose, retarget) or a new revision (rebase,
        # re-anchoring), which drop them too.
        from django.db.models.signals import post_delete, post_save

        from edition.ownparts import forget_document_of

        from .models import Change, Proposal

        for signal in (post_save, post_delete):
            signal.connect(forget_document_of, sender=Proposal,
                           dispatch_uid=f"review.ownparts.proposal.{signal is post_save}")
            signal.connect(_forget_change, sender=Change,
                           dispatch_uid=f"review.ownparts.change.{signal is post_save}")
        # The bar names each open proposal's author.
        from django.contrib.auth import get_user_model

        post_save.connect(_forget_author, sender=get_user_model(),
                          dispatch_uid="review.ownparts.author")


def _forget_change(sender, instance, **kwargs) -> None:
    from edition.ownparts import forget

    from .models import Proposal

    document_id = Proposal.objects.filter(pk=instance.proposal_id).values_list(
        "document_id", flat=True).first()
    if document_id is not None:
        forget([document_id])


def _forget_author(sender, instance, update_fields=None, **kwargs) -> None:
    # A sign-in saves `last_login` alone: nothing the bar shows.
    if update_fields is not None and "username" not in update_fields:
        return
    from edition.ownparts import forget

    from .models import Proposal

    forget(Proposal.objects.open().filter(author=instance).values_list("document_id", flat=True))
