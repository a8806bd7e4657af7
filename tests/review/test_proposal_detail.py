"""The proposal page: diffs in context, the decision panel, permissions, re-targeting.

Decided here: every member of the edition may comment (editors too: they answer reviewers'
questions on their own proposals and discuss others'); only reviewers and admins decide, never on
their own proposal; only the author withdraws or re-targets.
"""


import pytest
from lxml import html

from edition.models import Document
from review.actions.propose import ChangeSpec, do_propose
from review.models import Change, Event, Proposal
from tests.helpers import text_spec
from review.actions.approve import do_approve
from review.actions.comment import do_comment
from review.actions.decide import do_reject, do_request_changes

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = "<script>alert('x')</script>"


def document(edition, xml_id="d142") -> Document:
    return Document.objects.select_related("current_revision").get(edition=edition, xml_id=xml_id)


def propose(edition, author, exact, replacement, *, rationale="Typo in the source", doc="d142"):
    d = document(edition, doc)
    return do_propose(d, author=author, base_revision=d.current_revision.number,
                      changes=[text_spec(d.current_revision, exact, replacement)],
                      rationale=rationale)


@pytest.fixture
def proposal(sample_edition, people):
    return propose(sample_edition, people.editor, "the Japanese Government",
                   "the Government of Japan")


def url(p):
    return f"/review/proposals/{p.pk}/"


# Each action has its own address (review/urls.py).
ADDRESS = {"approve": "approve", "reject": "reject", "changes": "request-changes",
           "comment": "comment", "withdraw": "withdraw"}


def post(client, user, p, action, data=None, **extra):
    client.force_login(user)
    return client.post(f"{url(p)}{ADDRESS[action]}/", data or {}, **extra)


def status_of(p) -> str:
    return Proposal.objects.get(pk=p.pk).status


class TestPermissions:
    def test_anonymous_is_sent_to_sign_in(self, client, proposal):
        response = client.get(url(proposal))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_stranger_gets_404_for_page_and_posts(self, client, people, proposal):
        client.force_login(people.stranger)
        assert client.get(url(proposal)).status_code == 404
        for action in ADDRESS.values():
            assert client.post(f"{url(proposal)}{action}/", {"reason": "x", "body": "x"}
                               ).status_code == 404
        assert client.get(f"{url(proposal)}retarget/").status_code == 404
        assert status_of(proposal) == "pending"

    def test_unknown_proposal_is_404(self, client, people, proposal):
        client.force_login(people.reviewer)
        assert client.get("/review/proposals/999999/").status_code == 404

    def test_editor_sees_page_without_decision_buttons(self, client, people, proposal):
        other = propose(proposal.document.edition, people.reviewer, "Secretary Herter",
                        "Mr. Herter")
        client.force_login(people.editor)
        response = client.get(url(other))
        assert response.status_code == 200
        panel = html.fromstring(response.content).get_element_by_id("decision-panel")
        assert not panel.xpath(".//button[@value='approve']")
        assert "Only reviewers of this edition decide" in panel.text_content()

    @pytest.mark.parametrize("action", ["approve", "reject", "changes"])
    def test_editor_cannot_decide_by_forged_post(self, client, people, action):
        edition = people.editor.memberships.get().edition
        other = propose(edition, people.reviewer, "Secretary Herter", "Mr. Herter")
        response = post(client, people.editor, other, action, {"reason": "no"})
        assert response.status_code == 403
        assert status_of(other) == "pending"
        assert not other.events.exclude(kind=Event.Kind.CREATED).exists()

    def test_editor_may_comment(self, client, people, proposal):
        other = propose(proposal.document.edition, people.reviewer, "Secretary Herter",
                        "Mr. Herter")
        response = post(client, people.editor, other, "comment", {"body": "Agreed."})
        assert response.status_code == 302
        assert other.events.get(kind=Event.Kind.COMMENTED).body == "Agreed."

    def test_reviewer_cannot_approve_own(self, client, people, sample_edition):
        own = propose(sample_edition, people.reviewer, "Secretary Herter", "Mr. Herter")
        client.force_login(people.reviewer)
        page = html.fromstring(client.get(url(own)).content)
        panel = page.get_element_by_id("decision-panel")
        assert "another reviewer must decide" in panel.text_content()
        assert post(client, people.reviewer, own, "approve").status_code == 403
        assert post(client, people.reviewer, own, "reject", {"reason": "x"}).status_code == 403
        assert status_of(own) == "pending"

    def test_nobody_but_the_author_withdraws(self, client, people, proposal):
        for user in (people.reviewer, people.admin, people.reviewer2):
            assert post(client, user, proposal, "withdraw").status_code == 403
        assert status_of(proposal) == "pending"
        assert post(client, people.editor, proposal, "withdraw").status_code == 302
        assert status_of(proposal) == "withdrawn"

    def test_unknown_action_is_404(self, client, people, proposal):
        client.force_login(people.reviewer)
        assert client.post(f"{url(proposal)}merge/").status_code == 404

    def test_the_page_is_get_only_and_actions_post_only(self, client, people, proposal):
        client.force_login(people.reviewer)
        assert client.put(url(proposal)).status_code == 405
        assert client.post(url(proposal), {"action": "approve"}).status_code == 405
        for action in ADDRESS.values():
            assert client.get(f"{url(proposal)}{action}/").status_code == 405
        assert status_of(proposal) == "pending"


class TestDecisions:
    def test_plain_post_approves_and_redirects_with_message(self, client, people, proposal):
        response = post(client, people.reviewer, proposal, "approve")
        assert response.status_code == 302 and response["Location"] == url(proposal)
        assert status_of(proposal) == "approved"
        page = client.get(url(proposal))
        assert b"Approved and applied as revision 2." in page.content
        head = document(proposal.document.edition).current_revision
        assert "the Government of Japan" in head.text

    def test_htmx_post_returns_decision_panel_only(self, client, people, proposal):
        response = post(client, people.reviewer, proposal, "approve", **HTMX)
        assert response.status_code == 200
        body = response.content.decode()
        assert body.lstrip().startswith('<section id="decision-panel"')
        assert "<html" not in body and "<h1" not in body
        assert "proposalDecided" in response["HX-Trigger"]
        assert "Approved and applied as revision 2." in body

    def test_htmx_comment_returns_panel_with_comment(self, client, people, proposal):
        response = post(client, people.reviewer, proposal, "comment",
                        {"body": "Check the original"}, **HTMX)
        assert response.status_code == 200
        assert "Check the original" in response.content.decode()
        assert "HX-Trigger" not in response

    def test_reject_without_reason_shows_error_and_changes_nothing(self, client, people, proposal):
        for extra in ({}, HTMX):
            response = post(client, people.reviewer, proposal, "reject", {"reason": "  "},
                            **extra)
            assert response.status_code == 400
            assert b"Give a reason" in response.content
        assert status_of(proposal) == "pending"
        assert not proposal.events.filter(kind=Event.Kind.REJECTED).exists()

    def test_reject_with_reason(self, client, people, proposal):
        post(client, people.reviewer, proposal, "reject", {"reason": "The source reads so."})
        proposal.refresh_from_db()
        assert (proposal.status, proposal.status_reason) == ("rejected", "The source reads so.")

    def test_request_changes(self, client, people, proposal):
        post(client, people.admin, proposal, "changes", {"reason": "Cite the source."})
        assert status_of(proposal) == "changes"
        client.force_login(people.editor)
        page = html.fromstring(client.get(url(proposal)).content)
        assert page.xpath(f"//a[@href='/review/proposals/{proposal.pk}/retarget/']")

    def test_two_required_approvals_need_two_distinct_reviewers(self, client, people, proposal):
        edition = proposal.document.edition
        edition.required_approvals = 2
        edition.save()
        response = post(client, people.reviewer, proposal, "approve", **HTMX)
        assert "needs more approvals" in response.content.decode()
        assert "1 of 2 approvals: reviewer" in " ".join(response.content.decode().split())
        assert status_of(proposal) == "pending"
        again = post(client, people.reviewer, proposal, "approve", **HTMX)
        assert again.status_code == 409 and b"already approved" in again.content
        assert status_of(proposal) == "pending"
        post(client, people.reviewer2, proposal, "approve")
        assert status_of(proposal) == "approved"

    def test_deciding_a_closed_proposal_is_409_with_message(self, client, people, proposal):
        post(client, people.reviewer, proposal, "approve")
        response = post(client, people.reviewer2, proposal, "reject", {"reason": "late"},
                        **HTMX)
        assert response.status_code == 409
        assert b"This proposal is approved." in response.content
        assert status_of(proposal) == "approved"


    def test_second_tab_approval_says_it_is_approved_once(self, client, people, proposal):
        do_approve(proposal, by=people.reviewer2)  # in another tab, meanwhile
        response = post(client, people.reviewer, proposal, "approve", **HTMX)
        assert response.status_code == 409
        text = " ".join(html.fromstring(response.content).text_content().split())
        assert text.lower().count("this proposal is approved") == 1
        assert "This proposal is approved." in text


class TestDisplay:
    def test_text_change_as_word_diff_in_context(self, client, people, proposal):
        client.force_login(people.reviewer)
        page = html.fromstring(client.get(url(proposal)).content)
        [diff] = page.xpath("//article[contains(@class,'change-text')]/p[@class='diff']")
        assert diff.xpath(".//del") and diff.xpath(".//ins")
        assert "Government of Japan" in " ".join(i.text_content() for i in diff.xpath(".//ins"))
        assert "The Prime Minister expressed" in diff.text_content()  # context
        assert page.xpath("//a[@href='/frus1958-60v18/d142/r/1/']")

    def test_footnote_added_shows_body_escaped(self, client, people, sample_edition):
        d = document(sample_edition, "d144")
        point = d.current_revision.text.index("hurricanes.") + len("hurricanes.")
        p = do_propose(d, author=people.editor, base_revision=1, rationale="Explain",
                       changes=[ChangeSpec(Change.Kind.NOTE_ADD, point, point,
                                                'See <hi rend="italic">Typhoons</hi> &amp; more')])
        client.force_login(people.reviewer)
        response = client.get(url(p))
        body = response.content.decode()
        assert "&lt;hi rend=&quot;italic&quot;&gt;Typhoons&lt;/hi&gt;" in body
        assert "[new note]" in body

    def test_structural_fix_shows_tei_and_rendered_result(self, client, people, sample_edition):
        d = document(sample_edition)
        exact = "SUBJECT\n\nProblems Relating to the Republic of Korea"
        start = d.current_revision.text.index(exact)
        fragment = ('<list type="subject"><head>SUBJECT</head>'
                    "<item>Problems Relating to Korea and <hi>Japan</hi></item></list>")
        p = do_propose(d, author=people.editor, base_revision=1, rationale="Subject",
                       changes=[ChangeSpec(Change.Kind.STRUCTURE, start, start + len(exact),
                                                fragment, exact=exact)])
        client.force_login(people.reviewer)
        page = html.fromstring(client.get(url(p)).content)
        sources = " ".join(e.text_content() for e in page.xpath("//pre"))
        assert '<item>Problems Relating to the Republic of Korea</item>' in sources  # before
        assert "<item>Problems Relating to Korea and <hi>Japan</hi></item>" in sources  # after
        [result] = page.xpath("//div[@class='rendered-result']")
        assert "Problems Relating to Korea and Japan" in result.text_content()
        assert result.xpath(".//article[@class='tei-document']")

    def test_user_text_is_escaped(self, client, people, sample_edition):
        # A replacement holding a tag is refused (markup is a change of its own): the
        # replacement's "<" is escaped all the same.
        p = propose(sample_edition, people.editor, "Secretary Herter", "Herter <3 & co",
                    rationale=f"Because {XSS}")
        do_comment(p, by=people.reviewer, body=f"Hmm {XSS}")
        do_reject(p, by=people.reviewer, reason=f"No {XSS}")
        client.force_login(people.editor)
        body = client.get(url(p)).content.decode()
        assert "<script>alert" not in body
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
        assert body.count("&lt;script&gt;") >= 3  # rationale, comment, reason
        assert "<3" not in body and "&lt;3" in body  # the replacement


class TestRetarget:
    @pytest.fixture
    def conflicted(self, sample_edition, people):
        first = propose(sample_edition, people.reviewer, "efforts on the part of the U.S.",
                        "efforts of the United States")
        second = propose(sample_edition, people.editor, "the part of the U.S. in the course",
                         "the part of the U.S. during the course")
        do_approve(first, by=people.admin)
        second.refresh_from_db()
        assert second.status == "conflicted"
        return second

    def test_author_sees_current_text_and_resubmits(self, client, people, conflicted):
        client.force_login(people.editor)
        response = client.get(f"{url(conflicted)}retarget/")
        assert response.status_code == 200
        page = html.fromstring(response.content)
        assert page.xpath("//textarea[@name='c0-quote']")[0].text_content().strip() == (
            "the part of the U.S. in the course")
        response = client.post(f"{url(conflicted)}retarget/", {
            "c0-quote": "the United States in the course",
            "c0-content": "the United States during the course",
            "rationale": "Re-targeted",
        })
        assert response.status_code == 302, response.content.decode()[-2000:]
        conflicted.refresh_from_db()
        head = document(conflicted.document.edition).current_revision
        [change] = conflicted.changes.all()
        assert conflicted.status == "pending" and conflicted.revision_id == head.pk
        assert head.text[change.start:change.end] == "the United States in the course"
        assert conflicted.rationale == "Re-targeted"

    def test_quote_not_found_is_shown(self, client, people, conflicted):
        client.force_login(people.editor)
        response = client.post(f"{url(conflicted)}retarget/", {
            "c0-quote": "no such words", "c0-content": "x", "rationale": "r"})
        assert response.status_code == 400
        assert b"is not in revision 2" in response.content
        assert status_of(conflicted) == "conflicted"

    def test_only_the_author_retargets(self, client, people, conflicted):
        for user in (people.reviewer, people.admin):
            client.force_login(user)
            assert client.get(f"{url(conflicted)}retarget/").status_code == 403
            assert client.post(f"{url(conflicted)}retarget/", {
                "c0-quote": "the United States", "c0-content": "x", "rationale": "r",
            }).status_code == 403
        assert status_of(conflicted) == "conflicted"

    def test_author_page_links_to_retarget(self, client, people, conflicted):
        client.force_login(people.editor)
        page = html.fromstring(client.get(url(conflicted)).content)
        assert page.xpath(f"//a[@href='/review/proposals/{conflicted.pk}/retarget/']")
        assert "overlaps" in page.get_element_by_id("decision-panel").text_content()

    def test_revising_a_footnote_and_a_structural_fix(self, client, people, sample_edition):
        d = document(sample_edition, "d144")
        text = d.current_revision.text
        point = text.index("hurricanes.") + len("hurricanes.")
        exact = "SUBJECT\n\nOuter Space and Other Scientific Cooperation"
        start = text.index(exact)
        p = do_propose(d, author=people.editor, base_revision=1, rationale="Two fixes",
                       changes=[
            ChangeSpec(Change.Kind.STRUCTURE, start, start + len(exact),
                       '<list type="subject"><head>SUBJECT</head><item>Outer Space</item></list>',
                       exact=exact),
            ChangeSpec(Change.Kind.NOTE_ADD, point, point, "A note"),
            ChangeSpec(Change.Kind.NOTE_EDIT, 0, 0, "Edited", note_id="d144fn1"),
        ])
        do_request_changes(p, by=people.reviewer, reason="Say more")
        client.force_login(people.editor)
        page = html.fromstring(client.get(f"{url(p)}retarget/").content)
        kinds = [c.kind for c in p.changes.all()]  # forms follow the changes' order
        prefix = {kind: f"c{i}" for i, kind in enumerate(kinds)}
        quotes = {kind: page.xpath(f"//textarea[@name='{prefix[kind]}-quote']")
                  for kind in kinds}
        assert quotes["structure"][0].text_content().strip() == exact
        assert quotes["note-add"][0].text_content().strip() == "of typhoons and hurricanes."
        assert not quotes["note-edit"]  # a footnote edit is placed by the footnote, not a quote
        assert page.xpath(f"//select[@name='{prefix['note-edit']}-note_id']"
                          "/option[@value='d144fn1'][@selected]")
        s, a, e = prefix["structure"], prefix["note-add"], prefix["note-edit"]
        response = client.post(f"{url(p)}retarget/", {
            f"{s}-quote": exact,
            f"{s}-content": '<list type="subject"><head>SUBJECT</head><item>Space</item></list>',
            f"{a}-quote": "typhoons and hurricanes.", f"{a}-content": "A longer note",
            f"{e}-note_id": "d144fn1", f"{e}-content": "Edited again",
            "rationale": "Two fixes, revised",
        })
        assert response.status_code == 302, response.content.decode()[-1500:]
        p.refresh_from_db()
        assert p.status == "pending"
        changes = {c.kind: c for c in p.changes.all()}
        assert changes["note-add"].start == point
        assert changes["note-edit"].content == "Edited again"
        assert "<item>Space</item>" in changes["structure"].content
