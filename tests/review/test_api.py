"""The JSON API (review/api.py): reading, proposing every kind, deciding, errors, pagination."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from edition.models import Document
from review.actions.propose import ChangeSpec, do_propose
from review.models import Proposal
from tests.helpers import make_member, text_spec, token_client
from review.actions.approve import do_approve
from review.actions.decide import do_reject

pytestmark = pytest.mark.django_db


EDITION = "frus1958-60v18"
DOC = f"/api/editions/{EDITION}/documents/d142/"
PROPOSE = DOC + "proposals/"
CSRF = "abcdefghijklmnopqrstuvwxyz012345"



@pytest.fixture
def edition(sample_edition):
    return sample_edition


@pytest.fixture
def d142(edition):
    return edition.documents.get(xml_id="d142")


@pytest.fixture
def editor(people):
    return people.editor


@pytest.fixture
def reviewer(people):
    return people.reviewer


@pytest.fixture
def as_editor(editor):
    return token_client(editor)


@pytest.fixture
def as_reviewer(reviewer):
    return token_client(reviewer)


def selection(text: str, exact: str, occurrence: int = 0) -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(exact, start + 1)
    return {"exact": exact, "start": start, "end": start + len(exact)}


def current_text(d142) -> str:
    return Document.objects.get(pk=d142.pk).current_revision.text


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["message"]
    return body


def propose(client, data, status=201):
    response = client.post(PROPOSE, data, format="json")
    assert response.status_code == status, response.json()
    return response.json()


class TestDocument:
    def test_anonymous_reads_text_footnotes_pages_and_tei(self, d142):
        response = APIClient().get(DOC)
        assert response.status_code == 200
        data = response.json()
        assert (data["edition"], data["document"], data["number"]) == (EDITION, "d142", 142)
        assert data["revision"] == data["current_revision"] == 1
        assert data["text"] == d142.current_revision.text
        source, note = data["footnotes"]
        assert (source["id"], source["n"], source["type"]) == ("d142fn0", "0", "source")
        assert source["text"].startswith("Source: Department of State")
        assert '<ref target="#d139">Documents' in source["tei"]  # verbatim, whitespace kept
        assert "xmlns" not in source["tei"]
        assert data["text"][:note["offset"]].endswith("received a telegram from Seoul")
        assert note["text"].startswith("Telegram 515 from Seoul")
        [page] = data["page_breaks"]
        assert (page["n"], page["id"]) == ("276", "pg_276")
        assert data["text"][page["offset"]:].startswith("for the restrained manner")
        assert data["tei"].startswith("<div") and 'xml:id="d142"' in data["tei"]
        assert data["url"] == "/frus1958-60v18/d142/"

    def test_earlier_revision_by_query_and_current_number_stays_current(self, d142, as_editor,
                                                                       as_reviewer):
        text = d142.current_revision.text
        proposal = propose(as_editor, {"base_revision": 1, "selector": selection(text, "Cameroons"),
                                       "replacement": "Cameroun", "rationale": "spelling"})
        as_reviewer.post(f"/api/proposals/{proposal['id']}/approve")
        old = APIClient().get(DOC + "?revision=1").json()
        assert (old["revision"], old["current_revision"]) == (1, 2)
        assert "Cameroons" in old["text"]
        assert "Cameroun" in APIClient().get(DOC).json()["text"]

    def test_unknown_document_revision_or_edition_is_a_json_404(self, d142):
        error(APIClient().get(f"/api/editions/{EDITION}/documents/d999/"), 404, "not_found")
        error(APIClient().get("/api/editions/nope/documents/d142/"), 404, "not_found")
        error(APIClient().get(DOC + "?revision=9"), 404, "not_found")
        error(APIClient().get(DOC + "?revision=x"), 400, "invalid")
        error(APIClient().get(DOC + "?revision=²"), 400, "invalid")

    def test_unknown_api_address_is_a_json_404(self, d142, as_editor):
        error(APIClient().get("/api/nothing/here"), 404, "not_found")
        error(as_editor.post("/api/proposals/1/merge", {}, format="json"), 404, "not_found")

    def test_document_is_read_only(self, d142, as_editor):
        error(as_editor.post(DOC, {}, format="json"), 405, "method_not_allowed")


class TestProposeText:
    def test_text_correction_with_offsets(self, d142, as_editor):
        text = d142.current_revision.text
        data = propose(as_editor, {
            "base_revision": 1, "selector": selection(text, "Cameroons"),
            "replacement": "Cameroun", "rationale": "the 1960 spelling",
        })
        assert data["status"] == "pending" and data["author"] == "editor"
        assert data["revision"] == 1 and data["rationale"] == "the 1960 spelling"
        [change] = data["changes"]
        assert change["kind"] == "text" and change["replacement"] == "Cameroun"
        assert change["selector"]["exact"] == "Cameroons"
        assert change["selector"]["prefix"].endswith("the application of the ")
        assert change["selector"]["suffix"].startswith(" for early admission")
        assert data["url"] == f"/api/proposals/{data['id']}/"

    def test_quote_without_offsets_is_placed_by_its_context(self, d142, as_editor):
        text = d142.current_revision.text
        second = selection(text, "Viet Nam", occurrence=1)
        data = propose(as_editor, {
            "base_revision": 1, "replacement": "Vietnam", "rationale": "house style",
            "selector": {"exact": "Viet Nam", "prefix": text[second["start"] - 32:second["start"]],
                         "suffix": text[second["end"]:second["end"] + 32]},
        })
        assert data["changes"][0]["selector"]["start"] == second["start"]

    def test_ambiguous_quote_lists_the_candidates(self, d142, as_editor):
        text = d142.current_revision.text
        body = error(as_editor.post(PROPOSE, {
            "base_revision": 1, "selector": {"exact": "Viet Nam"}, "replacement": "Vietnam",
            "rationale": "house style"}, format="json"), 422, "ambiguous")
        assert sorted(body["candidates"]) == [selection(text, "Viet Nam", i)["start"]
                                              for i in range(3)]

    def test_quote_that_does_not_occur(self, d142, as_editor):
        error(as_editor.post(PROPOSE, {
            "base_revision": 1, "selector": {"exact": "Kamerun"}, "replacement": "Cameroun",
            "rationale": "x"}, format="json"), 422, "quote")

    def test_quote_not_at_the_offsets_names_where_it_is(self, d142, as_editor):
        text = d142.current_revision.text
        wrong = selection(text, "Cameroons")
        wrong["start"] += 1
        wrong["end"] += 1
        body = error(as_editor.post(PROPOSE, {
            "base_revision": 1, "selector": wrong, "replacement": "Cameroun",
            "rationale": "x"}, format="json"), 422, "quote")
        assert "not at" in body["message"]
        assert body["candidates"] == [wrong["start"] - 1]

    def test_offsets_outside_the_text(self, d142, as_editor):
        end = len(d142.current_revision.text)
        error(as_editor.post(PROPOSE, {
            "base_revision": 1, "selector": {"exact": "", "start": end + 1, "end": end + 1},
            "replacement": "x", "rationale": "x"}, format="json"), 422, "offsets")

    def test_utf16_offsets_are_converted(self, d142, as_editor, as_reviewer):
        text = d142.current_revision.text
        # First put a character outside the BMP before the word, through the API too.
        at = text.index("Cameroons")
        first = propose(as_editor, {
            "base_revision": 1, "selector": {"exact": "", "start": at, "end": at},
            "replacement": "𝔗𝔥𝔢 ", "rationale": "test"})
        assert as_reviewer.post(f"/api/proposals/{first['id']}/approve").status_code == 200
        text = current_text(d142)
        start = text.index("Cameroons")
        utf16 = len(text[:start].encode("utf-16-le")) // 2
        assert utf16 == start + 3
        data = propose(as_editor, {
            "base_revision": 2, "offsets": "utf-16", "replacement": "Cameroun",
            "rationale": "x",
            "selector": {"exact": "Cameroons", "start": utf16, "end": utf16 + 9}})
        assert data["changes"][0]["selector"]["start"] == start
        # An offset between the two halves of a surrogate pair is refused.
        error(as_editor.post(PROPOSE, {
            "base_revision": 2, "offsets": "utf-16", "replacement": "x", "rationale": "x",
            "selector": {"exact": "", "start": utf16 - 4, "end": utf16 - 4}}, format="json"),
            422, "offsets")

    def test_change_across_a_paragraph_boundary_is_unapplicable(self, d142, as_editor):
        text = d142.current_revision.text
        start = text.index("any part of Korea.")
        end = text.index("Foreign Minister") + 7
        error(as_editor.post(PROPOSE, {
            "base_revision": 1, "selector": {"exact": text[start:end], "start": start, "end": end},
            "replacement": "x", "rationale": "x"}, format="json"), 422, "unapplicable")


class TestStale:
    def test_base_revision_that_does_not_exist(self, d142, as_editor):
        body = error(as_editor.post(PROPOSE, {
            "base_revision": 7, "selector": {"exact": "Cameroons"}, "replacement": "Cameroun",
            "rationale": "x"}, format="json"), 409, "stale")
        assert body["current_revision"] == 1

    def test_older_base_is_mapped_when_the_change_is_elsewhere(self, d142, editor, reviewer,
                                                              as_editor):
        head = d142.current_revision
        first = do_propose(d142, author=editor, base_revision=1, rationale="x",
                           changes=[text_spec(head, "Seoul", "Seoul, Korea")])
        do_approve(first, by=reviewer)
        data = propose(as_editor, {"base_revision": 1, "replacement": "Cameroun",
                                   "selector": selection(head.text, "Cameroons"),
                                   "rationale": "x"})
        assert data["revision"] == 2
        start = data["changes"][0]["selector"]["start"]
        assert current_text(d142)[start:start + 9] == "Cameroons"

    def test_older_base_overlapping_an_approved_change_is_refused(self, d142, editor, reviewer,
                                                                  as_editor):
        head = d142.current_revision
        do_approve(do_propose(d142, author=editor, base_revision=1, rationale="x",
                        changes=[text_spec(head, "Cameroons", "Cameroun")]), by=reviewer)
        body = error(as_editor.post(PROPOSE, {
            "base_revision": 1, "selector": selection(head.text, "the Cameroons"),
            "replacement": "Cameroon", "rationale": "x"}, format="json"), 409, "stale")
        assert "overlaps" in body["message"] and body["current_revision"] == 2


class TestProposeNotesAndStructure:
    def test_footnote_added_at_a_point(self, d142, as_editor, as_reviewer):
        text = d142.current_revision.text
        at = text.index("Cameroons") + len("Cameroons")
        data = propose(as_editor, {
            "base_revision": 1, "kind": "note-add", "body": 'Now <hi rend="italic">Cameroon</hi>.',
            "selector": {"exact": "", "start": at, "end": at}, "rationale": "explain"})
        assert data["changes"][0] == {
            "kind": "note-add", "body": 'Now <hi rend="italic">Cameroon</hi>.',
            "selector": {"exact": "", "prefix": text[at - 32:at], "suffix": text[at:at + 32],
                         "start": at, "end": at}}
        as_reviewer.post(f"/api/proposals/{data['id']}/approve")
        notes = APIClient().get(DOC).json()["footnotes"]
        assert [(n["id"], n["n"], n["text"]) for n in notes[1:]] == [
            ("d142fn1", "1", notes[1]["text"]), ("d142fn2", "2", "Now Cameroon.")]
        assert notes[2]["offset"] == at

    def test_footnote_over_a_range_is_invalid(self, d142, as_editor):
        text = d142.current_revision.text
        error(as_editor.post(PROPOSE, {
            "base_revision": 1, "kind": "note-add", "body": "x",
            "selector": selection(text, "Cameroons"), "rationale": "x"}, format="json"),
            400, "invalid")

    def test_footnote_edited_and_removed(self, d142, as_editor):
        edit = propose(as_editor, {"base_revision": 1, "kind": "note-edit", "note": "d142fn1",
                                   "body": "Telegram 515 from Seoul.", "rationale": "shorter"})
        assert edit["changes"] == [{"kind": "note-edit", "note": "d142fn1",
                                    "body": "Telegram 515 from Seoul."}]
        remove = propose(as_editor, {"base_revision": 1, "kind": "note-remove", "note": "d142fn1",
                                     "rationale": "not needed"})
        assert remove["changes"] == [{"kind": "note-remove", "note": "d142fn1"}]

    def test_unknown_footnote_and_source_note_removal(self, d142, as_editor):
        error(as_editor.post(PROPOSE, {"base_revision": 1, "kind": "note-edit", "note": "d142fn9",
                                       "body": "x", "rationale": "x"}, format="json"), 422, "note")
        error(as_editor.post(PROPOSE, {"base_revision": 1, "kind": "note-remove", "note": "d142fn0",
                                       "rationale": "x"}, format="json"), 422, "unapplicable")

    def test_footnote_body_outside_the_tei_subset_is_refused(self, d142, as_editor):
        body = error(as_editor.post(PROPOSE, {
            "base_revision": 1, "kind": "note-edit", "note": "d142fn1",
            "body": "<script>alert(1)</script>", "rationale": "x"}, format="json"),
            422, "unapplicable")
        assert "script" in body["message"]

    def test_structural_fix_replaces_a_block(self, d142, as_editor, as_reviewer):
        text = d142.current_revision.text
        data = propose(as_editor, {
            "base_revision": 1, "kind": "structure", "selector": selection(text, "SUBJECT"),
            "fragment": "<head>SUBJECTS</head>", "rationale": "x"}, status=422)
        assert data["error"]["code"] == "unapplicable"
        block = selection(text, "SUBJECT\n\nProblems Relating to the Republic of Korea")
        data = propose(as_editor, {
            "base_revision": 1, "kind": "structure", "selector": block, "rationale": "x",
            "fragment": '<list type="subject"><head>SUBJECT</head><item>Korea</item></list>'})
        as_reviewer.post(f"/api/proposals/{data['id']}/approve")
        assert "SUBJECT\n\nKorea\n\nPARTICIPANTS" in current_text(d142)

    def test_grouped_changes_are_applied_together(self, d142, as_editor, as_reviewer):
        text = d142.current_revision.text
        at = text.index("Cameroons") + 9
        data = propose(as_editor, {
            "base_revision": 1, "rationale": "one review",
            "changes": [
                {"selector": selection(text, "Cameroons"), "replacement": "Cameroun"},
                {"kind": "note-add", "body": "A note.",
                 "selector": {"exact": "", "start": at, "end": at}},
                {"kind": "note-edit", "note": "d142fn1", "body": "Telegram 515."},
            ]})
        assert [c["kind"] for c in data["changes"]] == ["note-edit", "text", "note-add"]
        response = as_reviewer.post(f"/api/proposals/{data['id']}/approve")
        assert response.json()["revision"] == 2
        doc = APIClient().get(DOC).json()
        assert "Cameroun" in doc["text"]
        assert [n["text"] for n in doc["footnotes"][1:]] == ["Telegram 515.", "A note."]

    def test_overlapping_changes_in_one_proposal(self, d142, as_editor):
        text = d142.current_revision.text
        error(as_editor.post(PROPOSE, {"base_revision": 1, "rationale": "x", "changes": [
            {"selector": selection(text, "the Cameroons"), "replacement": "Cameroon"},
            {"selector": selection(text, "Cameroons"), "replacement": "Cameroun"},
        ]}, format="json"), 422, "overlap")


class TestValidation:
    @pytest.mark.parametrize("body, field", [
        ({"selector": {"exact": "Cameroons"}, "replacement": "x", "rationale": "x"},
         "base_revision"),
        ({"base_revision": "1", "selector": {"exact": "Cameroons"}, "replacement": "x",
          "rationale": "x"}, "base_revision"),
        ({"base_revision": 1, "selector": {"exact": "Cameroons"}, "replacement": "x"},
         "rationale"),
        ({"base_revision": 1, "selector": {"exact": "Cameroons"}, "replacement": "x",
          "rationale": "  "}, "rationale"),
        ({"base_revision": 1, "selector": {"exact": "Cameroons"}, "rationale": "x"},
         "replacement"),
        ({"base_revision": 1, "replacement": "x", "rationale": "x"}, "selector"),
        ({"base_revision": 1, "selector": {"start": 1, "end": 2}, "replacement": "x",
          "rationale": "x"}, "selector.exact"),
        ({"base_revision": 1, "selector": {"exact": "C", "start": 1}, "replacement": "x",
          "rationale": "x"}, "selector.end"),
        ({"base_revision": 1, "selector": {"exact": "C", "start": True, "end": 2},
          "replacement": "x", "rationale": "x"}, "selector.start"),
        ({"base_revision": 1, "selector": {"exact": "", "start": 5, "end": 4},
          "replacement": "x", "rationale": "x"}, "selector.end"),
        ({"base_revision": 1, "kind": "rename", "rationale": "x"}, "kind"),
        ({"base_revision": 1, "kind": "note-edit", "body": "x", "rationale": "x"}, "note"),
        ({"base_revision": 1, "kind": "structure", "selector": {"exact": ""},
          "rationale": "x"}, "fragment"),
        ({"base_revision": 1, "changes": [], "rationale": "x"}, "changes"),
        ({"base_revision": 1, "changes": ["x"], "rationale": "x"}, "changes[0]"),
        ({"base_revision": 1, "changes": [{"kind": "note-remove"}], "rationale": "x"},
         "changes[0].note"),
        ({"base_revision": 1, "offsets": "bytes", "selector": {"exact": "C"},
          "replacement": "x", "rationale": "x"}, "offsets"),
    ])
    def test_invalid_body_names_the_field(self, d142, as_editor, body, field):
        found = error(as_editor.post(PROPOSE, body, format="json"), 400, "invalid")
        assert found["field"] == field

    def test_body_must_be_a_json_object(self, d142, as_editor):
        error(as_editor.post(PROPOSE, [1, 2], format="json"), 400, "invalid")
        response = as_editor.post(PROPOSE, "{not json", content_type="application/json")
        error(response, 400, "invalid")

    def test_form_encoded_body_is_refused(self, d142, as_editor):
        response = as_editor.post(PROPOSE, {"base_revision": 1})
        error(response, 415, "unsupported_media_type")

    def test_nothing_is_stored_for_a_refused_proposal(self, d142, as_editor):
        as_editor.post(PROPOSE, {"base_revision": 1, "selector": {"exact": "Kamerun"},
                                 "replacement": "x", "rationale": "x"}, format="json")
        assert not Proposal.objects.exists()


class TestDecisions:
    @pytest.fixture
    def proposal(self, d142, editor):
        return do_propose(d142, author=editor, base_revision=1, rationale="spelling",
                          changes=[text_spec(d142.current_revision, "Cameroons", "Cameroun")])

    def test_approve_applies_and_returns_the_revision(self, proposal, as_reviewer):
        response = as_reviewer.post(f"/api/proposals/{proposal.pk}/approve")
        assert response.status_code == 200
        data = response.json()
        assert (data["status"], data["revision"]) == ("approved", 2)
        assert data["proposal"]["status"] == "approved"
        assert data["proposal"]["applied_revision"] == 2

    def test_approve_with_trailing_slash(self, proposal, as_reviewer):
        assert as_reviewer.post(f"/api/proposals/{proposal.pk}/approve/").status_code == 200

    def test_approve_short_of_required_approvals_reports_the_count(self, edition, proposal,
                                                                    as_reviewer, people):
        edition.required_approvals = 2
        edition.save()
        data = as_reviewer.post(f"/api/proposals/{proposal.pk}/approve").json()
        assert (data["status"], data["approvals"], data["required"]) == ("pending", 1, 2)
        error(as_reviewer.post(f"/api/proposals/{proposal.pk}/approve"), 409, "duplicate")
        admin = token_client(people.admin)
        data = admin.post(f"/api/proposals/{proposal.pk}/approve").json()
        assert (data["status"], data["revision"]) == ("approved", 2)

    def test_deciding_a_closed_proposal_is_a_conflict(self, proposal, as_reviewer):
        as_reviewer.post(f"/api/proposals/{proposal.pk}/approve")
        body = error(as_reviewer.post(f"/api/proposals/{proposal.pk}/approve"), 409, "state")
        assert body["status"] == "approved"
        error(as_reviewer.post(f"/api/proposals/{proposal.pk}/reject", {"reason": "no"},
                               format="json"), 409, "state")

    def test_reject_needs_a_reason(self, proposal, as_reviewer):
        error(as_reviewer.post(f"/api/proposals/{proposal.pk}/reject", {}, format="json"),
              400, "invalid")
        response = as_reviewer.post(f"/api/proposals/{proposal.pk}/reject",
                                    {"reason": "The source says Cameroons"}, format="json")
        assert response.status_code == 200
        data = response.json()
        assert (data["status"], data["status_reason"]) == ("rejected", "The source says Cameroons")
        assert data["events"][-1] == {**data["events"][-1], "kind": "rejected",
                                      "actor": "reviewer", "body": "The source says Cameroons"}

    def test_request_changes_then_author_retargets(self, d142, proposal, as_reviewer, as_editor):
        response = as_reviewer.post(f"/api/proposals/{proposal.pk}/request-changes",
                                    {"reason": "Use “Cameroon”"}, format="json")
        assert response.json()["status"] == "changes"
        error(as_reviewer.post(f"/api/proposals/{proposal.pk}/approve"), 409, "state")
        text = d142.current_revision.text
        response = as_editor.post(f"/api/proposals/{proposal.pk}/retarget", {
            "base_revision": 1, "selector": selection(text, "Cameroons"),
            "replacement": "Cameroon"}, format="json")
        assert response.status_code == 200, response.json()
        data = response.json()
        assert data["status"] == "pending" and data["changes"][0]["replacement"] == "Cameroon"
        assert data["rationale"] == "spelling"

    def test_conflicted_proposal_is_retargeted_by_its_author(self, d142, editor, proposal,
                                                             as_reviewer, as_editor):
        head = d142.current_revision
        other = do_propose(d142, author=editor, base_revision=1, rationale="x",
                           changes=[text_spec(head, "the Cameroons", "Cameroon")])
        as_reviewer.post(f"/api/proposals/{other.pk}/approve")
        data = as_editor.get(f"/api/proposals/{proposal.pk}/").json()
        assert data["status"] == "conflicted" and "overlaps" in data["status_reason"]
        error(as_reviewer.post(f"/api/proposals/{proposal.pk}/approve"), 409, "conflicted")
        text = current_text(d142)
        response = as_editor.post(f"/api/proposals/{proposal.pk}/retarget", {
            "base_revision": 2, "selector": selection(text, "Cameroon"),
            "replacement": "Cameroun", "rationale": "spelling, again"}, format="json")
        assert response.json()["status"] == "pending"
        assert as_reviewer.post(f"/api/proposals/{proposal.pk}/approve").json()["revision"] == 3

    def test_comment_by_any_member(self, proposal, as_editor, as_reviewer):
        response = as_reviewer.post(f"/api/proposals/{proposal.pk}/comment",
                                    {"body": "<script>x</script> Which source?"}, format="json")
        assert response.status_code == 201
        assert response.json()["body"] == "<script>x</script> Which source?"
        assert as_editor.post(f"/api/proposals/{proposal.pk}/comment", {"body": "The GPO book."},
                              format="json").status_code == 201
        events = as_editor.get(f"/api/proposals/{proposal.pk}/").json()["events"]
        assert [(e["kind"], e["actor"]) for e in events] == [
            ("created", "editor"), ("commented", "reviewer"), ("commented", "editor")]
        error(as_editor.post(f"/api/proposals/{proposal.pk}/comment", {"body": " "},
                             format="json"), 400, "invalid")

    def test_withdraw(self, proposal, as_editor):
        response = as_editor.post(f"/api/proposals/{proposal.pk}/withdraw")
        assert response.json()["status"] == "withdrawn"
        body = error(as_editor.post(f"/api/proposals/{proposal.pk}/withdraw"), 409, "state")
        assert body["status"] == "withdrawn"

    def test_unknown_proposal(self, proposal, as_reviewer):
        error(as_reviewer.get("/api/proposals/999/"), 404, "not_found")
        error(as_reviewer.post("/api/proposals/999/approve"), 404, "not_found")


class TestListing:
    @pytest.fixture
    def many(self, d142, edition, editor, reviewer):
        d144 = edition.documents.get(xml_id="d144")

        def make(document, n):
            made = []
            for i in range(n):
                made.append(do_propose(
                    document, author=editor, base_revision=1, rationale=f"#{i}",
                    changes=[text_spec(document.current_revision, "the", "thee", occurrence=i)]))
            return made

        return make(d142, 6) + make(d144, 3)

    def test_members_see_their_editions_proposals_oldest_first(self, many, as_reviewer):
        data = as_reviewer.get("/api/proposals/").json()
        assert [p["id"] for p in data["results"]] == [p.pk for p in many]
        assert data["next"] is None and data["previous"] is None

    def test_filters(self, many, as_reviewer, reviewer):
        do_reject(many[0], by=reviewer, reason="no")
        get = as_reviewer.get
        assert len(get("/api/proposals/?status=pending").json()["results"]) == 8
        assert len(get("/api/proposals/?status=rejected,withdrawn").json()["results"]) == 1
        assert len(get("/api/proposals/?status=closed").json()["results"]) == 1
        assert len(get("/api/proposals/?status=open").json()["results"]) == 8
        assert len(get(f"/api/proposals/?edition={EDITION}&document=d144").json()["results"]) == 3
        assert len(get("/api/proposals/?author=editor").json()["results"]) == 9
        assert len(get("/api/proposals/?author=reviewer").json()["results"]) == 0
        error(get("/api/proposals/?status=done"), 400, "invalid")
        error(get("/api/proposals/?edition=nope"), 404, "not_found")
        listed = get(f"/api/editions/{EDITION}/documents/d144/proposals/").json()["results"]
        assert [p["document"] for p in listed] == ["d144"] * 3

    def test_cursor_pagination(self, many, as_reviewer):
        first = as_reviewer.get("/api/proposals/?limit=4").json()
        assert [p["id"] for p in first["results"]] == [p.pk for p in many[:4]]
        second = as_reviewer.get(first["next"]).json()
        assert [p["id"] for p in second["results"]] == [p.pk for p in many[4:8]]
        third = as_reviewer.get(second["next"]).json()
        assert [p["id"] for p in third["results"]] == [many[8].pk] and third["next"] is None
        error(as_reviewer.get("/api/proposals/?cursor=garbage"), 400, "invalid")

    def test_page_costs_a_constant_number_of_queries(self, d142, edition, editor, reviewer,
                                                     as_reviewer):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert as_reviewer.get("/api/proposals/").status_code == 200
            return len(captured)

        head = d142.current_revision
        do_propose(d142, author=editor, base_revision=1, rationale="x",
                   changes=[text_spec(head, "the", "thee")])
        few = queries()
        for i in range(1, 30):
            do_propose(d142, author=editor, base_revision=1, rationale="x",
                       changes=[text_spec(head, "the", "thee", occurrence=i)])
        assert queries() == few <= 4


class TestAuthentication:
    def test_session_post_without_csrf_token_is_refused(self, d142, editor):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(editor)
        body = {"base_revision": 1, "selector": {"exact": "Cameroons"}, "replacement": "Cameroun",
                "rationale": "x"}
        error(client.post(PROPOSE, body, format="json"), 403, "csrf")
        client.cookies["csrftoken"] = CSRF
        response = client.post(PROPOSE, body, format="json", HTTP_X_CSRFTOKEN=CSRF)
        assert response.status_code == 201

    def test_token_needs_no_csrf_token(self, d142, editor):
        client = token_client(editor)
        client.handler.enforce_csrf_checks = True
        response = client.post(PROPOSE, {"base_revision": 1, "selector": {"exact": "Cameroons"},
                                         "replacement": "Cameroun", "rationale": "x"},
                               format="json")
        assert response.status_code == 201

    def test_anonymous_gets_401_with_the_scheme_to_use(self, d142):
        response = APIClient().get("/api/proposals/")
        error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"

    def test_bad_token(self, d142):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token nope")
        error(client.get("/api/proposals/"), 401, "not_authenticated")
        error(client.get(DOC), 401, "not_authenticated")

    def test_inactive_users_token_is_refused(self, d142, editor):
        client = token_client(editor)
        editor.is_active = False
        editor.save()
        error(client.get("/api/proposals/"), 401, "not_authenticated")


class TestApiTokenCommand:
    def test_prints_the_same_token_until_reset(self, db):
        make_member(None, "alice", None)
        out = io.StringIO()
        call_command("api_token", "alice", stdout=out)
        key = out.getvalue().strip()
        assert key == Token.objects.get(user__username="alice").key
        out = io.StringIO()
        call_command("api_token", "alice", stdout=out)
        assert out.getvalue().strip() == key
        out = io.StringIO()
        call_command("api_token", "alice", "--reset", stdout=out)
        assert out.getvalue().strip() not in ("", key)

    def test_unknown_user(self, db):
        with pytest.raises(CommandError, match="no user bob"):
            call_command("api_token", "bob")


class TestFootnotesOnAnOlderBase:
    """Footnote changes made on an older revision: actions.propose._map_from maps offsets but
    not footnote ids, and does not notice a footnote edited since (see the API report)."""

    def test_note_edit_follows_the_renumbering_since_its_base(self, d142, editor, reviewer,
                                                              as_editor):
        head = d142.current_revision
        at = head.text.index("Herter") + len("Herter")  # before footnote 1's anchor
        do_approve(do_propose(d142, author=editor, base_revision=1, rationale="new first note",
                        changes=[ChangeSpec("note-add", at, at, "A new first footnote.")]
                        ), by=reviewer)
        # On revision 1, d142fn1 is the Seoul telegram footnote; it is d142fn2 now.
        data = propose(as_editor, {"base_revision": 1, "kind": "note-edit", "note": "d142fn1",
                                   "body": "Telegram 515 from Seoul.", "rationale": "shorter"})
        assert data["changes"][0]["note"] == "d142fn2"

    def test_note_edited_since_the_base_is_stale(self, d142, editor, reviewer, as_editor):
        do_approve(do_propose(d142, author=editor, base_revision=1, rationale="first edit",
                        changes=[ChangeSpec("note-edit", 0, 0, "Telegram 515.",
                                            note_id="d142fn1")]), by=reviewer)
        error(as_editor.post(PROPOSE, {
            "base_revision": 1, "kind": "note-edit", "note": "d142fn1",
            "body": "Telegram 515 from Seoul, January 18.", "rationale": "x"}, format="json"),
            409, "stale")
