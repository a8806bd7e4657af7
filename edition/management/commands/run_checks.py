from django.core.management.base import BaseCommand, CommandError

from edition import tasks
from edition.checks import run
from edition.models import Edition


class Command(BaseCommand):
    help = ("Re-run the checks (edition/checks/) on an edition's units, or one document's: a "
            "worker does it. With --now they run here, synchronously.")

    def add_arguments(self, parser):
        parser.add_argument("edition", help="the edition's slug")
        parser.add_argument("--document", action="append", dest="documents", metavar="dNNN",
                            help="only this unit (may be given more than once)")
        parser.add_argument("--now", action="store_true", help="run here instead of a worker")

    def handle(self, *args, edition, documents, now, **options):
        target = Edition.objects.without_tei().filter(slug=edition).first()
        if target is None:
            raise CommandError(f"no edition {edition}")
        if documents:
            missing = sorted(set(documents) - set(target.documents.filter(
                xml_id__in=documents).values_list("xml_id", flat=True)))
            if missing:
                raise CommandError(f"{edition} has no unit {', '.join(missing)}")
        if not now:
            tasks._send(tasks.run_edition_checks, (target.pk, documents), {})
            self.stdout.write(f"{edition}: the checks were queued; a worker will run them "
                              f"(see /{edition}/suggestions/).")
            return
        count = run.run_edition(target, documents)
        self.stdout.write(self.style.SUCCESS(
            f"{edition}: {count} open suggestion{'s' if count != 1 else ''} recorded"))
