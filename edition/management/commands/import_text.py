from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from edition.imports import import_text
from edition.models import Edition
from edition.tei.parsing import TEIError


class Command(BaseCommand):
    help = (
        "Import a plain-text rendering of one FRUS document (heading, SUBJECT/PARTICIPANTS, "
        "paragraphs, [Page N] markers, footnote list) into an edition as TEI."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--edition", required=True, help="slug of an existing edition")
        parser.add_argument("--number", type=int, help="document number, if the heading lacks it")
        parser.add_argument("--encoding", default="utf-8", help="the file's encoding (utf-8)")

    def handle(self, *args, file, edition, number, encoding, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            target = Edition.objects.get(slug=edition)
        except Edition.DoesNotExist:
            raise CommandError(f"no edition {edition}; import its TEI first") from None
        try:
            document, report = import_text(file, edition=target, number=number, encoding=encoding)
        except TEIError as exc:
            raise CommandError(f"{file}: {exc}\nNothing was imported.") from exc
        for line in report:
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS(
            f"{edition}: imported {document.xml_id} ({document.title})"
        ))
