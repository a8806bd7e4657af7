"""The review queue: who sees it, filters, counts, keyset pages, row decisions, batch approval.

Decided here: the queue and batch approval are for reviewers and admins; an editor or a member
of no edition gets 403 (the queue lists editions, not one object whose existence could leak).
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree, html

from edition.imports import create_document
from edition.models import Document, Edition
from edition.tei.selectors import selector
from review.actions.propose import ChangeSpec, do_propose
from review.models import Change, Event, Proposal
from tests.helpers import make_member, sample_document, text_spec
from review.actions.decide import do_reject

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = "<script>alert('x')</script>"
QUEUE = "/review/queue/"


def act(p, action: str) -> str:
    """The address of an action on a proposal; the queue's row forms post there with row=1."""
    return f"/review/proposals/{p.pk}/{action}/"
BATCH = "/review/batch-approve/"


def document(edition, xml_id="d142") -> Document:
    return Document.objects.select_related("current_revision").get(edition=edition, xml_id=xml_id)


def propose(edition, author, exact, replacement, *, rationale="Typo", doc="d142", occurrence=0):
    d = document(edition, doc)
    return do_propose(
        d, author=author, base_revision=d.current_revision.number, rationale=rationale,
        changes=[text_spec(d.current_revision, exact, replacement, occurrence=occurrence)])


def bulk_pending(edition, authors, count: int) -> list[Proposal]:
    """`count` pending one-word corrections spread over two documents, created in bulk."""
    made = []
    for i in range(count):
        d = document(edition, ("d142", "d144")[i % 2])
        revision = d.current_revision
        words = [(m.start(), m.end()) for m in re.finditer(r"[a-z]{4,}", revision.text)]
        start, end = words[i // 2 % len(words)]
        p = Proposal.objects.create(document=d, author=authors[i % len(authors)],
                                    revision=revision, rationale=f"Fix {i}")
        Change.objects.create(proposal=p, kind="text", start=start, end=end,
                              content=revision.text[start:end].upper(),
                              **selector(revision.text, start, end))
        Event.objects.create(proposal=p, actor=p.author, kind=Event.Kind.CREATED)
        made.append(p)
    return made


def other_edition_proposal(author):
    """A proposal in an edition none of the personas belongs to."""
    other = Edition.objects.create(slug="other-volume", title="Other", tei_header="<teiHeader/>",
                                   tei_skeleton="<TEI/>")
    tei = etree.tostring(sample_document("d142"), encoding="unicode")
    d = create_document(other, "d142", tei, {"title": "Memo", "number": 142}, order=1, by=None,
                        summary="import")
    make_member(other, "outsider", "editor")
    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.get(username="outsider")
    return do_propose(d, author=outsider, base_revision=1, rationale="elsewhere",
                      changes=[text_spec(d.current_revision, "Secretary Herter", "Herter")])


def rows(response) -> list[str]:
    tree = html.fromstring(response.content)
    return tree.xpath("//table[@id='queue-table']/tbody/tr/@data-proposal")


class TestPermissions:
    def test_anonymous_is_sent_to_sign_in(self, client, people):
        for response in (client.get(QUEUE), client.post(BATCH, {"proposal": "1"}),
                         client.post("/review/proposals/1/approve/", {"row": "1"})):
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")

    @pytest.mark.parametrize("who", ["editor", "stranger"])
    def test_non_reviewers_get_403(self, client, people, who):
        p = propose(people.editor.memberships.get().edition, people.reviewer, "Secretary Herter",
                    "Herter")
        client.force_login(getattr(people, who))
        assert client.get(QUEUE).status_code == 403
        assert client.post(BATCH, {"proposal": str(p.pk)}).status_code == 403
        # The proposal's own address: outside its edition it does not exist (404).
        expected = 403 if who == "editor" else 404
        assert client.post(act(p, "approve"), {"row": "1"}).status_code == expected
        assert Proposal.objects.get(pk=p.pk).status == "pending"

    @pytest.mark.parametrize("who", ["reviewer", "admin"])
    def test_reviewers_and_admins_see_the_queue(self, client, people, who):
        p = propose(people.editor.memberships.get().edition, people.editor, "Secretary Herter",
                    "Herter")
        client.force_login(getattr(people, who))
        response = client.get(QUEUE)
        assert response.status_code == 200
        assert rows(response) == [str(p.pk)]

    def test_proposals_of_other_editions_are_not_listed_nor_decidable(self, client, people):
        foreign = other_edition_proposal(people.editor)
        client.force_login(people.reviewer)
        assert rows(client.get(QUEUE + "?status=all")) == []
        response = client.post(act(foreign, "approve"), {"row": "1"})
        assert response.status_code == 404
        report = client.post(BATCH, {"proposal": [str(foreign.pk)]}, **HTMX)
        assert b"not found among the proposals you review" in report.content
        assert Proposal.objects.get(pk=foreign.pk).status == "pending"

    def test_reviewer_cannot_approve_own_from_the_queue(self, client, people, sample_edition):
        own = propose(sample_edition, people.reviewer, "Secretary Herter", "Herter")
        client.force_login(people.reviewer)
        tree = html.fromstring(client.get(QUEUE).content)
        assert not tree.xpath(f"//tr[@data-proposal='{own.pk}']//button[@value='approve']")
        response = client.post(act(own, "approve"), {"row": "1"})
        assert response.status_code == 403
        assert Proposal.objects.get(pk=own.pk).status == "pending"


class TestListing:
    def test_row_shows_document_kind_author_diff_and_approvals(self, client, people,
                                                               sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        tree = html.fromstring(client.get(QUEUE).content)
        [row] = tree.xpath(f"//tr[@data-proposal='{p.pk}']")
        text = " ".join(row.text_content().split())
        assert "Document 142" in text and "Text correction" in text and "editor" in text
        assert "0 of 1" in text
        assert row.xpath(".//del[text()='Secretary Herter']")
        assert row.xpath(".//ins[text()='Mr. Herter']")
        assert row.xpath(f".//a[@href='/review/proposals/{p.pk}/']")

    def test_context_changed_flag(self, client, people, sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        Proposal.objects.filter(pk=p.pk).update(context_changed=True)
        client.force_login(people.reviewer)
        assert b"context changed" in client.get(QUEUE).content

    def test_filters(self, client, people, sample_edition):
        a = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        b = propose(sample_edition, people.reviewer2, "Prime Minister Kishi", "Kishi", doc="d144")
        d = document(sample_edition, "d144")
        point = d.current_revision.text.index("hurricanes.") + len("hurricanes.")
        c = do_propose(d, author=people.editor, base_revision=d.current_revision.number,
                       rationale="note",
                       changes=[ChangeSpec("note-add", point, point, "A note")])
        Proposal.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=10))
        client.force_login(people.reviewer)
        assert set(rows(client.get(QUEUE))) == {str(a.pk), str(b.pk), str(c.pk)}
        assert rows(client.get(QUEUE + "?document=d144")) == [str(b.pk), str(c.pk)]
        assert rows(client.get(QUEUE + "?author=reviewer2")) == [str(b.pk)]
        assert rows(client.get(QUEUE + "?kind=note-add")) == [str(c.pk)]
        assert rows(client.get(QUEUE + "?older_than=7")) == [str(a.pk)]
        assert len(rows(client.get(QUEUE + "?edition=frus1958-60v18"))) == 3
        assert rows(client.get(QUEUE + "?edition=nope")) != []  # an invalid filter is ignored

    def test_status_filter_and_counts(self, client, people, sample_edition):
        a = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        b = propose(sample_edition, people.editor, "Prime Minister Kishi", "Kishi", doc="d144")
        do_reject(b, by=people.reviewer, reason="no")
        client.force_login(people.reviewer)
        response = client.get(QUEUE)
        assert rows(response) == [str(a.pk)]
        counts = {c["value"]: c["n"] for c in response.context["counts"]}
        assert counts["pending"] == 1 and counts["rejected"] == 1 and response.context["total"] == 2
        assert rows(client.get(QUEUE + "?status=rejected")) == [str(b.pk)]
        assert rows(client.get(QUEUE + "?status=all")) == [str(a.pk), str(b.pk)]
        # Counts follow the other filters.
        response = client.get(QUEUE + "?document=d142")
        counts = {c["value"]: c["n"] for c in response.context["counts"]}
        assert counts["rejected"] == 0 and counts["pending"] == 1

    def test_user_text_is_escaped(self, client, people, sample_edition):
        # A replacement holding a tag is refused (markup is a change of its own): the
        # replacement's "<" is escaped all the same.
        propose(sample_edition, people.editor, "Secretary Herter", "Herter <3 & co",
                rationale=f"Why {XSS}")
        client.force_login(people.reviewer)
        body = client.get(QUEUE).content.decode()
        assert "<script>alert" not in body
        assert body.count("&lt;script&gt;") == 1
        assert "<3" not in body and "&lt;3" in body

    def test_shortcuts_are_documented_and_script_loaded(self, client, people):
        client.force_login(people.reviewer)
        tree = html.fromstring(client.get(QUEUE).content)
        [help_] = tree.xpath("//details[@class='shortcuts']")
        assert "j / k" in " ".join(help_.text_content().split())
        assert tree.xpath("//script[contains(@src, 'review/review.js')]")
        assert tree.xpath("//link[contains(@href, 'review/review.css')]")

    def test_htmx_filter_returns_results_only(self, client, people, sample_edition):
        propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        body = client.get(QUEUE + "?status=all", **HTMX).content.decode()
        assert body.lstrip().startswith('<section id="queue-results"')
        assert "<h1" not in body


    def test_long_replacement_and_rationale_are_folded(self, client, people, sample_edition):
        long_text = "hurricane" * 1000
        propose(sample_edition, people.editor, "Secretary Herter", long_text,
                rationale="Because " * 100)
        client.force_login(people.reviewer)
        tree = html.fromstring(client.get(QUEUE).content)
        [row] = tree.cssselect("tr.queue-row")
        [folded] = row.cssselect("details.long-diff")
        assert "16 characters replaced by 9000: show all" in " ".join(
            folded.cssselect("summary")[0].text_content().split())
        assert long_text in folded.cssselect(".long-diff-body")[0].text_content()
        assert row.cssselect("details.rationale .long-diff-body")
        assert not row.cssselect("p.diff")  # nothing unfolded

    def test_short_change_is_not_folded(self, client, people, sample_edition):
        propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        [row] = html.fromstring(client.get(QUEUE).content).cssselect("tr.queue-row")
        assert row.cssselect("p.diff") and not row.cssselect("details.long-diff, details.rationale")


class TestPages:
    def test_keyset_pages_cover_everything_once(self, client, people, sample_edition):
        made = bulk_pending(sample_edition, [people.editor, people.reviewer2], 60)
        client.force_login(people.reviewer)
        seen, url, pages = [], QUEUE, 0
        while url:
            response = client.get(url)
            seen += rows(response)
            pages += 1
            tree = html.fromstring(response.content)
            nxt = tree.xpath("//nav[@class='pager']/a[@rel='next']/@href")
            url = QUEUE + nxt[0] if nxt else None
        assert pages == 3
        assert seen == [str(p.pk) for p in made]  # oldest first, no gaps, no repeats

    def test_previous_page(self, client, people, sample_edition):
        made = bulk_pending(sample_edition, [people.editor], 30)
        client.force_login(people.reviewer)
        first = client.get(QUEUE)
        nxt = html.fromstring(first.content).xpath("//a[@rel='next']/@href")[0]
        second = client.get(QUEUE + nxt)
        assert rows(second) == [str(p.pk) for p in made[25:]]
        prev = html.fromstring(second.content).xpath("//a[@rel='prev']/@href")[0]
        assert rows(client.get(QUEUE + prev)) == rows(first)

    def test_query_count_does_not_grow_with_proposals(self, client, people, sample_edition):
        """3 and 60 pending proposals (a full page of 25): the same number of queries."""
        client.force_login(people.reviewer)
        client.get(QUEUE)  # session and user loading warm, like any later request

        def count(url=QUEUE) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            return len(queries)

        bulk_pending(sample_edition, [people.editor, people.reviewer2, people.admin], 3)
        few = count()
        bulk_pending(sample_edition, [people.editor, people.reviewer2, people.admin], 57)
        many = count()
        response = client.get(QUEUE)
        assert len(rows(response)) == 25
        nxt = html.fromstring(response.content).xpath("//a[@rel='next']/@href")[0]
        assert few == many == count(QUEUE + nxt)
        assert many <= 10


class TestRowDecisions:
    def test_htmx_approve_swaps_the_row(self, client, people, sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.post(act(p, "approve"), {"row": "1"}, **HTMX)
        assert response.status_code == 200
        body = response.content.decode().strip()
        assert body.startswith("<tr") and body.endswith("</tr>")
        assert "Approved and applied as revision 2." in body
        assert "proposalDecided" in response["HX-Trigger"]
        assert Proposal.objects.get(pk=p.pk).status == "approved"

    def test_plain_approve_redirects_back(self, client, people, sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.post(act(p, "approve"), {"row": "1",
                                       "next": "/review/queue/?document=d142"})
        assert response.status_code == 302
        assert response["Location"] == "/review/queue/?document=d142"
        assert "Approved and applied as revision 2" in client.get(response["Location"]).content.decode()

    def test_redirect_stays_on_site(self, client, people, sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.post(act(p, "approve"), {"row": "1",
                                       "next": "https://evil.example/"})
        assert response["Location"] == QUEUE

    def test_reject_needs_a_reason(self, client, people, sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.post(act(p, "reject"), {"row": "1", "reason": ""},
                               **HTMX)
        assert response.status_code == 400 and b"Give a reason" in response.content
        assert Proposal.objects.get(pk=p.pk).status == "pending"
        response = client.post(act(p, "reject"), {"row": "1",
                                       "reason": "Source says so"}, **HTMX)
        assert response.status_code == 200 and b"Rejected;" in response.content
        assert Proposal.objects.get(pk=p.pk).status == "rejected"

    def test_two_approvals_required(self, client, people, sample_edition):
        sample_edition.required_approvals = 2
        sample_edition.save()
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.post(act(p, "approve"), {"row": "1"}, **HTMX)
        assert b"needs more approvals" in response.content and b"1 of 2" in response.content
        again = client.post(act(p, "approve"), {"row": "1"}, **HTMX)
        assert again.status_code == 409 and b"already approved" in again.content
        client.force_login(people.reviewer2)
        client.post(act(p, "approve"), {"row": "1"}, **HTMX)
        assert Proposal.objects.get(pk=p.pk).status == "approved"


    def test_row_decision_refreshes_the_counts(self, client, people, sample_edition):
        propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        [counts] = html.fromstring(client.get(QUEUE + "?author=editor").content).cssselect(
            "#status-counts")
        assert counts.get("hx-trigger") == "proposalDecided from:body"
        assert counts.get("hx-get") == QUEUE + "?author=editor"
        assert counts.get("hx-select") == "#status-counts"

    @pytest.mark.parametrize("url", [QUEUE, "/review/", "/review/mine/", "proposal"])
    def test_review_pages_are_not_stored_for_back(self, client, people, sample_edition, url):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.get(p.get_absolute_url() if url == "proposal" else url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


class TestBatchApprove:
    def test_applies_each_and_reports_conflicts_and_errors(self, client, people, sample_edition):
        first = propose(sample_edition, people.editor, "efforts on the part of the U.S.",
                        "efforts of the United States")
        overlapping = propose(sample_edition, people.editor, "the U.S. in the course",
                              "the U.S. during the course")
        own = propose(sample_edition, people.reviewer, "Secretary Herter", "Mr. Herter")
        disjoint = propose(sample_edition, people.editor, "Prime Minister Kishi", "Kishi",
                           doc="d144")
        client.force_login(people.reviewer)
        ids = [str(p.pk) for p in (disjoint, own, overlapping, first)]
        response = client.post(BATCH, {"proposal": ids, "next": QUEUE})
        assert response.status_code == 302 and response["Location"] == QUEUE
        status = {p.pk: Proposal.objects.get(pk=p.pk).status
                  for p in (first, overlapping, own, disjoint)}
        assert status == {first.pk: "approved", overlapping.pk: "conflicted", own.pk: "pending",
                          disjoint.pk: "approved"}
        messages = [str(m) for m in response.wsgi_request._messages]
        assert f"#{first.pk} on Document 142: applied as revision 2" in messages
        assert f"#{disjoint.pk} on Document 144: applied as revision 2" in messages
        assert any(m.startswith(f"#{overlapping.pk} on Document 142: this proposal is conflicted")
                   for m in messages)
        assert any(m.startswith(f"#{own.pk} on Document 142: You proposed this: another reviewer must decide.") for m in messages)

    def test_htmx_batch_returns_the_report(self, client, people, sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        response = client.post(BATCH, {"proposal": [str(p.pk)]}, **HTMX)
        body = response.content.decode().strip()
        assert body.startswith('<div id="batch-report"') and "applied as revision 2" in body
        assert f"#{p.pk} on Document 142</a>: applied as revision 2" in body
        assert "proposalsApproved" in response["HX-Trigger"]

    def test_queue_has_batch_checkboxes_bound_to_the_batch_form(self, client, people,
                                                                sample_edition):
        p = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        tree = html.fromstring(client.get(QUEUE).content)
        [box] = tree.xpath(f"//tr[@data-proposal='{p.pk}']//input[@type='checkbox']")
        assert box.get("form") == "batch-form" and box.get("value") == str(p.pk)
        assert tree.xpath("//form[@id='batch-form'][@action='/review/batch-approve/']")

    def test_get_is_not_allowed(self, client, people):
        client.force_login(people.reviewer)
        assert client.get(BATCH).status_code == 405


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestKeyboardInBrowser:
    def test_j_a_approves_in_place_r_opens_reason_x_selects(self, live_server, client, people,
                                                            sample_edition):
        from tests.browser import chromium_page

        first = propose(sample_edition, people.editor, "Secretary Herter", "Mr. Herter")
        second = propose(sample_edition, people.editor, "Prime Minister Kishi", "Kishi", doc="d144")
        client.force_login(people.reviewer)
        with chromium_page() as page:
            page.context.add_cookies([{"name": "sessionid", "url": live_server.url,
                                       "value": client.cookies["sessionid"].value}])
            page.goto(f"{live_server.url}{QUEUE}")
            page.keyboard.press("j")
            page.keyboard.press("a")
            page.wait_for_selector(f"#proposal-{first.pk} >> text=Approved and applied as revision 2.")
            assert page.url.endswith(QUEUE)  # swapped in place, no reload
            # The counts follow the decision without a reload.
            page.wait_for_function("""() => {
              const items = [...document.querySelectorAll('#status-counts li')].map(li => li.textContent.replace(/\\s+/g, ' ').trim());
              return items.includes('Pending 1') && items.includes('Approved 1');
            }""", timeout=5000)
            page.keyboard.press("j")
            page.keyboard.press("x")
            assert page.is_checked(f"#proposal-{second.pk} input[type=checkbox]")
            page.keyboard.press("r")
            assert page.evaluate("document.activeElement.id") == f"reason-{second.pk}"
            page.keyboard.type("a j k")  # typing in the field is not a shortcut
            assert Proposal.objects.get(pk=second.pk).status == "pending"
            page.keyboard.press("Escape")
            page.click("#batch-form button[type=submit]")
            page.wait_for_selector("#batch-report >> text=applied as revision 2")
        assert Proposal.objects.get(pk=second.pk).status == "approved"
