"""Proposing from the reading view (review/views/propose.py): the HTMX form and the page
without JavaScript, the quote check against the offsets, normalisation, permissions."""

import json

import pytest
from lxml import html

from edition.imports import create_document, import_text
from edition.models import Document
from edition.tei import TEI_NS
from review.actions.propose import do_propose
from review.models import Proposal
from tests.helpers import D143_TEXT, text_spec
from review.actions.approve import do_approve

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = "<script>alert('x')</script>"
URL = "/frus1958-60v18/{}/propose/"


@pytest.fixture
def editor(client, people):
    client.force_login(people.editor)
    return client


def doc(edition, xml_id="d142") -> Document:
    return Document.objects.select_related("current_revision").get(edition=edition, xml_id=xml_id)


def selection(revision, exact, occurrence=0, **extra) -> dict:
    """What the script sends for a selection of `exact` (code-point offsets, quote, context)."""
    spec = text_spec(revision, exact, "", occurrence=occurrence)
    text = revision.text
    return {"rev": revision.number, "start": spec.start, "end": spec.end, "exact": exact,
            "prefix": text[max(spec.start - 32, 0):spec.start], "suffix": text[spec.end:][:32],
            **extra}


def submit(client, document_id, data, *, htmx=True):
    data = {"action": "submit", "kind": "text", "rationale": "Typo", **data}
    return client.post(URL.format(document_id), data, **(HTMX if htmx else {}))


def textarea(page, name: str) -> str:
    """A text area's value as a browser sees it: the newline after the start tag is dropped."""
    text = page.xpath(f"//textarea[@name='{name}']")[0].text or ""
    return text.removeprefix("\n")


def only_proposal() -> Proposal:
    (proposal,) = Proposal.objects.all()
    return proposal


# -- permissions ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, sample_edition):
    response = client.get(URL.format("d142"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_stranger_gets_404(client, sample_edition, people, method):
    client.force_login(people.stranger)
    data = selection(doc(sample_edition).current_revision, "Prime Minister", replacement="X",
                     action="submit", kind="text", rationale="r")
    assert getattr(client, method)(URL.format("d142"), data).status_code == 404
    assert not Proposal.objects.exists()


def test_unknown_document_is_404(editor):
    assert editor.get(URL.format("d999")).status_code == 404


@pytest.mark.parametrize("who", ["editor", "reviewer", "admin"])
def test_members_who_may_propose_get_the_form(client, people, who):
    client.force_login(getattr(people, who))
    response = client.get(URL.format("d142"))
    assert response.status_code == 200
    page = html.fromstring(response.content)
    assert page.xpath("//form[@class='propose-form']/@action") == [URL.format("d142")]
    assert page.xpath("//h1")  # the whole page: it works without JavaScript


def test_htmx_get_returns_the_form_partial_only(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    response = editor.get(URL.format("d142"), selection(revision, "expressed appreciation"),
                          **HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content and b'class="propose-panel"' in response.content
    page = html.fragment_fromstring(response.content.decode(), create_parent=True)
    assert textarea(page, "replacement") == "expressed appreciation"
    assert page.xpath("//input[@name='kind'][@checked]/@value") == ["text"]


# -- offsets and quotes -----------------------------------------------------------------------


def test_offsets_that_match_the_quote_create_a_proposal(editor, sample_edition, people):
    revision = doc(sample_edition).current_revision
    data = selection(revision, "restrained manner", replacement="restrained attitude")
    response = submit(editor, "d142", data)
    assert response.status_code == 200
    proposal = only_proposal()
    assert f"Proposal {proposal.pk} submitted".encode() in response.content
    assert json.loads(response["HX-Trigger"])["proposalCreated"]["id"] == proposal.pk
    (change,) = proposal.changes.all()
    assert (change.kind, change.start, change.end) == ("text", data["start"], data["end"])
    assert change.exact == "restrained manner" and change.content == "restrained attitude"
    assert proposal.author == people.editor and proposal.rationale == "Typo"


def test_forged_offsets_that_do_not_match_the_quote_are_400(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    data = selection(revision, "restrained manner", replacement="x")
    data["exact"] = "Korean nationals"  # a quote from somewhere else entirely
    response = submit(editor, "d142", data)
    assert response.status_code == 400
    assert "is not at" in response.content.decode()
    assert not Proposal.objects.exists()


def test_offsets_past_the_end_are_400(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    n = len(revision.text)
    response = submit(editor, "d142", {"rev": revision.number, "start": n + 5, "end": n + 9,
                                       "exact": "abcd", "replacement": "x"})
    assert response.status_code == 400 and not Proposal.objects.exists()


def test_quote_found_once_near_drifted_offsets_is_used(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    data = selection(revision, "restrained manner", replacement="restrained attitude")
    good = data["start"]
    data.update(start=good + 2, end=data["end"] + 2)  # a page that counted two extra characters
    assert submit(editor, "d142", data).status_code == 200
    (change,) = only_proposal().changes.all()
    assert (change.start, change.exact) == (good, "restrained manner")


def test_ambiguous_typed_quote_lists_the_matches(client, sample_edition, people):
    client.force_login(people.editor)
    data = {"exact": "the Republic of Korea", "replacement": "the ROK", "rationale": "Style"}
    response = submit(client, "d142", data, htmx=False)
    assert response.status_code == 400
    page = html.fromstring(response.content)
    choices = page.xpath("//input[@name='choice']/@value")
    assert len(choices) > 3
    assert "occurs" in page.xpath("string(//div[@class='propose-error'])")
    # Picking one of them (or adding context) places it.
    response = submit(client, "d142", {**data, "choice": choices[2]}, htmx=False)
    assert response.status_code == 302
    (change,) = only_proposal().changes.all()
    assert change.start == int(choices[2]) and change.exact == "the Republic of Korea"


def test_context_disambiguates_a_typed_quote(editor, sample_edition):
    data = {"exact": "the Republic of Korea", "prefix": "constructive channels. Secretary"
            " Herter expressed appreciation for the restrained manner in which Japan has been "
            "handling its negotiations with ", "replacement": "the ROK"}
    assert submit(editor, "d142", data, htmx=False).status_code == 302
    (change,) = only_proposal().changes.all()
    text = doc(sample_edition).current_revision.text
    assert text[:change.start].endswith("handling its negotiations with ")


def test_quote_not_in_the_text_is_400(editor):
    response = submit(editor, "d142", {"exact": "no such words", "replacement": "x"}, htmx=False)
    assert response.status_code == 400 and "does not occur" in response.content.decode()


@pytest.fixture
def odd_document(sample_edition):
    tei = (f'<div xmlns="{TEI_NS}" type="document" xml:id="d900" n="900"><head>900. Odd</head>'
           "<p>Before \U0001d504\U0001d505 the q\u0307 word and cafe\u0301 after.</p></div>")
    return create_document(sample_edition, "d900", tei, {"number": 900, "title": "Odd"},
                           order=900, by=None, summary="test")


def test_astral_and_combining_characters_count_as_code_points(editor, odd_document):
    revision = odd_document.current_revision
    assert revision.text == ("900. Odd\n\nBefore \U0001d504\U0001d505 the q\u0307 word and "
                             "caf\u00e9 after.")
    data = selection(revision, "the q\u0307 word", replacement="the q\u0307 words")
    assert data["start"] == revision.text.index("the")  # code points: 𝔄 counts one
    assert submit(editor, "d900", data).status_code == 200
    (change,) = only_proposal().changes.all()
    assert revision.text[change.start:change.end] == "the q\u0307 word"


def test_utf16_offsets_are_recovered_from_the_quote(editor, odd_document):
    revision = odd_document.current_revision
    data = selection(revision, "the q\u0307 word", replacement="the word")
    data.update(start=data["start"] + 2, end=data["end"] + 2)  # 𝔄𝔅 counted as UTF-16 units
    assert submit(editor, "d900", data).status_code == 200
    (change,) = only_proposal().changes.all()
    assert change.start == revision.text.index("the")


def test_decomposed_quote_and_replacement_are_nfc(editor, odd_document):
    response = submit(editor, "d900", {"exact": "cafe\u0301", "replacement": "Cafe\u0301"},
                      htmx=False)
    assert response.status_code == 302
    (change,) = only_proposal().changes.all()
    assert change.exact == "caf\u00e9" and change.content == "Caf\u00e9"


def test_crlf_and_whitespace_runs_in_a_replacement_become_one_space(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    data = selection(revision, "restrained manner", replacement="restrained\r\n   and\t calm",
                     rationale="Line one\r\nline two")
    assert submit(editor, "d142", data).status_code == 200
    proposal = only_proposal()
    assert proposal.changes.get().content == "restrained and calm"
    assert proposal.rationale == "Line one\nline two"


def test_typed_quote_across_lines_is_collapsed(editor):
    response = submit(editor, "d142", {"exact": "  restrained\r\n manner ", "replacement": "x y"},
                      htmx=False)
    assert response.status_code == 302
    assert only_proposal().changes.get().exact == "restrained manner"


# -- stale revisions ----------------------------------------------------------------------------


def approve_elsewhere(edition, people, exact, replacement, xml_id="d142"):
    document = doc(edition, xml_id)
    revision = document.current_revision
    proposal = do_propose(document, author=people.editor, base_revision=revision.number,
                          changes=[text_spec(revision, exact, replacement)],
                          rationale="elsewhere")
    do_approve(proposal, by=people.reviewer)


def test_selection_on_an_older_revision_is_mapped(editor, sample_edition, people):
    old = doc(sample_edition).current_revision
    data = selection(old, "restrained manner", replacement="restrained attitude")
    approve_elsewhere(sample_edition, people, "The Prime Minister expressed the appreciation",
                      "The Prime Minister warmly expressed the appreciation")
    assert submit(editor, "d142", data).status_code == 200
    proposal = Proposal.objects.get(changes__content="restrained attitude")
    change = proposal.changes.get()
    assert proposal.revision.number == old.number + 1
    assert change.start == data["start"] + len("warmly ") and change.exact == "restrained manner"


def test_stale_selection_overlapping_an_approved_change_shows_a_fresh_form(editor, sample_edition,
                                                                            people):
    old = doc(sample_edition).current_revision
    data = selection(old, "restrained manner", replacement="restrained attitude",
                     rationale="Keep me")
    approve_elsewhere(sample_edition, people, "the restrained manner", "the calm manner")
    response = submit(editor, "d142", data)
    assert response.status_code == 409
    page = html.fragment_fromstring(response.content.decode(), create_parent=True)
    assert "stale" in page.xpath("string(//div[@class='propose-error'])").lower()
    assert page.xpath("//input[@name='rev']/@value") == [str(old.number + 1)]
    assert page.xpath("//input[@name='start']/@value") == [""]
    assert textarea(page, "rationale") == "Keep me"
    assert Proposal.objects.filter(changes__content="restrained attitude").count() == 0


# -- escaping, the page without JavaScript, grouping, other kinds -------------------------------


def test_script_in_replacement_and_rationale_is_shown_as_text(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    data = selection(revision, "restrained manner", replacement=XSS, rationale=XSS,
                     action="queue")
    response = editor.post(URL.format("d142"), data, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert XSS not in body and "&lt;script&gt;" in body
    # An error message quoting the person's text escapes it too.
    response = submit(editor, "d142", {"exact": XSS, "replacement": "x"}, htmx=False)
    assert response.status_code == 400
    assert XSS not in response.content.decode()


def test_form_without_javascript_creates_a_proposal_and_redirects(editor, sample_edition):
    response = submit(editor, "d142", {"exact": "restrained manner", "replacement": "calm manner",
                                       "rationale": "Per the original"}, htmx=False)
    proposal = only_proposal()
    assert response.status_code == 302
    assert response["Location"] == f"/review/proposals/{proposal.pk}/"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [f"Proposal {proposal.pk} submitted: reviewers will see it in their queue."]


def test_rationale_is_required(editor, sample_edition):
    data = selection(doc(sample_edition).current_revision, "restrained manner",
                     replacement="calm manner", rationale="  ")
    response = submit(editor, "d142", data)
    assert response.status_code == 400 and "rationale is required" in response.content.decode()
    assert not Proposal.objects.exists()


def test_changes_are_queued_and_submitted_as_one_proposal(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    first = selection(revision, "restrained manner", replacement="calm manner", action="queue")
    response = editor.post(URL.format("d142"), first, **HTMX)
    page = html.fragment_fromstring(response.content.decode(), create_parent=True)
    queued = page.xpath("//input[@name='queued']/@value")
    assert len(queued) == 1 and json.loads(queued[0])["content"] == "calm manner"
    assert page.xpath("//input[@name='start']/@value") == [""]  # ready for the next selection
    second = selection(revision, "voluntary repatriation", replacement="voluntary return",
                       queued=queued)
    assert submit(editor, "d142", second).status_code == 200
    assert sorted(only_proposal().changes.values_list("content", flat=True)) == [
        "calm manner", "voluntary return"]


def test_a_queued_change_can_be_removed(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    queued = json.dumps({"kind": "text", "start": 1, "end": 2, "exact": "4", "content": "5",
                         "note_id": ""})
    response = editor.post(URL.format("d142"), {"rev": revision.number, "queued": [queued],
                                                "action": "unqueue-0"}, **HTMX)
    assert response.status_code == 200 and b'name="queued"' not in response.content


def test_malformed_queued_change_is_400(editor, sample_edition):
    response = submit(editor, "d142", {"queued": ["{not json"], "exact": "x"})
    assert response.status_code == 400


@pytest.fixture
def d143(sample_edition):
    document, _ = import_text(D143_TEXT, edition=sample_edition)
    return Document.objects.select_related("current_revision").get(pk=document.pk)


def test_footnote_is_prefilled_for_editing_and_edited(editor, d143):
    revision = d143.current_revision
    response = editor.get(URL.format("d143"), {"rev": revision.number, "kind": "note-edit",
                                               "note_id": "d143fn0"}, **HTMX)
    page = html.fragment_fromstring(response.content.decode(), create_parent=True)
    body = textarea(page, "note_edit_body")
    assert "Documents 139142 and 144146." in body
    fixed = body.replace("139142", "139–142").replace("144146", "144–146")
    response = submit(editor, "d143", {"rev": revision.number, "kind": "note-edit",
                                       "note_id": "d143fn0", "note_edit_body": fixed})
    assert response.status_code == 200
    change = only_proposal().changes.get()
    assert (change.kind, change.note_id, change.content) == ("note-edit", "d143fn0", fixed)


def test_point_after_a_sentence_suggests_a_footnote(editor, d143):
    revision = d143.current_revision
    point = revision.text.index("tantamount to recognition.") + len("tantamount to recognition.")
    data = {"rev": revision.number, "start": point, "end": point, "exact": "",
            "prefix": revision.text[point - 32:point], "suffix": revision.text[point:point + 32]}
    page = html.fragment_fromstring(editor.get(URL.format("d143"), data, **HTMX).content.decode(),
                                    create_parent=True)
    assert page.xpath("//input[@name='kind'][@checked]/@value") == ["note-add"]
    body = 'See <hi rend="italic">Foreign Relations</hi>, vol. XIX.'
    response = submit(editor, "d143", {**data, "kind": "note-add", "note_body": body})
    assert response.status_code == 200
    change = only_proposal().changes.get()
    assert (change.kind, change.start, change.end) == ("note-add", point, point)
    assert change.content == body


def test_point_at_a_block_start_suggests_a_structural_insertion(editor, d143):
    revision = d143.current_revision
    point = revision.text.index("SUBJECT")
    data = {"rev": revision.number, "start": point, "end": point, "exact": "",
            "prefix": revision.text[point - 32:point], "suffix": revision.text[point:point + 32]}
    page = html.fragment_fromstring(editor.get(URL.format("d143"), data, **HTMX).content.decode(),
                                    create_parent=True)
    assert page.xpath("//input[@name='kind'][@checked]/@value") == ["structure"]
    assert page.xpath("//input[@name='placement'][@checked]/@value") == ["before"]
    fragment = "<opener><dateline>Washington, January 19, 1960, 3:30–5:30 p.m.</dateline></opener>"
    response = submit(editor, "d143", {**data, "kind": "structure", "placement": "before",
                                       "fragment": fragment})
    assert response.status_code == 200
    change = only_proposal().changes.get()
    assert (change.kind, change.start, change.end) == ("structure", point, point)


def test_selection_in_a_block_prefills_its_tei_for_a_structural_fix(editor, d143):
    revision = d143.current_revision
    response = editor.get(URL.format("d143"), selection(revision, "Relations With"), **HTMX)
    page = html.fragment_fromstring(response.content.decode(), create_parent=True)
    fragment = textarea(page, "fragment")
    assert fragment.startswith('<list type="subject">')
    assert "Relations With Communist China" in fragment


def test_bad_fragment_is_refused_with_the_reason(editor, d143):
    revision = d143.current_revision
    data = selection(revision, "Relations With", kind="structure",
                     fragment="<list><script>x</script></list>", action="queue")
    response = editor.post(URL.format("d143"), data, **HTMX)
    assert response.status_code == 400
    assert "&lt;script&gt; is not allowed" in response.content.decode()


# -- the reading view -----------------------------------------------------------------------------


def test_reading_view_offers_proposing_to_proposers_only(client, sample_edition, people):
    anonymous = client.get("/frus1958-60v18/d142/").content.decode()
    assert "propose-root" not in anonymous and "propose.js" not in anonymous
    assert 'data-o="0"' in anonymous  # offsets are part of the cached rendering for everyone
    client.force_login(people.stranger)
    assert "propose-root" not in client.get("/frus1958-60v18/d142/").content.decode()
    client.force_login(people.editor)
    page = html.fromstring(client.get("/frus1958-60v18/d142/").content)
    (root,) = page.xpath("//div[@id='propose-root']")
    assert root.get("data-url") == URL.format("d142") and root.get("data-rev") == "1"
    assert page.xpath("//script[contains(@src, 'review/propose.js')]")
    assert page.xpath(f"//a[@href='{URL.format('d142')}']")  # the form, without JavaScript


def test_earlier_revision_offers_no_proposing(client, sample_edition, people):
    approve_elsewhere(sample_edition, people, "restrained manner", "calm manner")
    client.force_login(people.editor)
    assert "propose-root" not in client.get("/frus1958-60v18/d142/r/1/").content.decode()
    assert "propose-root" in client.get("/frus1958-60v18/d142/").content.decode()


@pytest.mark.parametrize("forged", [
    {"kind": "text", "start": "1", "end": 2, "exact": "4", "content": "", "note_id": ""},
    {"kind": "text", "start": 5, "end": 2, "exact": "4", "content": "", "note_id": ""},
    {"kind": "script", "start": 1, "end": 2, "exact": "4", "content": "", "note_id": ""},
    {"kind": "text", "start": 1, "end": 2, "exact": 4, "content": "", "note_id": ""},
])
def test_forged_queued_changes_are_400(editor, sample_edition, forged):
    response = submit(editor, "d142", {"queued": [json.dumps(forged)]})
    assert response.status_code == 400 and not Proposal.objects.exists()


def test_forged_queued_change_with_a_wrong_quote_is_refused(editor, sample_edition):
    revision = doc(sample_edition).current_revision
    forged = {"kind": "text", "start": 0, "end": 4, "exact": "XXXX", "content": "y",
              "note_id": ""}
    response = submit(editor, "d142", {"rev": revision.number, "queued": [json.dumps(forged)]})
    assert response.status_code == 400 and "XXXX" in response.content.decode()
    assert not Proposal.objects.exists()


def test_a_line_break_at_the_end_of_a_replacement_is_dropped(editor, sample_edition):
    data = selection(doc(sample_edition).current_revision, "restrained manner",
                     replacement="calm manner\r\n")
    assert submit(editor, "d142", data).status_code == 200
    assert only_proposal().changes.get().content == "calm manner"
