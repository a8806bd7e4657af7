from django.apps import AppConfig
from django.core import checks


class EditionConfig(AppConfig):
    name = "edition"
    verbose_name = "Editions"

    def ready(self) -> None:
        from . import roles  # noqa: F401  (its receivers drop a person's cached roles)
        from .gate import schema_installed

        checks.register(schema_installed)
