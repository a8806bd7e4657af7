"""Limits on what one proposal asks (EMEND_MAX_FRAGMENT_BYTES, EMEND_MAX_FRAGMENT_DEPTH,
EMEND_MAX_PROPOSAL_CHANGES): refused with a message naming the limit in the core, at the API
and in the form, before any work on the content. The work below them: test_linear_work.py."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from edition.tei import edits
from edition.tei.plaintext import render_plaintext
from edition.tei.render import render_html
from review.actions import ProposalError
from review.actions.approve import do_approve
from review.actions.propose import ChangeSpec, do_propose
from review.models import Proposal
from tests.helpers import many_blocks

EDITION = "frus1958-60v18"
PROPOSE_API = f"/api/editions/{EDITION}/documents/d142/proposals/"
PROPOSE_FORM = f"/{EDITION}/d142/propose/"
HTMX = {"HTTP_HX_REQUEST": "true"}
SMALL = 4000  # bytes: the fragment limit the tests set, so that a refused fragment stays small


def nested(depth: int) -> str:
    """A paragraph whose elements nest `depth` deep (the <p> is level 1)."""
    return "<p>" + "<hi>" * (depth - 1) + "deep" + "</hi>" * (depth - 1) + "</p>"


@pytest.fixture
def d142(sample_edition):
    return sample_edition.documents.select_related("current_revision").get(xml_id="d142")


def first_paragraph(d142) -> ChangeSpec:
    """A structural fix of d142's first paragraph, content to be filled in."""
    text = d142.current_revision.text
    start = text.index("The Prime Minister")
    end = text.index("\n\n", start)
    return ChangeSpec("structure", start, end, "", exact=text[start:end])


def propose_blocks(d142, author, fragment: str):
    spec = first_paragraph(d142)
    spec.content = fragment
    return do_propose(d142, author=author, base_revision=1, changes=[spec], rationale="x")


# -- the core ---------------------------------------------------------------------------------


class TestCore:
    def test_defaults_are_sane_and_below_the_request_limit(self):
        assert 256 * 1024 <= settings.EMEND_MAX_FRAGMENT_BYTES
        # A form sends the fragment percent-encoded: up to three bytes for one.
        assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE > 3 * settings.EMEND_MAX_FRAGMENT_BYTES
        assert 8 <= settings.EMEND_MAX_FRAGMENT_DEPTH < 100
        assert settings.EMEND_MAX_PROPOSAL_CHANGES >= 20

    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_parser_refuses_a_fragment_over_the_byte_limit_before_parsing(self):
        with pytest.raises(edits.FragmentLimitError, match="EMEND_MAX_FRAGMENT_BYTES") as info:
            edits.parse_fragment_list("<p>" + "é" * SMALL + "</p>", allowed=set(edits.ALLOWED))
        assert info.value.code == "too_large"
        assert f"{SMALL:,} bytes" in str(info.value)

    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_bytes_not_characters_are_counted(self):
        # 1,500 characters, 3,000 bytes: under; 2,500 characters, 5,000 bytes: over.
        edits.parse_fragment_list("<p>" + "é" * 1500 + "</p>", allowed=set(edits.ALLOWED))
        with pytest.raises(edits.FragmentLimitError):
            edits.check_fragment_size("é" * 2500)

    def test_parser_refuses_nesting_past_the_depth_limit(self):
        limit = settings.EMEND_MAX_FRAGMENT_DEPTH
        edits.parse_fragment_list(nested(limit), allowed=set(edits.ALLOWED))
        with pytest.raises(edits.FragmentLimitError, match="EMEND_MAX_FRAGMENT_DEPTH") as info:
            edits.parse_fragment_list(nested(limit + 1), allowed=set(edits.ALLOWED))
        assert info.value.code == "too_deep"

    def test_nesting_past_the_parsers_own_limit_is_the_same_refusal(self):
        # libxml2 stops at 256 levels with a message of its own.
        with pytest.raises(edits.FragmentLimitError, match="EMEND_MAX_FRAGMENT_DEPTH"):
            edits.parse_fragment_list(nested(300), allowed=set(edits.ALLOWED))

    def test_footnote_bodies_are_held_to_the_depth_limit_too(self, d142):
        inline = "<hi>" * 40 + "x" + "</hi>" * 40
        with pytest.raises(edits.FragmentLimitError, match="EMEND_MAX_FRAGMENT_DEPTH"):
            edits.edit_note(d142.current_revision.element, "d142fn1", inline)

    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_proposal_over_the_byte_limit_is_refused_and_not_stored(self, d142, people):
        with pytest.raises(ProposalError, match="EMEND_MAX_FRAGMENT_BYTES") as info:
            propose_blocks(d142, people.editor, many_blocks(200))
        assert info.value.code == "too_large"
        assert not Proposal.objects.exists()

    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_a_text_correction_is_held_to_the_byte_limit(self, d142, people):
        text = d142.current_revision.text
        start = text.index("Cameroons")
        spec = ChangeSpec("text", start, start + 9, "x" * (SMALL + 1), exact="Cameroons")
        with pytest.raises(ProposalError, match="EMEND_MAX_FRAGMENT_BYTES"):
            do_propose(d142, author=people.editor, base_revision=1, changes=[spec],
                       rationale="x")

    def test_proposal_nested_too_deep_is_refused(self, d142, people):
        with pytest.raises(ProposalError, match="EMEND_MAX_FRAGMENT_DEPTH") as info:
            propose_blocks(d142, people.editor, nested(settings.EMEND_MAX_FRAGMENT_DEPTH + 1))
        assert info.value.code == "too_deep"

    @override_settings(EMEND_MAX_PROPOSAL_CHANGES=3)
    def test_proposal_with_too_many_changes_is_refused(self, d142, people):
        note = ChangeSpec("note-edit", 0, 0, "A note.", note_id="d142fn1")
        with pytest.raises(ProposalError, match="EMEND_MAX_PROPOSAL_CHANGES") as info:
            do_propose(d142, author=people.editor, base_revision=1, changes=[note] * 4,
                       rationale="x")
        assert info.value.code == "too_many"

    def test_a_fragment_at_the_depth_limit_is_approved_and_renders(self, d142, people):
        # The limit must leave room for the renderers, which recurse (a <p> holding 250 <hi>
        # once broke the text export).
        proposal = propose_blocks(d142, people.editor,
                                  nested(settings.EMEND_MAX_FRAGMENT_DEPTH))
        revision = do_approve(proposal, by=people.reviewer)
        assert "deep" in revision.text
        assert "deep" in render_html(revision.element, doc_href=lambda xml_id: xml_id)
        assert "deep" in render_plaintext(revision.element)


# -- the API ------------------------------------------------------------------------------------


def api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == code, body
    return body


def structural_body(d142, fragment: str) -> dict:
    spec = first_paragraph(d142)
    return {"base_revision": 1, "kind": "structure", "fragment": fragment, "rationale": "x",
            "selector": {"exact": spec.exact, "start": spec.start, "end": spec.end}}


@pytest.fixture
def as_editor(people):
    client = APIClient()
    client.force_authenticate(people.editor)
    return client


class TestApi:
    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_fragment_over_the_byte_limit_is_413_naming_the_limit(self, d142, as_editor):
        body = api_error(as_editor.post(PROPOSE_API, structural_body(d142, many_blocks(200)),
                                        format="json"), 413, "too_large")
        assert "EMEND_MAX_FRAGMENT_BYTES" in body["message"]
        assert body["field"] == "fragment"
        assert not Proposal.objects.exists()

    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_footnote_body_over_the_byte_limit_names_its_field(self, d142, as_editor):
        body = api_error(as_editor.post(PROPOSE_API, {
            "base_revision": 1, "rationale": "x", "changes": [
                {"kind": "note-edit", "note": "d142fn1", "body": "x" * (SMALL + 1)}]},
            format="json"), 413, "too_large")
        assert body["field"] == "changes[0].body"

    def test_fragment_nested_too_deep_is_422_naming_the_limit(self, d142, as_editor):
        fragment = nested(settings.EMEND_MAX_FRAGMENT_DEPTH + 1)
        body = api_error(as_editor.post(PROPOSE_API, structural_body(d142, fragment),
                                        format="json"), 422, "too_deep")
        assert "EMEND_MAX_FRAGMENT_DEPTH" in body["message"]
        assert not Proposal.objects.exists()

    @override_settings(EMEND_MAX_PROPOSAL_CHANGES=2)
    def test_too_many_changes_is_413_naming_the_limit(self, d142, as_editor):
        change = {"kind": "note-edit", "note": "d142fn1", "body": "x"}
        body = api_error(as_editor.post(PROPOSE_API, {
            "base_revision": 1, "rationale": "x", "changes": [change] * 3}, format="json"),
            413, "too_many")
        assert "EMEND_MAX_PROPOSAL_CHANGES" in body["message"]

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=SMALL)
    def test_body_over_the_request_limit_is_a_json_413(self, d142, as_editor):
        body = api_error(as_editor.post(PROPOSE_API, structural_body(d142, many_blocks(200)),
                                        format="json"), 413, "too_large")
        assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in body["message"]

    def test_fragment_just_over_the_default_limit_gets_the_fragment_message(self, d142,
                                                                           as_editor):
        fragment = many_blocks(settings.EMEND_MAX_FRAGMENT_BYTES // 40)
        assert len(fragment.encode()) > settings.EMEND_MAX_FRAGMENT_BYTES
        body = api_error(as_editor.post(PROPOSE_API, structural_body(d142, fragment),
                                        format="json"), 413, "too_large")
        assert "EMEND_MAX_FRAGMENT_BYTES" in body["message"]


# -- the form -------------------------------------------------------------------------------------


@pytest.fixture
def editor(client, people):
    client.force_login(people.editor)
    return client


def form_data(d142, fragment: str, action: str = "submit") -> dict:
    spec = first_paragraph(d142)
    text = d142.current_revision.text
    return {"action": action, "kind": "structure", "rev": 1, "start": spec.start,
            "end": spec.end, "exact": spec.exact, "prefix": text[spec.start - 32:spec.start],
            "suffix": text[spec.end:spec.end + 32], "fragment": fragment, "rationale": "x"}


class TestForm:
    @pytest.mark.parametrize("action", ["queue", "submit"])
    @override_settings(EMEND_MAX_FRAGMENT_BYTES=SMALL)
    def test_fragment_over_the_byte_limit_is_refused_naming_the_limit(self, d142, editor,
                                                                      action):
        response = editor.post(PROPOSE_FORM, form_data(d142, many_blocks(200), action), **HTMX)
        assert response.status_code == 400
        assert "EMEND_MAX_FRAGMENT_BYTES" in response.content.decode()
        assert not Proposal.objects.exists()

    def test_fragment_nested_too_deep_is_refused_naming_the_limit(self, d142, editor):
        fragment = nested(settings.EMEND_MAX_FRAGMENT_DEPTH + 1)
        response = editor.post(PROPOSE_FORM, form_data(d142, fragment), **HTMX)
        assert response.status_code == 400
        assert "EMEND_MAX_FRAGMENT_DEPTH" in response.content.decode()
        assert not Proposal.objects.exists()

    def test_fragment_just_over_the_default_limit_gets_the_fragment_message(self, d142,
                                                                           editor):
        # Percent-encoded, the post is about twice the fragment: still under
        # DATA_UPLOAD_MAX_MEMORY_SIZE, so the person reads which limit it is.
        fragment = many_blocks(settings.EMEND_MAX_FRAGMENT_BYTES // 40)
        response = editor.post(PROPOSE_FORM, form_data(d142, fragment), **HTMX)
        assert response.status_code == 400
        assert "EMEND_MAX_FRAGMENT_BYTES" in response.content.decode()

    @override_settings(EMEND_MAX_PROPOSAL_CHANGES=1)
    def test_queueing_past_the_change_limit_is_refused(self, d142, editor):
        queued = ('{"kind": "note-edit", "start": 0, "end": 0, "exact": "", '
                  '"content": "x", "note_id": "d142fn1"}')
        data = {**form_data(d142, "<p>New.</p>", "queue"), "queued": [queued]}
        response = editor.post(PROPOSE_FORM, data, **HTMX)
        assert response.status_code == 400
        assert "EMEND_MAX_PROPOSAL_CHANGES" in response.content.decode()

    @override_settings(EMEND_MAX_PROPOSAL_CHANGES=1)
    def test_a_change_can_be_taken_out_past_the_change_limit(self, d142, editor):
        queued = ('{"kind": "note-edit", "start": 0, "end": 0, "exact": "", '
                  '"content": "x", "note_id": "d142fn1"}')
        data = {"action": "unqueue-0", "rev": 1, "queued": [queued, queued]}
        response = editor.post(PROPOSE_FORM, data, **HTMX)
        assert response.status_code == 200
        assert response.content.decode().count('name="queued"') == 1


def cameroons(d142, replacement: str) -> ChangeSpec:
    text = d142.current_revision.text
    start = text.index("Cameroons")
    return ChangeSpec("text", start, start + 9, replacement, exact="Cameroons")


class TestTextLimitsAndNoOps:
    """A replacement past EMEND_MAX_REPLACEMENT_CHARS, prose past EMEND_MAX_RATIONALE_CHARS and
    a change that changes nothing are refused by the actions, so the form and the API agree."""

    @override_settings(EMEND_MAX_REPLACEMENT_CHARS=50)
    def test_replacement_over_the_limit_is_refused_naming_it(self, d142, people):
        with pytest.raises(ProposalError, match="EMEND_MAX_REPLACEMENT_CHARS") as info:
            do_propose(d142, author=people.editor, base_revision=1,
                       changes=[cameroons(d142, "x" * 51)], rationale="x")
        assert info.value.code == "too_large" and "51 characters" in info.value.message
        assert not Proposal.objects.exists()

    @override_settings(EMEND_MAX_RATIONALE_CHARS=20)
    def test_rationale_over_the_limit_is_refused(self, d142, people):
        with pytest.raises(ProposalError, match="rationale is 21 characters") as info:
            do_propose(d142, author=people.editor, base_revision=1,
                       changes=[cameroons(d142, "Cameroon")], rationale="y" * 21)
        assert info.value.code == "too_large"

    @override_settings(EMEND_MAX_RATIONALE_CHARS=20)
    def test_comment_and_reason_over_the_limit_are_refused(self, d142, people):
        from review.actions.comment import do_comment
        from review.actions.decide import do_reject

        proposal = do_propose(d142, author=people.editor, base_revision=1,
                              changes=[cameroons(d142, "Cameroon")], rationale="x")
        with pytest.raises(ProposalError, match="comment is 21 characters"):
            do_comment(proposal, by=people.reviewer, body="z" * 21)
        with pytest.raises(ProposalError, match="reason is 21 characters"):
            do_reject(proposal, by=people.reviewer, reason="z" * 21)
        assert Proposal.objects.get().status == "pending"

    def test_same_text_is_refused_as_changing_nothing(self, d142, people):
        with pytest.raises(ProposalError, match="changes nothing") as info:
            do_propose(d142, author=people.editor, base_revision=1,
                       changes=[cameroons(d142, "Cameroons")], rationale="x")
        assert info.value.code == "invalid"
        assert not Proposal.objects.exists()

    def test_api_refuses_a_no_op_with_400(self, d142, as_editor):
        spec = cameroons(d142, "Cameroons")
        body = api_error(as_editor.post(PROPOSE_API, {
            "base_revision": 1, "rationale": "x", "kind": "text", "replacement": "Cameroons",
            "selector": {"exact": spec.exact, "start": spec.start, "end": spec.end}},
            format="json"), 400, "invalid")
        assert "changes nothing" in body["message"]

    @override_settings(EMEND_MAX_REPLACEMENT_CHARS=50)
    def test_api_refuses_a_long_replacement_with_413(self, d142, as_editor):
        spec = cameroons(d142, "")
        body = api_error(as_editor.post(PROPOSE_API, {
            "base_revision": 1, "rationale": "x", "kind": "text", "replacement": "x" * 51,
            "selector": {"exact": spec.exact, "start": spec.start, "end": spec.end}},
            format="json"), 413, "too_large")
        assert "EMEND_MAX_REPLACEMENT_CHARS" in body["message"]

    @override_settings(EMEND_MAX_RATIONALE_CHARS=20)
    def test_form_shows_the_rationale_limit(self, d142, editor):
        text = d142.current_revision.text
        start = text.index("Cameroons")
        response = editor.post(PROPOSE_FORM, {
            "action": "submit", "kind": "text", "rev": 1, "start": start, "end": start + 9,
            "exact": "Cameroons", "prefix": text[start - 32:start],
            "suffix": text[start + 9:start + 41], "replacement": "Cameroon",
            "rationale": "y" * 21}, **HTMX)
        assert response.status_code == 400
        assert "rationale is 21 characters long, over the limit of 20" in response.content.decode()
