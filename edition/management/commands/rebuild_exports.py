from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from edition.exporting import builds
from edition.models import Edition, ExportFragment


class Command(BaseCommand):
    help = ("Ask for a full rebuild of an edition's exports (every file written again, from "
            "the stored pieces; with --rerender every piece rendered again too): a worker "
            "does it. With --now it is built here, synchronously.")

    def add_arguments(self, parser):
        parser.add_argument("edition", help="the edition's slug")
        parser.add_argument("--now", action="store_true", help="build here instead of a worker")
        parser.add_argument("--rerender", action="store_true",
                            help="forget the edition's stored pieces (exports' fragment store) "
                                 "first: every document is rendered again")

    def handle(self, *args, edition, now, rerender=False, **options):
        try:
            target = Edition.objects.get(slug=edition)
        except Edition.DoesNotExist:
            raise CommandError(f"no edition {edition}") from None
        with transaction.atomic():
            if rerender:
                ExportFragment.objects.filter(edition=target).delete()
            builds.request_export(target, "Full rebuild asked for (rebuild_exports)", full=True)
        if not now:
            self.stdout.write(f"{edition}: a full rebuild was queued; a worker will build it "
                              f"(see /{edition}/exports/).")
            return
        outcome = builds.run(target.pk)
        for build in outcome.builds:
            self.stdout.write(self.style.SUCCESS(
                f"{edition}: build {build.pk} complete ({build.rendered} document files "
                f"rendered, {build.reused} reused)"))
        if outcome.status is builds.Result.BUSY:
            self.stdout.write(f"{edition}: another worker is building it now")
