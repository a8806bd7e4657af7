from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from edition.imports import import_tei
from edition.tei.parsing import TEIError


class Command(BaseCommand):
    help = (
        "Import FRUS TEI volumes (or excerpts): an edition per file, its documents and revision 1 "
        "of each. An existing edition is refused unless --update."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--update", action="store_true",
            help="re-import an existing edition: add a revision where the TEI differs",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--upstream", metavar="URL",
            help="where documents this edition does not hold are read, with {volume} and "
                 "{document}: https://history.state.gov/historicaldocuments/{volume}/{document}",
        )

    def handle(self, *args, files, update, no_progress, upstream=None, **options):
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            show = not no_progress and self.stdout.isatty()
            with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name,
                      disable=not show, file=self.stderr._out) as bar:
                try:
                    result = import_tei(path, update=update, on_progress=bar.update)
                except TEIError as exc:
                    raise CommandError(f"{path}: {exc}\nNothing was imported.") from exc
            if upstream is not None:
                result.edition.upstream_url = upstream
                result.edition.save(update_fields=["upstream_url"])
            for warning in result.warnings:
                self.stderr.write(self.style.WARNING(f"warning: {warning}"))
            for note in result.notes:
                self.stdout.write(f"note: {note}")
            self.stdout.write(self.style.SUCCESS(
                # Pages: documents, and the front matter, chapters and appendices around them.
                f"{result.edition.slug}: {len(result.created)} page(s) created, "
                f"{len(result.updated)} updated, {len(result.unchanged)} unchanged"
            ))
