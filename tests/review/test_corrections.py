"""The public corrections logs: each approved change, before → after, why, and when.

A reader who cited an earlier revision asks the document's log what changed since (`?since=N`);
the edition's log pages through every document's corrections in a constant number of queries.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import html

from edition.models import Document
from review import corrections
from edition.changes import Step
from review.actions.propose import ChangeSpec, do_propose
from tests.helpers import text_spec
from review.actions.approve import do_approve

pytestmark = pytest.mark.django_db
XSS = "<script>alert('x')</script>"
LOOSE = "Herter <3 & co"  # not markup (a text correction holding a tag is refused), still escaped
D142 = "/frus1958-60v18/d142"
LOG = f"{D142}/corrections/"
EDITION_LOG = "/frus1958-60v18/corrections/"


def approve(people, exact, replacement, *, doc="d142", rationale="Typo in the source", specs=None):
    document = Document.objects.select_related("current_revision").get(xml_id=doc)
    revision = document.current_revision
    proposal = do_propose(
        document, author=people.editor, base_revision=revision.number, rationale=rationale,
        changes=specs(revision) if specs else [text_spec(revision, exact, replacement)])
    return do_approve(proposal, by=people.reviewer)


def entries(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return html.fromstring(response.content).xpath("//article[@class='correction']")


def words(element) -> str:
    return " ".join(element.text_content().split())


class TestDocumentLog:
    def test_anonymous_reads_before_after_rationale_and_links(self, client, people):
        approve(people, "Secretary Herter", "Mr. Herter", rationale="House style")
        [entry] = entries(client, LOG)
        assert entry.xpath(".//del[text()='Secretary']") or entry.xpath(
            ".//del[contains(., 'Secretary')]")
        assert entry.xpath(".//ins[contains(., 'Mr.')]")
        assert "Herter expressed appreciation" in words(entry)  # context after the change
        assert "House style" in words(entry)
        assert entry.xpath(f".//a[@href='{D142}/r/2/']")
        assert entry.xpath(f".//a[@href='{D142}/diff/1/2/#change-1']")
        assert "Text correction" in words(entry)

    def test_newest_first_and_only_approved(self, client, people):
        approve(people, "Secretary Herter", "Mr. Herter")
        approve(people, "Foreign Minister Fujiyama", "Fujiyama")
        document = Document.objects.select_related("current_revision").get(xml_id="d142")
        do_propose(document, author=people.editor, base_revision=3, rationale="pending",
                   changes=[text_spec(document.current_revision, "Mr. Parsons", "Parsons")])
        found = entries(client, LOG)
        assert [e.get("id") for e in found] == ["r3", "r2"]
        assert "pending" not in " ".join(words(e) for e in found)

    def test_since_shows_what_changed_after_a_cited_revision(self, client, people):
        approve(people, "Secretary Herter", "Mr. Herter")
        approve(people, "Foreign Minister Fujiyama", "Fujiyama")
        approve(people, "Mr. Parsons", "Parsons")
        assert [e.get("id") for e in entries(client, LOG + "?since=2")] == ["r4", "r3"]
        tree = html.fromstring(client.get(LOG + "?since=2").content)
        assert tree.xpath(f"//a[@href='{D142}/diff/2/4/#change-1']")
        assert entries(client, LOG + "?since=4") == []
        assert "No correction since revision 4" in words(html.fromstring(
            client.get(LOG + "?since=4").content))

    def test_invalid_since_shows_everything_with_a_note(self, client, people):
        approve(people, "Secretary Herter", "Mr. Herter")
        response = client.get(LOG + "?since=abc")
        assert response.status_code == 400
        assert "must be a revision number" in words(html.fromstring(response.content))
        assert len(html.fromstring(response.content).xpath("//article[@class='correction']")) == 1

    def test_since_form_is_a_plain_get_form(self, client, people):
        tree = html.fromstring(client.get(LOG).content)
        [form] = tree.xpath("//form[@class='since-form']")
        assert form.get("method") == "get" and form.xpath(".//input[@name='since']")
        assert "No correction has been approved yet" in words(tree)

    def test_footnote_changes_are_listed(self, client, people):
        point = Document.objects.get(xml_id="d142").current_revision.text.index(
            "to north Korea.") + 15
        approve(people, "", "", specs=lambda r: [ChangeSpec("note-add", point, point,
                                                            "A new note.")])
        [entry] = entries(client, LOG)
        assert "Footnote 1 added: A new note." in words(entry)

    def test_user_text_is_escaped(self, client, people):
        approve(people, "Secretary Herter", LOOSE, rationale=f"Because {XSS}")
        response = client.get(LOG)
        assert b"<script>alert" not in response.content and b"<3" not in response.content
        assert b"&lt;script&gt;" in response.content and b"&lt;3" in response.content

    def test_etag_revalidates_until_the_next_approval(self, client, people):
        approve(people, "Secretary Herter", "Mr. Herter")
        first = client.get(LOG)
        assert "max-age=0" in first["Cache-Control"] and "public" in first["Cache-Control"]
        assert client.get(LOG, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        approve(people, "Mr. Parsons", "Parsons")
        assert client.get(LOG, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200

    def test_unknown_document_is_404(self, client, people):
        assert client.get("/frus1958-60v18/d999/corrections/").status_code == 404


class TestEditionLog:
    def test_lists_every_document(self, client, people):
        approve(people, "Secretary Herter", "Mr. Herter")
        approve(people, "Prime Minister Kishi", "Kishi", doc="d144")
        found = entries(client, EDITION_LOG)
        assert [e.get("id") for e in found] == ["r2-d144", "r2-d142"]
        assert found[0].xpath(".//a[@href='/frus1958-60v18/d144/']")

    def test_pages(self, client, people, monkeypatch):
        from review.views import history

        monkeypatch.setattr(history, "PAGE_SIZE", 2)
        for old, new in [("Secretary Herter", "Mr. Herter"), ("Mr. Parsons", "Parsons"),
                         ("Foreign Minister Fujiyama", "Fujiyama")]:
            approve(people, old, new)
        assert [e.get("id") for e in entries(client, EDITION_LOG)] == ["r4-d142", "r3-d142"]
        tree = html.fromstring(client.get(EDITION_LOG).content)
        assert tree.xpath("//a[@rel='next' and @href='?page=2']")
        assert [e.get("id") for e in entries(client, EDITION_LOG + "?page=2")] == ["r2-d142"]
        assert [e.get("id") for e in entries(client, EDITION_LOG + "?page=x")] == ["r4-d142",
                                                                                   "r3-d142"]

    def test_queries_do_not_grow_with_entries(self, client, people):
        def count() -> int:
            # Nothing cached: the page, its stamps (two queries, each read again once stored:
            # edition/pagecache.py `_values`) and the entries all read from the database
            # (tests/review/test_cached_logs.py: the cached paths).
            cache.clear()
            with CaptureQueriesContext(connection) as queries:
                assert client.get(EDITION_LOG).status_code == 200
            return len(queries)

        point = Document.objects.get(xml_id="d144").current_revision.text.index(
            "hurricanes.") + 11
        approve(people, "", "", doc="d144", specs=lambda r: [ChangeSpec("note-add", point, point,
                                                                        "A note.")])
        approve(people, "Secretary Herter", "Mr. Herter")
        few = count()
        for old, new in [("Mr. Parsons", "Parsons"), ("Foreign Minister Fujiyama", "Fujiyama"),
                         ("Prime Minister Kishi", "Kishi")]:
            approve(people, old, new, doc="d144" if "Kishi" in old else "d142")
        assert count() == few <= 12

    def test_unknown_edition_is_404(self, client, db):
        assert client.get("/nope/corrections/").status_code == 404


class TestBeforeAfter:
    def test_steps_of_a_multi_change_proposal_are_placed_in_the_new_text(self):
        # Applied last position first: the second step moves the first one's new text.
        parent = "aaa bbb ccc"
        new = "aaa BBBB CC"
        steps = [Step(8, 3, 2), Step(4, 3, 4)]
        assert corrections.placed_steps(steps) == [(steps[0], 9), (steps[1], 4)]
        snippets = corrections.change_snippets(parent, new, steps)
        assert snippets == ["aaa <del>bbb</del><ins>BBBB</ins> ccc",
                            "aaa bbb <del>ccc</del><ins>CC</ins>"]

    def test_note_renames_compose(self):
        first = {"d1fn1": "d1fn2", "d1fn2": "d1fn3"}  # a note added before footnote 1
        second = {"d1fn3": "d1fn2"}  # then footnote 2 (the old footnote 1) removed
        composed = corrections.compose_renames(first, second)
        assert corrections.image_of("d1fn1", composed) is None
        assert corrections.image_of("d1fn2", composed) == "d1fn2"
        assert corrections.image_of("d1fn1", {"d1fn2": "d1fn1"}) is None
        assert corrections.image_of("d1fn3", {"d1fn2": "d1fn1"}) == "d1fn3"
