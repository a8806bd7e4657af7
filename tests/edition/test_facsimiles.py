"""import_facsimile (edition/facsimiles.py): scans matched to pages, stored, made viewable."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from edition import facsimiles, pages
from edition.imports import import_tei
from edition.models import FacsimileUpload, PageImage

pytestmark = pytest.mark.django_db
SAMPLE = settings.EMEND_SAMPLES_DIR / "frus1958-60v18-with-front-matter.xml"


@pytest.fixture
def edition():
    edition = import_tei(SAMPLE).edition
    pages.sync(edition)
    return edition


def scan(path: Path, text: str = "page", size=(1275, 1650), mode="L") -> Path:
    image = Image.new(mode, size, "white")
    ImageDraw.Draw(image).text((100, 100), text, fill="black")
    image.save(path)
    return path


def pdf(path: Path, count: int) -> Path:
    images = [Image.new("RGB", (612, 792), "white") for _ in range(count)]
    for number, image in enumerate(images, 1):
        ImageDraw.Draw(image).text((72, 72), f"PDF page {number}", fill="black")
    images[0].save(path, save_all=True, append_images=images[1:])
    return path


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def run(edition, paths, first_page=None) -> FacsimileUpload:
    upload = facsimiles.store(facsimiles.plan(edition, paths, first_page))
    for start, stop in facsimiles.chunks(upload):
        facsimiles.make(upload.pk, start, stop)
    upload.refresh_from_db()
    return upload


def test_images_named_by_facs_or_number_become_the_pages_images(edition, tmp_path):
    upload = run(edition, [scan(tmp_path / "0307.png", size=(1275, 3300)),
                           scan(tmp_path / "279.jpg", mode="RGB")])
    assert (upload.status, upload.total, upload.done, upload.failed) == ("done", 2, 2, 0)
    page = PageImage.objects.get(edition=edition, facs="0307")
    assert page.source == PageImage.Source.UPLOAD and page.upload == upload
    # The display image is what readers see and OCR boxes are in: 1600 high, kept in proportion.
    assert (page.width, page.height) == (618, 1600)
    with default_storage.open(page.display.name) as handle:
        assert Image.open(handle).size == (618, 1600)
    with default_storage.open(page.thumbnail.name) as handle:
        assert Image.open(handle).height == settings.EMEND_FACSIMILE_THUMBNAIL_HEIGHT
    assert page.image.name.endswith("0307.png") and page.mime_type == "image/png"
    by_number = PageImage.objects.get(edition=edition, n="279")
    # The type is the display image's (every address but the full size serves it, PNG); the
    # scan itself is kept as it came, a JPEG.
    assert by_number.mime_type == "image/png" and by_number.height == 1600
    assert by_number.image.name.endswith("279.jpg")
    with default_storage.open(by_number.display.name) as handle:
        assert Image.open(handle).format == "PNG"


def test_a_name_matching_no_page_refuses_the_run_and_stores_nothing(edition, tmp_path):
    with pytest.raises(facsimiles.FacsimileError) as refused:
        facsimiles.plan(edition, [scan(tmp_path / "0307.png"), scan(tmp_path / "9999.png")])
    assert refused.value.problems == [
        "9999.png: names no page of frus1958-60v18 (neither a facs id nor a page number)"]
    assert not FacsimileUpload.objects.exists() and not stored_files()


def test_a_name_naming_two_pages_is_ambiguous(edition, tmp_path):
    PageImage.objects.filter(edition=edition, n="277").update(n="0309")
    with pytest.raises(facsimiles.FacsimileError, match="0309.png: ambiguous, it names"):
        facsimiles.plan(edition, [scan(tmp_path / "0309.png")])


def test_two_files_for_one_page_are_refused(edition, tmp_path):
    with pytest.raises(facsimiles.FacsimileError, match="already given by 0307.png"):
        facsimiles.plan(edition, [scan(tmp_path / "0307.png"), scan(tmp_path / "277.png")])


def test_an_unreadable_or_huge_image_is_refused(edition, tmp_path, settings):
    broken = tmp_path / "0307.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(facsimiles.FacsimileError, match="0307.png: not a readable image"):
        facsimiles.plan(edition, [broken])
    settings.EMEND_FACSIMILE_MAX_BYTES = 100
    with pytest.raises(facsimiles.FacsimileError, match="over the limit of 100"):
        facsimiles.plan(edition, [scan(tmp_path / "279.png")])
    settings.EMEND_FACSIMILE_MAX_BYTES = 10**9
    settings.EMEND_FACSIMILE_MAX_PIXELS = 1000
    with pytest.raises(facsimiles.FacsimileError, match="EMEND_FACSIMILE_MAX_PIXELS"):
        facsimiles.plan(edition, [scan(tmp_path / "279.png")])


def test_a_pdf_follows_the_page_breaks_from_first_page(
        edition, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload = run(edition, [pdf(tmp_path / "volume.pdf", 3)], first_page="XXVI")
    assert (upload.status, upload.done) == ("done", 3)
    rows = list(pages.pages(edition))
    start = [r.n for r in rows].index("XXVI")
    made = rows[start:start + 3]
    assert all(r.source == PageImage.Source.UPLOAD for r in made)
    assert rows[start + 3:] == [] or rows[start + 3].source != PageImage.Source.UPLOAD
    # Rendered at 200 dpi (8.5 × 11 in), shown 1600 high.
    with default_storage.open(made[0].image.name) as handle:
        assert Image.open(handle).size == (1700, 2200)
    assert made[0].height == 1600
    # Rendered in colour, printed in black: kept as greyscale (a third of the work).
    with default_storage.open(made[0].display.name) as handle:
        assert Image.open(handle).mode == "L"
    # The PDF itself is not kept once its pages are made.
    assert not [name for name in stored_files() if name.endswith(".pdf")]


def test_a_pdf_longer_than_the_volume_or_an_unknown_first_page_is_refused(
        edition, tmp_path, settings):
    total = pages.pages(edition).count()
    with pytest.raises(facsimiles.FacsimileError, match="has 3 pages but the volume has 2 "):
        facsimiles.plan(edition, [pdf(tmp_path / "v.pdf", 3)], first_page="277")
    with pytest.raises(facsimiles.FacsimileError, match=r"no page break has n=\"999\""):
        facsimiles.plan(edition, [pdf(tmp_path / "v.pdf", 1)], first_page="999")
    with pytest.raises(facsimiles.FacsimileError, match=f"but the volume has {total} "):
        facsimiles.plan(edition, [pdf(tmp_path / "w.pdf", total + 1)])
    PageImage.objects.filter(edition=edition, n="277").update(n="XXVI")
    with pytest.raises(facsimiles.FacsimileError, match="2 page breaks have n=\"XXVI\""):
        facsimiles.plan(edition, [pdf(tmp_path / "v.pdf", 1)], first_page="XXVI")
    settings.EMEND_FACSIMILE_MAX_PIXELS = 1000
    with pytest.raises(facsimiles.FacsimileError,
                       match=r"page 1 is 8 × 11 in, over EMEND_FACSIMILE_MAX_PIXELS at 200"):
        facsimiles.plan(edition, [pdf(tmp_path / "v.pdf", 1)])
    settings.EMEND_FACSIMILE_MAX_PIXELS = 10**9
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_text("hello")
    with pytest.raises(facsimiles.FacsimileError, match="not a readable PDF"):
        facsimiles.plan(edition, [not_pdf])
    assert not FacsimileUpload.objects.exists() and not stored_files()


def test_uploading_again_replaces_the_scan_and_deletes_the_old_files(
        edition, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    from edition import tasks

    read = []
    monkeypatch.setattr(tasks.ocr_page, "apply_async", lambda args, **kw: read.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        run(edition, [scan(tmp_path / "0307.png", "first")])
    page = PageImage.objects.get(edition=edition, facs="0307")
    first = {page.image.name, page.display.name, page.thumbnail.name}
    page.ocr_words, page.ocr_status = [["Korea", 1, 2, 3, 4, 90.0, 0]], "done"
    page.save()
    again = tmp_path / "again"
    again.mkdir()
    with django_capture_on_commit_callbacks(execute=True):
        second = run(edition, [scan(again / "0307.png", "second")])
    page.refresh_from_db()
    now = {page.image.name, page.display.name, page.thumbnail.name}
    assert page.upload == second and not first & now
    assert stored_files() == now
    # Its OCR was read off the old image: gone with it, and the new one is read.
    assert page.ocr_words == [] and page.ocr_status == PageImage.OCRStatus.QUEUED
    assert read == [(page.pk,), (page.pk,)]


def test_making_a_chunk_twice_counts_nothing_twice(edition, tmp_path):
    upload = run(edition, [scan(tmp_path / "0307.png")])
    assert facsimiles.make(upload.pk, 0, 1) == 0
    upload.refresh_from_db()
    assert (upload.done, upload.failed, upload.status) == (1, 0, "done")


def test_a_page_the_worker_cannot_read_fails_alone(edition, tmp_path):
    upload = facsimiles.store(facsimiles.plan(
        edition, [scan(tmp_path / "0307.png"), scan(tmp_path / "279.png")]))
    # Damaged in storage after the command checked it.
    broken = upload.items.get(position=1).name
    Path(settings.MEDIA_ROOT, broken).write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    facsimiles.make(upload.pk, 0, 2)
    upload.refresh_from_db()
    assert (upload.status, upload.done, upload.failed) == ("failed", 1, 1)
    assert "[Page 279]: could not read the scan" in upload.error
    assert PageImage.objects.get(edition=edition, n="279").source != PageImage.Source.UPLOAD
    assert broken not in stored_files()


def test_the_command_with_now_and_its_errors(edition, tmp_path, capsys):
    call_command("import_facsimile", edition.slug, str(scan(tmp_path / "0307.png")), "--now")
    assert "1 page images stored" in capsys.readouterr().out
    with pytest.raises(CommandError, match="nothing was stored:\n  .*/nope.png: no such file"):
        call_command("import_facsimile", edition.slug, str(tmp_path / "nope.png"))
    with pytest.raises(CommandError, match="no edition nosuch"):
        call_command("import_facsimile", "nosuch", str(tmp_path / "0307.png"))


def test_the_command_sends_one_task_per_chunk(edition, tmp_path, monkeypatch,
                                               django_capture_on_commit_callbacks):
    from edition import tasks

    sent = []
    monkeypatch.setattr(tasks.make_page_images, "apply_async",
                        lambda args, **kw: sent.append(tuple(args)))
    files = [str(scan(tmp_path / f"{p.facs}.png")) for p in pages.pages(edition)[:6]]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_facsimile", edition.slug, *files)
    upload = FacsimileUpload.objects.get()
    assert sent == [(upload.pk, 0, 4), (upload.pk, 4, 6)]
    assert upload.status == "queued" and upload.total == 6


def test_an_upload_retires_the_reading_views_and_rebuilds_the_exports(edition, tmp_path,
                                                                       django_capture_on_commit_callbacks):
    """Readers see the new image at once (the pages stamp goes), and the volume TEI's
    <facsimile>, which lists the uploaded scans, is built again."""
    from django.core.cache import cache

    from edition.models import ExportRequest

    before = pages.stamp_value(edition.slug)
    cache.set(pages.stamp_key(edition.slug), before)
    with django_capture_on_commit_callbacks(execute=True):
        run(edition, [scan(tmp_path / "0307.png")])
    assert cache.get(pages.stamp_key(edition.slug)) is None
    assert pages.stamp_value(edition.slug) != before
    # One request per group of formats (the volume TEI is in the text group).
    assert ExportRequest.objects.filter(edition=edition, group="text",
                                        reason="Page images uploaded (0307.png)").count() == 1


def test_finishing_a_page_costs_the_same_in_a_long_upload(edition, tmp_path):
    """Each page finished writes its own item, never the whole upload's list: writing the
    list back per page made a volume's progress cost the square of its pages."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = scan(tmp_path / "0307.png")
    page = PageImage.objects.get(edition=edition, facs="0307")

    def written(n: int) -> int:
        upload = facsimiles.store(facsimiles.Plan(edition, [(path, page, None)] * n))
        with CaptureQueriesContext(connection) as queries:
            facsimiles._finish_item(upload.pk, 1, error="")
        upload.refresh_from_db()
        assert upload.done == 1 and upload.status == "queued"
        return sum(len(q["sql"]) for q in queries.captured_queries)

    small, large = written(3), written(3000)
    assert large < small * 1.2 + 200, (small, large)
