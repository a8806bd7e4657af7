from django.apps import AppConfig
from django.core import checks


class EditionConfig(AppConfig):
    name = "edition"
    verbose_name = "Editions"

    def ready(self) -> None:
        from . import auth, roles  # noqa: F401  (its receivers drop a person's cached roles)
        from .gate import schema_installed
        from .ocr.record import realign_on_revision
        from .signals import revision_added

        auth.connect()  # a person's cached row dropped when it is saved or deleted
        # A proposer's cached parts (edition/ownparts.py): dropped by suggestions and editions.
        from django.db.models.signals import post_delete, post_save

        from . import ownparts
        from .models import Edition, Suggestion

        for signal in (post_save, post_delete):
            signal.connect(ownparts.forget_document_of, sender=Suggestion,
                           dispatch_uid=f"edition.ownparts.suggestion.{signal is post_save}")
        post_save.connect(ownparts.forget_edition, sender=Edition,
                          dispatch_uid="edition.ownparts.edition")
        checks.register(schema_installed)
        # A unit's new text is aligned again with the pages already read (never re-read).
        revision_added.connect(realign_on_revision, dispatch_uid="edition.ocr.realign")
