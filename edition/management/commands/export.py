import hashlib
import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from edition.exporting.sources import storing
from edition.exporting.formats import FORMATS
from edition.exporting.sources import load_volume
from edition.models import Edition


class Command(BaseCommand):
    help = ("Write one export of an edition (or of one document) now, with the same code the "
            "background builds use. Nothing is stored in the database.")

    def add_arguments(self, parser):
        parser.add_argument("edition", help="the edition's slug")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--document", help="a document id (e.g. d143); the volume if absent")
        parser.add_argument("--out", required=True, type=Path,
                            help="file to write (- for standard output)")

    def handle(self, *args, edition, format, document, out, **options):
        try:
            target = Edition.objects.get(slug=edition)
        except Edition.DoesNotExist:
            raise CommandError(f"no edition {edition}") from None
        fmt = FORMATS[format]
        if document:
            doc = target.documents.filter(xml_id=document).first()
            if doc is None:
                raise CommandError(f"{edition} has no document {document}")
            vol = load_volume(target, documents=[doc])
            with storing(vol.parts):
                data = fmt.document(vol, vol.parts[0])
        else:
            vol = load_volume(target)
            # The fragment store read a window of units at a time, as a build reads it.
            with storing(vol.parts):
                data = fmt.volume(vol)
        if str(out) == "-":
            sys.stdout.buffer.write(data)  # bytes: EPUB and PDF are binary
            sys.stdout.flush()
            return
        # Written beside the target and renamed: an interrupted run leaves the old file whole.
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.",
                                         delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, out)
        sources = ", ".join(f"{doc} r{n}" for doc, n in vol.sources().items())
        self.stderr.write(self.style.SUCCESS(
            f"{out}: {fmt.label}, {len(data):,} bytes, sha256 "
            f"{hashlib.sha256(data).hexdigest()}, from {sources}"))
