"""The public reading site: edition list, contents, reading view, revisions, history, downloads."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test.utils import CaptureQueriesContext
from django.db import connection
from lxml import etree, html

from edition.imports import import_text
from edition.models import Document
from tests.helpers import D143_TEXT

pytestmark = pytest.mark.django_db

URL = "/frus1958-60v18/d142/"


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response, html.fromstring(response.content)


def text(element) -> str:
    return " ".join(element.text_content().split())


class TestHomeAndContents:
    def test_home_lists_editions(self, client, sample_edition):
        _, tree = page(client, "/")
        assert "Japan; Korea, Volume XVIII" in text(tree)
        assert tree.xpath("//a[@href='/frus1958-60v18/']")

    def test_contents_lists_number_title_and_date(self, client, sample_edition):
        import_text(D143_TEXT, edition=sample_edition)
        _, tree = page(client, "/frus1958-60v18/")
        rows = [[text(td) for td in tr.xpath("td")] for tr in tree.xpath("//table[@class='toc']/tbody/tr")]
        assert [r[0] for r in rows] == ["142", "143", "144"]
        assert rows[0][1] == "Memorandum of ConversationWashington, January 19, 1960"
        assert text(tree.xpath("//table[@class='toc']//a")[0]) == "Memorandum of Conversation"
        # Three links read the same; their accessible names tell them apart.
        assert tree.xpath("//table[@class='toc']//a/@aria-label")[0] == (
            "Document 142: Memorandum of Conversation")
        assert rows[0][2] == "January 19, 1960Washington"
        assert tree.xpath("//h3/a[text()='Japan']")

    def test_unknown_edition_is_404(self, client, db):
        assert client.get("/nope/").status_code == 404


class TestReadingView:
    def test_d142_paragraphs_notes_and_page_marker(self, client, sample_edition):
        _, tree = page(client, URL)
        [article] = tree.xpath("//article[@id='d142']")
        paragraphs = article.xpath(".//p[not(@class)]")
        assert len(paragraphs) == 2
        assert text(paragraphs[0]).startswith("The Prime Minister expressed the appreciation")
        assert text(paragraphs[1]).endswith("prospective membership applications.")
        # Footnotes: the source note first, labelled Source, then note 1 with its text.
        notes = article.xpath(".//section[contains(@class,'footnotes')]//li")
        assert [n.get("id") for n in notes] == ["fn-d142fn0", "fn-d142fn1"]
        assert text(notes[0]).startswith("Source: Department of State")
        assert "Telegram 515 from Seoul" in text(notes[1])
        assert notes[1].xpath(".//a[@href='#fnref-d142fn1']")
        [marker] = article.xpath(".//a[@id='fnref-d142fn1']")
        assert marker.get("href") == "#fn-d142fn1"
        # [Page 276] between "expressed appreciation" and "for the restrained manner".
        body = text(paragraphs[0])
        assert "expressed appreciation [Page 276] for the restrained manner" in body
        assert article.xpath(".//*[@id='pg_276']")

    def test_every_internal_link_has_a_target(self, client, sample_edition):
        _, tree = page(client, URL)
        ids = set(tree.xpath("//@id"))
        for href in tree.xpath("//a/@href"):
            if href.startswith("#"):
                assert href[1:] in ids, href

    def test_cross_references_link_only_to_documents_of_the_edition(self, client, sample_volume):
        _, tree = page(client, URL)
        assert tree.xpath("//a[@href='/frus1958-60v18/d143/']")
        # d139 is not in the sample and the edition names no upstream: text, never a dead link
        assert not tree.xpath("//a[@href='/frus1958-60v18/d139/']")
        assert tree.xpath("//span[@class='ref ref-missing']"
                          "[@title='Document 139 is not in this edition']")

    def test_previous_next_and_citation(self, client, sample_edition):
        _, tree = page(client, URL)
        assert tree.xpath("//a[@rel='next' and @href='/frus1958-60v18/d144/']")
        # Before the first document, its compilation's own page ("Japan").
        assert tree.xpath("//a[@rel='prev' and @href='/frus1958-60v18/comp1/']")
        cite = text(tree.xpath("//*[contains(@class,'citation')]")[0])
        assert cite.startswith(
            "Foreign Relations of the United States, 1958–1960, Japan; Korea, Volume XVIII, "
            "eds. Madeline Chi and Louis J. Smith (Washington: Government Printing Office, 1994), "
            "Document 142"
        )
        assert "http://testserver/frus1958-60v18/d142/r/1/" in cite

    def test_page_links_the_document_style_before_the_sites(self, client, sample_edition):
        """document.css, which the HTML export inlines, then emend.css."""
        _, tree = page(client, URL)
        sheets = tree.xpath("//head/link[@rel='stylesheet']/@href")
        assert sheets[:2] == ["/static/edition/document.css", "/static/edition/emend.css"]

    def test_page_has_landmarks_and_headings_in_order(self, client, sample_edition):
        _, tree = page(client, URL)
        assert tree.xpath("//header") and tree.xpath("//main[@id='main']") and tree.xpath("//footer")
        assert tree.xpath("//a[@class='skip-link' and @href='#main']")
        levels = [int(h.tag[1]) for h in tree.xpath("//main//*[self::h1 or self::h2 or self::h3]")]
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:]))

    def test_etag_revalidation_answers_304(self, client, sample_edition):
        first = client.get(URL)
        assert first["ETag"] and first["Last-Modified"]
        again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert "max-age=0" in first["Cache-Control"] and "s-maxage" in first["Cache-Control"]

    def test_new_revision_changes_the_etag_and_the_text(self, client, sample_edition):
        first = client.get(URL)
        document = Document.objects.with_current().get(xml_id="d142")
        document.add_revision(document.current_revision.tei.replace("Parsons</persName> added",
                     "Parsons</persName> noted"), by=None, summary="fix")
        second = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
        assert second.status_code == 200
        assert "Parsons noted" in text(html.fromstring(second.content))

    def test_cached_view_makes_a_constant_number_of_queries(self, client, sample_edition):
        client.get(URL)
        with CaptureQueriesContext(connection) as queries:
            client.get(URL)
        assert len(queries) <= 4

    def test_html_in_tei_is_escaped(self, client, sample_edition):
        document = Document.objects.with_current().get(xml_id="d142")
        document.add_revision(document.current_revision.tei.replace(
            "Parsons</persName> added", "Parsons</persName> &lt;script&gt;alert(1)&lt;/script&gt;"),
            by=None, summary="x")
        response = client.get(URL)
        assert b"<script>alert(1)" not in response.content
        assert b"&lt;script&gt;alert(1)" in response.content

    def test_unknown_document_is_404(self, client, sample_edition):
        assert client.get("/frus1958-60v18/d999/").status_code == 404


class TestRevisionsAndHistory:
    @pytest.fixture
    def revised(self, sample_edition):
        document = Document.objects.with_current().get(xml_id="d142")
        document.add_revision(document.current_revision.tei.replace(
            "Parsons</persName> added", "Parsons</persName> noted"), by=None,
            summary="Corrected a verb")
        return document

    def test_earlier_revision_is_marked_and_links_to_current(self, client, revised):
        _, tree = page(client, "/frus1958-60v18/d142/r/1/")
        banner = text(tree.xpath("//*[contains(@class,'revision-banner')]")[0])
        assert "revision 1" in banner and "not the current text" in banner
        assert tree.xpath("//div[contains(@class,'revision-banner')]//a[@href='/frus1958-60v18/d142/']")
        assert "Parsons added" in text(tree)

    def test_current_revision_page_has_no_banner(self, client, revised):
        _, tree = page(client, "/frus1958-60v18/d142/r/2/")
        assert not tree.xpath("//*[contains(@class,'revision-banner')]")

    def test_missing_revision_is_404(self, client, revised):
        assert client.get("/frus1958-60v18/d142/r/9/").status_code == 404

    def test_history_lists_revisions_newest_first(self, client, revised):
        _, tree = page(client, "/frus1958-60v18/d142/history/")
        rows = [text(tr) for tr in tree.xpath("//table[@class='history']/tbody/tr")]
        assert rows[0].startswith("Revision 2 (current)") and "Corrected a verb" in rows[0]
        assert rows[1].startswith("Revision 1")


class TestDownloads:
    def test_tei_download(self, client, sample_edition):
        response = client.get("/frus1958-60v18/d142.xml")
        assert response["Content-Type"].startswith("application/tei+xml")
        root = etree.fromstring(response.content)
        assert root.find("{http://www.tei-c.org/ns/1.0}teiHeader") is not None
        assert root.xpath("//t:div[@xml:id='d142']", namespaces={"t": "http://www.tei-c.org/ns/1.0"})
        assert client.get("/frus1958-60v18/d142.xml",
                          HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    def test_plain_text_download(self, client, sample_edition):
        response = client.get("/frus1958-60v18/d142.txt")
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        body = response.content.decode()
        assert body.startswith("142. Memorandum of Conversation[Source]\n")
        assert "\n[Page 276]\n" in body
        assert re.search(r"^  \[Source\] Source: Department of State", body, re.M)
        assert re.search(r"^  \[1\] Telegram 515", body, re.M)


class TestSignedInReader:
    def test_signed_in_page_names_the_user_and_is_private(self, client, sample_edition):
        user = get_user_model().objects.create_user("ed", password="x-long-password")
        client.force_login(user)
        response, tree = page(client, URL)
        assert "Signed in as ed" in text(tree)
        assert "private" in response["Cache-Control"]


class TestPageCache:
    def test_anonymous_page_is_served_without_queries(self, client, sample_edition):
        first = client.get(URL)
        with CaptureQueriesContext(connection) as queries:
            again = client.get(URL)
        assert len(queries) == 0
        assert again.content == first.content and again["ETag"] == first["ETag"]
        assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_a_new_revision_retires_its_own_page_only(self, client, sample_edition):
        """(tests/edition/test_page_invalidation.py says what else retires a page.)"""
        client.get(URL)
        client.get("/frus1958-60v18/d144/")
        d144 = Document.objects.with_current().get(xml_id="d144")
        d144.add_revision(d144.current_revision.tei.replace("Kishi</persName> mentioned",
                     "Kishi</persName> noted"), by=None, summary="x")
        with CaptureQueriesContext(connection) as queries:
            client.get(URL)
        assert len(queries) == 0  # d142 shows nothing of d144's text
        with CaptureQueriesContext(connection) as queries:
            client.get("/frus1958-60v18/d144/")
        assert len(queries) > 0  # rebuilt

    def test_signed_in_readers_are_not_served_the_shared_page(self, client, sample_edition):
        client.get(URL)
        client.force_login(get_user_model().objects.create_user("ed", password="x-long-pass"))
        assert "Signed in as ed" in text(html.fromstring(client.get(URL).content))


class TestFavicon:
    def test_favicon_ico_is_served_not_404(self, client, db):
        from django.contrib.staticfiles import finders

        response = client.get("/favicon.ico")
        assert response.status_code == 302
        path = response["Location"].split("/static/", 1)[1]
        assert finders.find(path), path  # the test client serves no static files

    def test_pages_link_the_icon(self, client, sample_edition):
        _, tree = page(client, "/")
        hrefs = tree.xpath("//link[@rel='icon']/@href")
        assert any(h.endswith(".svg") for h in hrefs) and any(h.endswith(".ico") for h in hrefs)


def assert_names_contain_visible_text(tree):
    """WCAG 2.5.3 (axe's label-content-name-mismatch): an accessible name set by aria-label
    contains the words the link shows, so speech users can say what they see."""
    labelled = tree.xpath("//a[@aria-label]")
    assert labelled
    def words(value: str) -> str:  # as axe compares: case and punctuation aside
        return " ".join(re.sub(r"[^\w\s]", " ", value).lower().split())

    for link in labelled:
        assert words(text(link)) in words(link.get("aria-label")), (
            text(link), link.get("aria-label"))


def test_download_links_are_named_by_what_they_show(client, sample_edition):
    _, tree = page(client, URL)
    assert tree.xpath("//a[@aria-label='TXT: Document 142 as Plain text']")
    assert_names_contain_visible_text(tree)


def test_exports_page_links_are_named_by_what_they_show(client, sample_edition, settings):
    from edition.exporting import builds

    settings.EMEND_EXPORT_FORMATS = ["tei", "txt"]
    builds.run(sample_edition.pk)
    _, tree = page(client, "/frus1958-60v18/exports/")
    assert tree.xpath("//a[@aria-label='txt: Document 142 as Plain text']")
    assert_names_contain_visible_text(tree)
