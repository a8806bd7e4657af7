"""The dashboard (/review/): what waits for a reviewer, one's own proposals; "my proposals"."""

from types import SimpleNamespace

import pytest
from lxml import html

from edition.models import Document
from review.actions.propose import do_propose
from review.actions.retarget import do_retarget
from review.models import Proposal
from tests.helpers import text_spec
from review.actions.approve import do_approve
from review.actions.decide import do_reject, do_request_changes

pytestmark = pytest.mark.django_db
DASHBOARD = "/review/"
MINE = "/review/mine/"
XSS = "<script>alert('x')</script>"
LOOSE = "<3 & co"  # not markup (a text correction holding a tag is refused), still escaped


def propose(edition, author, exact, replacement, *, rationale="Typo", doc="d142"):
    d = Document.objects.select_related("current_revision").get(edition=edition, xml_id=doc)
    return do_propose(d, author=author, base_revision=d.current_revision.number,
                      changes=[text_spec(d.current_revision, exact, replacement)],
                      rationale=rationale)


def waiting_ids(response) -> list[int]:
    return [row.proposal.pk for row in response.context["waiting"]]


class TestPermissions:
    @pytest.mark.parametrize("url", [DASHBOARD, MINE])
    def test_anonymous_is_sent_to_sign_in(self, client, people, url):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_stranger_sees_an_empty_dashboard(self, client, people, sample_edition):
        propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.stranger)
        response = client.get(DASHBOARD)
        assert response.status_code == 200
        assert b"Waiting for you" not in response.content
        assert b"You have not proposed anything yet" in response.content
        assert client.get(MINE).context["rows"] == []

    def test_editor_is_not_shown_a_review_list(self, client, people, sample_edition):
        propose(sample_edition, people.reviewer, "Secretary Herter", "Mr. Herter")
        client.force_login(people.editor)
        assert b"Waiting for you" not in client.get(DASHBOARD).content

    def test_post_is_not_allowed(self, client, people):
        client.force_login(people.reviewer)
        assert client.post(DASHBOARD).status_code == 405
        assert client.post(MINE).status_code == 405


class TestHeader:
    """One header on every page; the queue link only for people who review somewhere."""

    def header_links(self, response) -> list[str]:
        assert response.status_code == 200
        assert b"{#" not in response.content and b"#}" not in response.content
        tree = html.fromstring(response.content)
        return [a.text_content().strip() for a in tree.cssselect("header.site-header nav a")]

    @pytest.mark.parametrize("url", [DASHBOARD, MINE, "/frus1958-60v18/d142/"])
    def test_editor_sees_no_queue_link(self, client, people, url):
        client.force_login(people.editor)
        links = self.header_links(client.get(url))
        assert "Queue" not in links and "Review" in links and "My proposals" in links

    @pytest.mark.parametrize("url", [DASHBOARD, MINE, "/frus1958-60v18/d142/"])
    def test_reviewer_sees_the_queue_link_on_every_page(self, client, people, url):
        client.force_login(people.reviewer)
        assert "Queue" in self.header_links(client.get(url))

    def test_current_page_is_marked(self, client, people):
        client.force_login(people.reviewer)
        tree = html.fromstring(client.get(MINE).content)
        assert [a.text_content() for a in tree.cssselect("header a[aria-current=page]")] == [
            "My proposals"]

    def test_editor_opening_the_queue_gets_a_page_saying_why(self, client, people):
        client.force_login(people.editor)
        response = client.get("/review/queue/")
        assert response.status_code == 403
        tree = html.fromstring(response.content)
        assert tree.cssselect("header.site-header")
        assert "for reviewers and edition admins" in tree.cssselect("main")[0].text_content()
        assert tree.cssselect('main a[href="/review/"]')

    def test_not_found_page_has_the_header_and_a_way_on(self, client, people):
        client.force_login(people.stranger)
        response = client.get("/review/proposals/999999/")
        assert response.status_code == 404
        tree = html.fromstring(response.content)
        assert tree.cssselect("header.site-header") and tree.cssselect('main a[href="/"]')


class TestWaitingForYou:
    def test_lists_others_pending_not_own(self, client, people, sample_edition):
        others = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        propose(sample_edition, people.reviewer, "Prime Minister Kishi", "Kishi", doc="d144")
        client.force_login(people.reviewer)
        response = client.get(DASHBOARD)
        assert waiting_ids(response) == [others.pk]
        assert response.context["waiting_total"] == 1
        tree = html.fromstring(response.content)
        assert tree.xpath(f"//a[@href='/review/proposals/{others.pk}/']")
        assert tree.xpath("//a[@href='/review/queue/?edition=frus1958-60v18']")

    def test_own_approval_removes_it_until_resubmitted(self, client, people, sample_edition):
        sample_edition.required_approvals = 2
        sample_edition.save()
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        do_approve(p, by=people.reviewer)
        client.force_login(people.reviewer)
        assert waiting_ids(client.get(DASHBOARD)) == []
        client.force_login(people.reviewer2)
        assert waiting_ids(client.get(DASHBOARD)) == [p.pk]
        do_request_changes(p, by=people.reviewer2, reason="Cite it")
        assert waiting_ids(client.get(DASHBOARD)) == []
        head = Document.objects.get(pk=p.document_id).current_revision
        do_retarget(p, by=people.editor, changes=[text_spec(head, "Secretary Herter", "Mr. Herter")],
                    base_revision=head.number)
        client.force_login(people.reviewer)  # a resubmission starts the count again
        assert waiting_ids(client.get(DASHBOARD)) == [p.pk]

    def test_user_text_is_escaped(self, client, people, sample_edition):
        propose(sample_edition, people.editor, "Secretary Herter", f"Herter {LOOSE}",
                rationale=f"Why {XSS}")
        client.force_login(people.reviewer)
        body = client.get(DASHBOARD).content.decode()
        assert "<script>alert" not in body and body.count("&lt;script&gt;") == 1
        assert "<3" not in body and "&lt;3" in body
        client.force_login(people.editor)
        for url in (DASHBOARD, MINE):
            body = client.get(url).content.decode()
            assert "<script>alert" not in body and "&lt;script&gt;" in body


class TestOwnProposals:
    @pytest.fixture
    def mine(self, sample_edition, people):
        first = propose(sample_edition, people.reviewer, "efforts on the part of the U.S.",
                        "efforts of the United States")
        conflicted = propose(sample_edition, people.editor, "the U.S. in the course",
                             "the U.S. during the course")
        pending = propose(sample_edition, people.editor, "Prime Minister Kishi", "Kishi",
                          doc="d144")
        rejected = propose(sample_edition, people.editor, "Secretary Herter", "Herter", doc="d144")
        do_reject(rejected, by=people.reviewer, reason=f"No {XSS}")
        do_approve(first, by=people.admin)
        return SimpleNamespace(conflicted=conflicted, pending=pending, rejected=rejected)

    def test_conflicted_first_with_a_retarget_link(self, client, people, mine):
        client.force_login(people.editor)
        response = client.get(DASHBOARD)
        listed = [p.pk for p in response.context["mine"]]
        assert listed[0] == mine.conflicted.pk and set(listed) == {
            mine.conflicted.pk, mine.pending.pk, mine.rejected.pk}
        counts = {c["value"]: c["n"] for c in response.context["counts"]}
        assert counts == {**counts, "conflicted": 1, "pending": 1, "rejected": 1}
        tree = html.fromstring(response.content)
        assert tree.xpath(f"//a[@href='/review/proposals/{mine.conflicted.pk}/retarget/']")
        assert tree.xpath("//a[@href='/review/mine/?status=conflicted']")

    def test_my_proposals_filters_by_status(self, client, people, mine):
        client.force_login(people.editor)

        def ids(response):
            return [row.proposal.pk for row in response.context["rows"]]

        assert ids(client.get(MINE)) == [mine.conflicted.pk, mine.pending.pk, mine.rejected.pk]
        assert ids(client.get(MINE + "?status=rejected")) == [mine.rejected.pk]
        assert ids(client.get(MINE + "?document=d142")) == [mine.conflicted.pk]
        # Only one's own: the reviewer's approved proposal is not the editor's.
        client.force_login(people.reviewer)
        assert [Proposal.objects.get(pk=i).status for i in ids(client.get(MINE))] == ["approved"]


def test_my_proposals_status_select_matches_the_active_tab(client, people, sample_edition):
    propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
    client.force_login(people.editor)
    tree = html.fromstring(client.get(MINE).content)
    [selected] = tree.cssselect("select[name=status] option[selected]")
    assert selected.get("value") == "all"
    assert [a.text_content() for a in tree.cssselect(".status-counts a[aria-current]")] == ["All"]
    tree = html.fromstring(client.get(MINE + "?status=pending").content)
    assert tree.cssselect("select[name=status] option[selected]")[0].get("value") == "pending"
    assert [a.text_content() for a in tree.cssselect(".status-counts a[aria-current]")] == [
        "Pending"]


def test_a_waiting_batch_is_one_item_not_a_row_per_document(client, people, sample_edition):
    """As in the queue: the reviewer decides a batch on its page, so the dashboard lists it
    once, beside the single proposals."""
    from review import batches

    found = batches.matches(sample_edition, "Memorandum", "Memorandvm")
    assert len({m.document.pk for m in found}) >= 2
    resolved = batches.resolve(sample_edition, [m.token for m in found], find="Memorandum",
                               replacement="Memorandvm")
    batch = batches.create_batch(people.editor, sample_edition, "Old spelling", resolved,
                                 find="Memorandum", replacement="Memorandvm").batch
    single = propose(sample_edition, people.editor2, "Herter", "Herter,")
    client.force_login(people.reviewer)
    response = client.get(DASHBOARD)
    assert waiting_ids(response) == [single.pk]
    page = html.fromstring(response.content)
    items = page.cssselect(".waiting .batch-item a")
    assert [a.get("href") for a in items] == [batch.get_absolute_url()]
    # Its author has nothing of it waiting for them.
    client.force_login(people.editor)
    assert client.get(DASHBOARD).context["batches"] == []
