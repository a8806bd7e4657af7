"""One quote placement (edition.tei.selectors.place_quote) behind every way of naming a passage:
the API's selector without offsets, the proposing form's typed quote, and re-targeting."""

import pytest

from edition.models import Document
from edition.tei.selectors import Quote, place_quote
from review.models import Proposal
from tests.helpers import token_client

pytestmark = pytest.mark.django_db

EDITION = "frus1958-60v18"
EXACT = "Japanese Government"  # three times in d142: the context must choose


def head_text() -> str:
    return Document.objects.get(xml_id="d142").current_revision.text


def typed_context(text: str, start: int) -> tuple[str, str]:
    """Context as a person types it: a few words either side, without the edge spaces."""
    end = start + len(EXACT)
    return text[start - 20:start].strip(), text[end:end + 15].strip()


def test_api_form_and_retarget_place_the_same_quote_at_the_same_offsets(client, people):
    text = head_text()
    second = text.index(EXACT, text.index(EXACT) + 1)
    prefix, suffix = typed_context(text, second)
    expected = place_quote(text, Quote(EXACT, prefix, suffix))
    assert expected == second

    api = token_client(people.editor)
    response = api.post(f"/api/editions/{EDITION}/documents/d142/proposals/", {
        "base_revision": 1, "rationale": "API",
        "selector": {"exact": EXACT, "prefix": prefix, "suffix": suffix},
        "replacement": "Government of Japan"}, format="json")
    assert response.status_code == 201, response.json()
    by_api = Proposal.objects.get(pk=response.json()["id"])

    client.force_login(people.editor)
    response = client.post(f"/{EDITION}/d142/propose/", {
        "action": "submit", "rev": "1", "kind": "text", "exact": EXACT, "prefix": prefix,
        "suffix": suffix, "replacement": "Government of Japan", "rationale": "Form"})
    assert response.status_code == 302, response.content.decode()[-1500:]
    by_form = Proposal.objects.exclude(pk=by_api.pk).get()

    response = client.post(f"/review/proposals/{by_api.pk}/retarget/", {
        "c0-quote": EXACT, "c0-content": "the Government of Japan", "rationale": "Again"})
    assert response.status_code == 302, response.content.decode()[-1500:]

    offsets = {name: [(c.start, c.end) for c in p.changes.all()]
               for name, p in (("api", by_api), ("form", by_form), ("retarget", by_api))}
    assert offsets == {name: [(second, second + len(EXACT))] for name in offsets}


def test_a_quote_its_context_cannot_place_is_refused_alike(client, people):
    """Without context the quote is ambiguous: the API and the form both say so and list the
    places; nothing is stored."""
    text = head_text()
    places = [i for i in range(len(text)) if text.startswith(EXACT, i)]
    assert len(places) == 3
    api = token_client(people.editor)
    response = api.post(f"/api/editions/{EDITION}/documents/d142/proposals/", {
        "base_revision": 1, "rationale": "API", "selector": {"exact": EXACT},
        "replacement": "Government of Japan"}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["candidates"] == places

    client.force_login(people.editor)
    response = client.post(f"/{EDITION}/d142/propose/", {
        "action": "submit", "rev": "1", "kind": "text", "exact": EXACT,
        "replacement": "Government of Japan", "rationale": "Form"})
    assert response.status_code == 400
    assert "occurs 3 times" in response.content.decode()
    assert not Proposal.objects.exists()
