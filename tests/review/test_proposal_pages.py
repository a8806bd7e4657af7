"""The proposal page beside the printed page (issue 11, items 2 and 3): each change's page(s)
with the words it touches outlined from the page's OCR, why none are when they cannot be,
and the evidence of the OCR suggestion a proposal was made from."""

import pytest
from lxml import html

from edition import ocr, pages
from edition.models import Document, PageImage, Suggestion
from review.actions.propose import do_propose
from tests import pageimages
from tests.helpers import text_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def d144(sample_edition, media):
    pages.sync(sample_edition)
    document = Document.objects.get(xml_id="d144")
    pageimages.attach(document)
    return Document.objects.select_related("current_revision").get(pk=document.pk)


def propose(document, author, *specs, suggestion=None):
    proposal = do_propose(document, author=author, base_revision=document.current_revision.number,
                          changes=[text_spec(document.current_revision, exact, new)
                                   for exact, new in specs],
                          rationale="As printed")
    if suggestion is not None:
        proposal.suggestion = suggestion
        proposal.save(update_fields=["suggestion"])
    return proposal


def tree(client, proposal):
    response = client.get(proposal.get_absolute_url())
    assert response.status_code == 200
    return html.fromstring(response.content)


def word_box(page: PageImage, word: str) -> list[int]:
    return next(w[1:5] for w in page.ocr_words if w[0] == word)


def overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def rects(figure) -> list[list[int]]:
    return [[int(r.get(k)) for k in ("x", "y", "width", "height")]
            for r in figure.cssselect("rect.page-box")]


def test_each_change_shows_its_page_with_its_words_outlined(client, d144, people):
    proposal = propose(d144, people.editor, ("typhoons and hurricanes", "typhoons and storms"),
                       ("Outer Space", "Outer space"))
    client.force_login(people.reviewer)
    changes = tree(client, proposal).cssselect("article.change")
    assert len(changes) == 2
    page_279 = PageImage.objects.get(n="279")
    page_277 = PageImage.objects.get(n="277")
    # Changes are in text order: "Outer Space" (SUBJECT, page 277) first.
    first, second = (c.cssselect("figure.page-figure") for c in changes)
    assert [f.cssselect(".page-label")[0].text for f in first] == ["[Page 277]"]
    assert [f.cssselect(".page-label")[0].text for f in second] == ["[Page 279]"]
    assert first[0].cssselect("img")[0].get("src") == pages.image_urls(page_277)["display"]
    # The overlay is the image's size, so its outlines scale with it (lxml lowercases viewBox).
    assert second[0].cssselect("svg")[0].get("viewbox") == f"0 0 {page_279.width} {page_279.height}"
    outlined = rects(second[0])
    assert outlined and any(overlaps(r, word_box(page_279, "hurricanes.")) for r in outlined)
    assert not any(overlaps(r, word_box(page_279, "Kishi")) for r in outlined)
    assert any(overlaps(r, word_box(page_277, "Space")) for r in rects(first[0]))
    assert not changes[0].cssselect(".page-note")


def test_a_page_not_read_yet_is_shown_and_says_so(client, d144, people):
    PageImage.objects.filter(n="279").update(ocr_words=[], ocr_status="")
    proposal = propose(d144, people.editor, ("typhoons and hurricanes", "typhoons and storms"))
    client.force_login(people.reviewer)
    change = tree(client, proposal).cssselect("article.change")[0]
    assert change.cssselect("figure.page-figure img") and not change.cssselect("rect")
    note = change.cssselect(".page-note")[0].text_content()
    assert "not been read by OCR yet" in note or "not installed" in note


def test_without_tesseract_it_says_so_where_the_words_would_be(client, d144, people,
                                                               monkeypatch):
    PageImage.objects.filter(n="279").update(ocr_words=[], ocr_status="")
    monkeypatch.setattr(ocr, "available", lambda: (False, "OCR is not installed (no tesseract)."))
    proposal = propose(d144, people.editor, ("typhoons and hurricanes", "typhoons and storms"))
    client.force_login(people.reviewer)
    change = tree(client, proposal).cssselect("article.change")[0]
    assert change.cssselect("figure.page-figure img")
    assert "OCR is not installed (no tesseract)." in change.cssselect(".page-note")[0].text_content()


def test_no_figure_without_page_images(client, sample_edition, people):
    pages.sync(sample_edition)  # rows, but no image anywhere
    document = Document.objects.select_related("current_revision").get(xml_id="d144")
    proposal = propose(document, people.editor, ("typhoons and hurricanes", "typhoons"))
    client.force_login(people.reviewer)
    page = tree(client, proposal)
    assert not page.cssselect("figure.page-figure") and not page.cssselect(".ocr-evidence")


def test_the_ocr_suggestions_evidence_travels_with_the_proposal(client, d144, people):
    page_279 = PageImage.objects.get(n="279")
    region = word_box(page_279, "hurricanes.")
    suggestion = Suggestion.objects.create(
        document=d144, revision=d144.current_revision, check_name=Suggestion.Check.OCR,
        change="text", exact="hurricanes", replacement="hurricancs", page=page_279,
        confidence=71.5, region=region, explanation="The page image reads “hurricancs”.")
    proposal = propose(d144, people.editor, ("hurricanes", "hurricancs"), suggestion=suggestion)
    client.force_login(people.reviewer)
    section = tree(client, proposal).cssselect("section.ocr-evidence")[0]
    readings = dict(zip((dt.text_content() for dt in section.cssselect("dt")),
                        (dd.text_content() for dd in section.cssselect("dd"))))
    assert readings == {"The transcription": "hurricanes", "The OCR read": "hurricancs",
                        "OCR confidence": "72%"}
    rect = section.cssselect("rect.page-region")[0]
    assert [int(rect.get(k)) for k in ("x", "y", "width", "height")] == region


def form_page(client, document, exact):
    text = document.current_revision.text
    start = text.index(exact)
    response = client.get(f"/{document.edition.slug}/{document.xml_id}/propose/",
                          {"start": start, "end": start + len(exact), "exact": exact,
                           "kind": "text"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return html.fromstring(response.content)


def test_the_proposing_form_shows_the_page_of_the_selection(client, d144, people):
    client.force_login(people.editor)
    page_277, page_279 = PageImage.objects.get(n="277"), PageImage.objects.get(n="279")
    form = form_page(client, d144, "Outer Space")
    figure = form.cssselect(".propose-page figure.page-figure")[0]
    assert figure.cssselect(".page-label")[0].text == "[Page 277]"
    assert any(overlaps(r, word_box(page_277, "Space")) for r in rects(figure))
    # The selection moved (the script places it again): the page follows.
    form = form_page(client, d144, "Ise Peninsula")
    figure = form.cssselect(".propose-page figure.page-figure")[0]
    assert figure.cssselect(".page-label")[0].text == "[Page 279]"
    assert any(overlaps(r, word_box(page_279, "Peninsula")) for r in rects(figure))


def test_the_blank_form_shows_no_page(client, d144, people):
    client.force_login(people.editor)
    response = client.get(f"/{d144.edition.slug}/d144/propose/")
    assert response.status_code == 200 and b"propose-page" not in response.content


@pytest.fixture
def ocr_suggestion(d144):
    page_279 = PageImage.objects.get(n="279")
    text = d144.current_revision.text
    at = text.index("hurricanes")
    return Suggestion.objects.create(
        document=d144, revision=d144.current_revision, check_name=Suggestion.Check.OCR,
        change="text", exact="hurricanes", prefix=text[at - 32:at],
        suffix=text[at + 10:at + 42], replacement="hurricancs", page=page_279,
        confidence=71.5, region=word_box(page_279, "hurricanes."),
        explanation="The page image reads “hurricancs”.")


@pytest.mark.parametrize("where", ["/frus1958-60v18/suggestions/", "/frus1958-60v18/d144/"])
def test_ocr_suggestions_show_both_readings_and_the_region(client, people, ocr_suggestion,
                                                           where):
    client.force_login(people.editor)
    page = html.fromstring(client.get(where).content)
    item = page.cssselect(f"#suggestion-{ocr_suggestion.pk}")[0]
    readings = [dd.text_content() for dd in item.cssselect(".ocr-readings dd")]
    assert readings[0] == "hurricanes" and readings[1].startswith("hurricancs")
    assert "OCR confidence 72%" in readings[1]
    crop = item.cssselect(".page-crop svg")[0]
    x, y, w, h = ocr_suggestion.region
    left, top, width, height = map(int, crop.get("viewbox").split())
    assert left <= x and top <= y and x + w <= left + width and y + h <= top + height
    rect = crop.cssselect("rect.page-region")[0]
    assert [int(rect.get(k)) for k in ("x", "y", "width", "height")] == [x, y, w, h]
    assert crop.cssselect("image")[0].get("href") == pages.image_urls(ocr_suggestion.page)["display"]
    assert item.cssselect("a.page-crop")[0].get("href") == pages.image_urls(ocr_suggestion.page)["full"]


def test_a_change_across_a_page_break_shows_both_pages(d144):
    from review.page_images import pages_of

    revision = d144.current_revision
    shown = pages.shown(d144, revision)
    boundary = shown[1].start  # where [Page 279] stands
    found = pages_of(d144, revision, shown, boundary - 5, boundary + 5)
    assert [item.shown.page.n for item in found] == ["277", "279"]
    assert all(item.boxes for item in found)
    # A point (an insertion, a footnote's marker) is on one page.
    assert [item.shown.page.n for item in pages_of(d144, revision, shown, boundary + 3,
                                                   boundary + 3)] == ["279"]


def test_remote_page_images_may_load_on_the_proposal_page_and_form(client, sample_edition,
                                                                    people):
    """The Content-Security-Policy of the pages showing the page image lets the browser load
    it from the edition's image host (the reading view's rule, edition.middleware), and only
    those pages: the queue shows no image and keeps the site's own policy."""
    sample_edition.facsimile_url = "https://images.example.org/{volume}/{facs}.png"
    sample_edition.save()
    pages.sync(sample_edition)
    document = Document.objects.select_related("current_revision").get(xml_id="d144")
    proposal = propose(document, people.editor, ("Prime Minister", "Premier"))
    client.force_login(people.reviewer)

    def img_src(url: str) -> str:
        policy = client.get(url)["Content-Security-Policy"]
        return next(d for d in policy.split(";") if d.strip().startswith("img-src"))

    assert "https://images.example.org" in img_src(proposal.get_absolute_url())
    client.force_login(people.editor)
    assert "https://images.example.org" in img_src(f"/{sample_edition.slug}/d144/propose/")
    assert "images.example.org" not in img_src("/review/")


def test_a_page_is_aligned_once_for_all_the_changes_on_it(client, d144, people, monkeypatch):
    """A proposal may hold a hundred changes: the proposal page aligns each page once for
    all of them, not once per change."""
    from edition.ocr import locate

    calls = []
    real = locate.align
    monkeypatch.setattr(locate, "align", lambda *args: calls.append(args[0].pk) or real(*args))
    proposal = propose(d144, people.editor, ("Prime Minister", "Premier"),
                       ("typhoons and hurricanes", "typhoons, hurricanes"), ("Herter", "Herter,"))
    client.force_login(people.reviewer)
    page = tree(client, proposal)
    outlined = [rects(figure) for figure in page.cssselect(".change .page-figure")]
    assert len(outlined) >= 3 and all(outlined)
    assert len(calls) == len(set(calls))
