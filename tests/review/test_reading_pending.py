"""The reading view for members who may propose: the bar at the top (how to propose, the form),
and the open proposals of the document, listed and handed to propose.js to mark in the text."""

import json

import pytest
from lxml import html

from edition.models import Document
from review.actions.decide import do_withdraw
from review.actions.propose import ChangeSpec, do_propose
from tests.helpers import text_spec

pytestmark = pytest.mark.django_db

PAGE = "/frus1958-60v18/d142/"


def d142() -> Document:
    return Document.objects.get(xml_id="d142")


def propose(author, exact, replacement, rationale="fix"):
    document = d142()
    revision = document.current_revision
    return do_propose(document, author=author, base_revision=revision.number,
                      changes=[text_spec(revision, exact, replacement)], rationale=rationale)


def tree_of(client):
    response = client.get(PAGE)
    assert response.status_code == 200
    return html.fromstring(response.content)


def test_proposer_gets_the_bar_above_the_text(client, sample_edition, people):
    client.force_login(people.editor)
    tree = tree_of(client)
    [bar] = tree.xpath("//section[@id='propose-bar']")
    assert "Suggest a correction" in bar.text_content()
    assert "select words" in bar.text_content()
    assert bar.xpath(".//a[@href='/frus1958-60v18/d142/propose/']")  # the form, without JavaScript
    # The bar comes before the document's text, not after its footnotes.
    [article] = tree.xpath("//article[contains(@class, 'tei-document')]")
    assert bar.getnext() is article


def test_readers_and_strangers_get_no_bar(client, sample_edition, people):
    propose(people.editor, "restrained manner", "calm manner")
    anonymous = client.get(PAGE).content.decode()
    assert "propose-bar" not in anonymous and "pending-proposals" not in anonymous
    client.force_login(people.stranger)
    assert "propose-bar" not in client.get(PAGE).content.decode()


def test_open_proposals_are_counted_linked_and_placed(client, sample_edition, people):
    text = d142().current_revision.text
    first = propose(people.editor, "restrained manner", "calm manner")
    second = propose(people.reviewer, "prospective membership", "future membership")
    withdrawn = propose(people.editor, "Prime Minister", "Premier")
    do_withdraw(withdrawn, by=people.editor)
    document = d142()
    note = do_propose(document, author=people.editor2,
                      base_revision=document.current_revision.number,
                      changes=[ChangeSpec("note-remove", 0, 0, "", note_id="d142fn1")],
                      rationale="not needed")
    client.force_login(people.editor)
    tree = tree_of(client)
    [summary] = tree.xpath("//details[@class='propose-pending']/summary")
    assert " ".join(summary.text_content().split()).startswith(
        "3 open proposals on this document")
    links = tree.xpath("//details[@class='propose-pending']//a/@href")
    assert links == [f"/review/proposals/{p.pk}/" for p in (first, second, note)]
    [data] = tree.xpath("//script[@id='pending-proposals']")
    assert data.get("type") == "application/json"
    start = text.index("restrained manner")
    other = text.index("prospective membership")
    # A footnote removal has no passage in the text to mark.
    assert json.loads(data.text) == [[start, start + len("restrained manner"), first.pk],
                                     [other, other + len("prospective membership"), second.pk]]


def test_a_new_proposal_changes_the_pages_etag(client, sample_edition, people):
    client.force_login(people.editor)
    etag = client.get(PAGE)["ETag"]
    assert client.get(PAGE, HTTP_IF_NONE_MATCH=etag).status_code == 304
    propose(people.reviewer, "restrained manner", "calm manner")
    response = client.get(PAGE, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert b"1 open proposal on this document" in response.content
