from django.core.management.base import BaseCommand, CommandError

from edition import pages
from edition.models import Edition, PageImage
from edition.ocr import available, record


class Command(BaseCommand):
    help = ("Read an edition's page images with Tesseract and record where they disagree with "
            "the text (the OCR cross-check): a worker does it, a page a message. With --now it "
            "runs here, synchronously.")

    def add_arguments(self, parser):
        parser.add_argument("edition", help="the edition's slug")
        parser.add_argument("--document", action="append", dest="documents", metavar="dNNN",
                            help="only the pages this unit's text is on (may be repeated)")
        parser.add_argument("--now", action="store_true", help="run here instead of a worker")

    def handle(self, *args, edition, documents, now, **options):
        target = Edition.objects.without_tei().filter(slug=edition).first()
        if target is None:
            raise CommandError(f"no edition {edition}")
        ok, reason = available()
        if not ok:
            raise CommandError(f"{reason}: install Debian's tesseract-ocr and "
                               "tesseract-ocr-eng (make test does)")
        found = self._pages(target, documents)
        wanted = [p for p in found if p.has_image]
        if len(wanted) < len(found):
            self.stdout.write(f"{edition}: {len(found) - len(wanted)} page(s) have no image "
                              "and are left out")
        if not wanted:
            raise CommandError(f"{edition}: no page image to read (import_facsimile, or the "
                               "edition's image address)")
        if not now:
            record.queue(PageImage.objects.filter(pk__in=[p.pk for p in wanted]),
                         on_commit=False)
            self.stdout.write(f"{edition}: {len(wanted)} page(s) queued; workers will read "
                              f"them (see /{edition}/suggestions/).")
            return
        PageImage.objects.filter(pk__in=[p.pk for p in wanted]).update(
            ocr_status=PageImage.OCRStatus.QUEUED, ocr_error="")
        count, failed = 0, 0
        for page in wanted:
            page.edition = target
            count += len(record.read_page(page))
            if page.ocr_status != PageImage.OCRStatus.DONE:
                failed += 1
                self.stderr.write(f"{page.label}: {page.ocr_error}")
        self.stdout.write(self.style.SUCCESS(
            f"{edition}: {len(wanted) - failed} page(s) read, {count} suggestion"
            f"{'s' if count != 1 else ''} recorded" + (f", {failed} failed" if failed else "")))

    def _pages(self, target: Edition, documents: list[str] | None) -> list[PageImage]:
        if not documents:
            return list(pages.pages(target))
        units = {d.xml_id: d for d in target.documents.filter(xml_id__in=documents)
                 .select_related("current_revision")}
        missing = sorted(set(documents) - set(units))
        if missing:
            raise CommandError(f"{target.slug} has no unit {', '.join(missing)}")
        seen: dict[int, PageImage] = {}
        for document in units.values():
            document.edition = target
            for span in pages.spans(document):
                seen.setdefault(span.page.pk, span.page)
        return sorted(seen.values(), key=lambda p: p.sequence)
