"""edition/ocr/record.py: OCR disagreements recorded as suggestions, replaced on each run,
remembered once settled, re-aligned (not re-read) when a unit's text changes; and the
image fetch's refusals (engine.py). OCR words here are made from the text (no Tesseract)."""

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from edition import pages, tasks
from edition.models import PageImage, Suggestion
from edition.ocr import align, engine, record
from tests.helpers import revise
from tests.ocr_pages import words_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def page276(sample_edition):
    pages.sync(sample_edition)
    page = PageImage.objects.get(edition=sample_edition, n="276")
    page.ocr_words = words_of(page, change={"restrained": "restraincd", "issue.": "",
                                            "voluntary": "voluntery"})
    page.ocr_status = PageImage.OCRStatus.DONE
    page.save()
    return page


def ocr_suggestions(page):
    return list(Suggestion.objects.filter(page=page, check_name="ocr").order_by("pk"))


def test_each_disagreement_is_a_suggestion_with_its_evidence(page276):
    found = record.align_page(page276)
    assert sorted((s.exact, s.replacement) for s in found) == [
        (" issue.", ""), ("restrained", "restraincd"), ("voluntary", "voluntery")]
    d142 = page276.document
    text = d142.current_revision.layer.text
    for suggestion in found:
        assert suggestion.document == d142 and suggestion.revision == d142.current_revision
        assert suggestion.change == "text" and suggestion.kind == Suggestion.Kind.OCR
        assert suggestion.confidence == 95.0 and len(suggestion.region) == 4
        at = text.index(suggestion.prefix + suggestion.exact + suggestion.suffix)
        assert at >= 0
    typo = next(s for s in found if s.exact == "restrained")
    assert typo.explanation == ("On [Page 276] the page image reads “restraincd” where the "
                                "text has “restrained”.")
    # The region is the misread word's box, where words_of put it.
    box = next(w for w in page276.ocr_words if w[0] == "restraincd")
    assert typo.region == box[1:5]
    page276.refresh_from_db()
    assert page276.aligned == {str(d142.pk): d142.current_revision.pk}


def test_a_run_replaces_the_pages_open_suggestions(page276):
    first = record.align_page(page276)
    again = record.align_page(page276)
    assert len(ocr_suggestions(page276)) == len(first) == len(again)
    assert {s.pk for s in first}.isdisjoint(s.pk for s in again)


def test_dismissed_and_proposed_are_never_recorded_again(page276, people):
    found = {s.exact: s for s in record.align_page(page276)}
    found["restrained"].dismiss(by=people.editor)
    found["voluntary"].mark_proposed(by=people.editor)
    again = record.align_page(page276)
    assert [s.exact for s in again] == [" issue."]
    assert len(ocr_suggestions(page276)) == 3  # the two settled ones stay, remembered


def test_low_confidence_words_are_not_suggested(page276, settings):
    settings.EMEND_OCR_MIN_CONFIDENCE = 96
    assert record.align_page(page276) == []


def test_running_head_and_footnote_calls_are_not_differences(sample_edition):
    pages.sync(sample_edition)
    page = PageImage.objects.get(edition=sample_edition, n="279")
    words = words_of(page)
    # A call glued to a word ("stage.1" for footnote 1 anchored on the page), a curly quote
    # read straight, a dash read as two hyphens: none is a disagreement.
    labels = align.transcription(page).labels
    assert labels
    label = sorted(labels)[0]
    words[5][0] = words[5][0] + label
    for word in words:
        word[0] = word[0].replace("’", "'").replace("–", "--")
    words.insert(1, ["[Page", 1200, 40, 90, 40, 96.0, 0])
    words.insert(2, ["279]", 1300, 40, 90, 40, 96.0, 0])
    page.ocr_words = words
    page.save()
    assert record.align_page(page) == []


def test_a_new_revision_realigns_without_reading_again(page276, people, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    record.align_page(page276)
    sent = []
    monkeypatch.setattr(tasks, "_send", lambda task, args, options: sent.append((task, args)))
    d142 = page276.document
    with django_capture_on_commit_callbacks(execute=True):
        revise(d142, "restrained", "restraincd")
    assert (tasks.align_pages, ([page276.pk],)) in sent
    monkeypatch.setattr(engine, "read", lambda data: pytest.fail("read again"))
    tasks.align_pages([page276.pk])
    open_ = [s.exact for s in Suggestion.objects.filter(page=page276).open()]
    assert "restrained" not in open_ and "restraincd" not in open_  # the text agrees now
    page276.refresh_from_db()
    assert page276.aligned[str(d142.pk)] == d142.current_revision.pk


def test_ocr_unavailable_marks_the_page_and_records_nothing(page276, monkeypatch):
    monkeypatch.setattr(engine, "available", lambda: (False, "OCR is not installed (test)"))
    monkeypatch.setattr(record.engine, "available", engine.available)
    assert record.read_page(page276) == []
    page276.refresh_from_db()
    assert page276.ocr_status == PageImage.OCRStatus.UNAVAILABLE
    assert page276.ocr_error == "OCR is not installed (test)"


def test_a_page_without_an_image_fails_with_the_reason(page276, monkeypatch):
    monkeypatch.setattr(record.engine, "available", lambda: (True, "Tesseract"))
    page276.url = ""
    page276.save()
    record.read_page(page276)
    page276.refresh_from_db()
    assert page276.ocr_status == PageImage.OCRStatus.FAILED
    assert page276.ocr_error == "the page has no image"


def test_remote_images_only_from_allowed_hosts_over_https(page276):
    page276.url = "https://elsewhere.example/0306.png"
    page276.edition.facsimile_hosts = ["static.history.state.gov"]
    with pytest.raises(engine.OCRError, match="may not fetch from elsewhere.example"):
        engine.image_bytes(page276)
    with pytest.raises(engine.OCRError, match="not an https address"):
        engine.fetch("http://static.history.state.gov/x.png", ["static.history.state.gov"])
    with pytest.raises(engine.OCRError, match="not an https address"):
        engine.fetch("file:///etc/passwd", ["static.history.state.gov"])


@pytest.fixture
def image_server(tmp_path):
    """A local HTTP server of tmp_path: page.png (an image) and page.html."""
    import functools
    import http.server
    import threading

    from PIL import Image

    Image.new("L", (40, 20), 255).save(tmp_path / "page.png")
    (tmp_path / "page.html").write_text("<p>not an image</p>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_fetch_reads_an_image_and_refuses_what_is_not_one(image_server, settings):
    settings.EMEND_OCR_ALLOW_HTTP = True  # the test server has no TLS
    hosts = ["127.0.0.1"]
    assert engine.fetch(f"{image_server}/page.png", hosts).startswith(b"\x89PNG")
    with pytest.raises(engine.OCRError, match="is not an image"):
        engine.fetch(f"{image_server}/page.html", hosts)
    with pytest.raises(engine.OCRError, match="could not be fetched"):
        engine.fetch(f"{image_server}/missing.png", hosts)
    with override_settings(EMEND_OCR_MAX_IMAGE_BYTES=10):
        with pytest.raises(engine.OCRError, match="larger than 10 bytes"):
            engine.fetch(f"{image_server}/page.png", hosts)


def test_uploaded_image_is_read_from_storage(page276, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    page276.image.save("0306.png", ContentFile(b"not really a png"), save=True)
    assert engine.image_bytes(page276) == b"not really a png"
    with pytest.raises(engine.OCRError, match="the image cannot be read"):
        engine.read(engine.image_bytes(page276))


def test_ocr_command_says_when_ocr_is_not_installed(sample_edition, monkeypatch):
    from django.core.management import CommandError, call_command

    from edition.management.commands import ocr as command

    monkeypatch.setattr(command, "available", lambda: (False, "OCR is not installed (test)"))
    with pytest.raises(CommandError, match="OCR is not installed"):
        call_command("ocr", sample_edition.slug, "--now")
    with pytest.raises(CommandError, match="no edition nowhere"):
        call_command("ocr", "nowhere")


def test_ocr_command_refuses_an_unknown_unit_and_pages_without_images(sample_edition,
                                                                         monkeypatch):
    from django.core.management import CommandError, call_command

    from edition.management.commands import ocr as command

    monkeypatch.setattr(command, "available", lambda: (True, "Tesseract"))
    pages.sync(sample_edition)
    with pytest.raises(CommandError, match="has no unit d999"):
        call_command("ocr", sample_edition.slug, "--document", "d999")
    with pytest.raises(CommandError, match="no page image to read"):
        call_command("ocr", sample_edition.slug)


def test_a_lost_diacritic_is_the_ocrs_and_confusions_need_more_confidence(page276):
    d142 = page276.document
    revise(d142, "restrained", "restrainéd")  # the image (the OCR words) has no accent
    page276.ocr_words = words_of(page276, change={"restrainéd": "restrained",
                                                  "handling": "handIing",
                                                  "voluntary": "voluntery"}, confidence=85)
    page276.save()
    found = record.findings(align.align(page276), page276)
    # "restrainéd" read without its accent: not the text's fault. "handIing" (I for l) at 85:
    # a classic confusion, below the 90 it needs. "voluntery" at 85: suggested.
    assert [(f.exact, f.replacement) for f in found] == [("voluntary", "voluntery")]
    for word in page276.ocr_words:
        word[5] = 95.0
    page276.save()
    found = record.findings(align.align(page276), page276)
    assert [(f.exact, f.replacement) for f in found] == [("handling", "handIing"),
                                                        ("voluntary", "voluntery")]


def test_misreadings_either_side_of_a_paragraph_break_are_two_suggestions(page276):
    known = align.transcription(page276)
    text = known.texts[known.words[0].home]
    i = next(i for i in range(1, len(known.words)) if known.words[i].home == known.words[0].home
             and "\n" in text[known.words[i - 1].end:known.words[i].start])
    last, first = known.words[i - 1], known.words[i]
    ocr = words_of(page276)  # the page number, then a word for each of the transcription's
    ocr[i][0], ocr[i + 1][0] = "Xx" + last.text, "Yy" + first.text
    page276.ocr_words = ocr
    page276.save()
    found = record.findings(align.align(page276), page276)
    assert [(f.start, f.end) for f in found] == [(last.start, last.end), (first.start, first.end)]


def test_page_as_a_word_of_the_text_is_not_a_page_marker(page276):
    words = words_of(page276)
    # The OCR reads "Page 7" where the text has "the Department": a disagreement, not a
    # "[Page N]" marker to leave out.
    at = next(i for i, w in enumerate(words) if w[0] == "Department")
    words[at - 1][0], words[at][0] = "Page", "7"
    page276.ocr_words = words
    page276.save()
    found = record.findings(align.align(page276), page276)
    assert any(f.replacement == "Page 7" for f in found)


def test_an_image_of_too_many_pixels_is_refused(monkeypatch):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (400, 200), 255).save(buffer, format="PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 80,000 pixels is over twice that
    with pytest.raises(engine.OCRError, match="the image cannot be read"):
        engine.read(buffer.getvalue())


def test_a_reading_finished_after_a_new_scan_leaves_the_new_scan_alone(page276, monkeypatch):
    """An upload switched the page's image while Tesseract read the old one: the old words and
    size are not stored over the new scan (whose own reading is queued)."""
    PageImage.objects.filter(pk=page276.pk).update(url="https://images.example.org/old.png")
    page276.refresh_from_db()
    monkeypatch.setattr(record.engine, "available", lambda: (True, "Tesseract (test)"))
    monkeypatch.setattr(record.engine, "image_bytes", lambda page: b"old image")

    def read(data):
        # Meanwhile the upload's worker switches the page to its new scan.
        PageImage.objects.filter(pk=page276.pk).update(
            url="", display="pages/x/new-display.png", width=1200, height=1600,
            ocr_words=[], ocr_status=PageImage.OCRStatus.QUEUED)
        return [["old", 1, 2, 3, 4, 95.0, 0]], 600, 800

    monkeypatch.setattr(record.engine, "read", read)
    assert record.read_page(page276) == []
    page276.refresh_from_db()
    assert (page276.width, page276.height, page276.ocr_words) == (1200, 1600, [])
    assert page276.ocr_status == PageImage.OCRStatus.QUEUED
