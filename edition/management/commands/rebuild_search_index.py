from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from edition import search
from edition.models import Edition


class Command(BaseCommand):
    help = ("Index the current text of every unit of an edition (or of every edition) for "
            "search again, in one transaction. Approvals and imports keep the index by "
            "themselves; this is for a database restored or loaded by other means.")

    def add_arguments(self, parser):
        parser.add_argument("edition", nargs="?", help="the edition's slug (default: all)")

    def handle(self, *args, edition=None, **options):
        editions = Edition.objects.all()
        if edition:
            editions = editions.filter(slug=edition)
            if not editions.exists():
                raise CommandError(f"no edition {edition}")
        with transaction.atomic():
            written = search.rebuild(editions)
        self.stdout.write(self.style.SUCCESS(
            f"{edition or 'every edition'}: {written} passages indexed"))
