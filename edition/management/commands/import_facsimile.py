"""Attach scans of the printed volume to its pages (issue 11; see edition/facsimiles.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from edition import facsimiles, tasks
from edition.models import Edition


class Command(BaseCommand):
    help = ("Store page images of an edition: image files named by facs id or page number "
            "(0308.png, 278.png), or one PDF of the printed volume whose pages follow the "
            "volume's page breaks from --first-page. A worker makes the display images and "
            "thumbnails (with --now, this command does).")

    def add_arguments(self, parser):
        parser.add_argument("edition", help="the edition's slug")
        parser.add_argument("paths", nargs="+", type=Path, help="image files, or one PDF")
        parser.add_argument("--first-page", metavar="N",
                            help="a PDF's first page is the page break with n=N (e.g. 1, "
                                 "XXVI); default: the volume's first page break")
        parser.add_argument("--now", action="store_true",
                            help="make the images here instead of in a worker")

    def handle(self, *args, edition, paths, first_page, now, **options):
        try:
            target = Edition.objects.without_tei().get(slug=edition)
        except Edition.DoesNotExist:
            raise CommandError(f"no edition {edition}") from None
        try:
            plan = facsimiles.plan(target, paths, first_page)
        except facsimiles.FacsimileError as exc:
            raise CommandError("nothing was stored:\n  " + "\n  ".join(exc.problems)) from None
        upload = facsimiles.store(plan)
        if now:
            for start, stop in facsimiles.chunks(upload):
                facsimiles.make(upload.pk, start, stop)
            upload.refresh_from_db()
            if upload.failed:
                raise CommandError(f"{upload.failed} of {upload.total} pages failed:\n"
                                   f"{upload.error}")
            self.stdout.write(self.style.SUCCESS(
                f"{edition}: {upload.done} page images stored (/{edition}/pages/)"))
            return
        for start, stop in facsimiles.chunks(upload):
            tasks.enqueue_on_commit(tasks.make_page_images, upload.pk, start, stop)
        self.stdout.write(f"{edition}: {upload.total} pages stored; a worker makes their "
                          f"images (progress at /{edition}/pages/).")
