from django.core.management.base import BaseCommand, CommandError

from edition.imports import split_units
from edition.models import Edition
from edition.tei.parsing import TEIError


class Command(BaseCommand):
    help = (
        "Make the front matter, chapters and appendices of editions imported before whole "
        "volumes into pages of their own, from the current approved text. Documents keep "
        "their history and gain no revision. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("editions", nargs="+", help="edition ids (volume ids)")

    def handle(self, *args, editions, **options):
        for slug in editions:
            edition = Edition.objects.filter(slug__iexact=slug).first()
            if edition is None:
                raise CommandError(f"no edition {slug}")
            try:
                result = split_units(edition)
            except TEIError as exc:
                raise CommandError(f"{edition.slug}: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(
                f"{edition.slug}: {len(result.created)} new page(s)"
                + (f": {', '.join(result.created)}" if result.created else "")))
