"""/search/, the header's box and GET /api/search/: readers find the published text; members of
an edition also find pending proposals; junk is explained, never a 500."""

from __future__ import annotations

import pytest
from lxml import html
from django.test import Client

from edition import search
from edition.models import Document
from review.actions.approve import do_approve
from review.actions.propose import do_propose
from tests.helpers import text_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(sample_volume, people):
    d144 = Document.objects.get(xml_id="d144")
    revision = d144.current_revision
    return do_propose(d144, author=people.editor, base_revision=revision.number,
                      changes=[text_spec(revision, "Prime Minister", "Premier Zanzibarian")],
                      rationale="Quixotic spelling as printed")


def test_reader_finds_ranked_results_with_volume_and_link(client, sample_volume):
    response = client.get("/search/", {"q": "negotiations"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 result" in page or "results" in page
    assert "<mark>negotiations</mark>" in page
    assert sample_volume.short_title in page
    assert "/frus1958-60v18/d142/?hl=negotiations" in page


def test_every_page_has_the_labelled_search_box(client, sample_volume):
    page = client.get("/").content.decode()
    assert 'role="search"' in page and 'for="site-search-q"' in page
    assert 'action="/search/"' in page


@pytest.mark.parametrize("params", [
    {"q": ""}, {"q": "-treaty"}, {"q": '"'}, {"q": "x" * 2000}, {"q": "a\x00b"},
    {"q": "treaty", "date_from": "1959-13-45"}, {"q": "treaty", "edition": "nope"},
    {"q": "treaty", "kind": "secret"}, {"q": "treaty", "page": "abc"},
    {"q": "treaty", "page": "99999999999999999999"}, {"q": "treaty", "edition": "x\x00"},
    {"q\x00": "x"}, {"q": "treaty", "date_from": "1960-01-01", "date_to": "1959-01-01"},
])
def test_junk_is_explained_never_a_500(client, sample_volume, params):
    response = client.get("/search/", params)
    assert response.status_code in (200, 400)
    assert b"Search" in response.content


def test_anonymous_never_sees_proposals(client, proposal):
    page = client.get("/search/", {"q": "Quixotic", "proposals": "on"}).content.decode()
    assert "Pending proposals" not in page and "Also search pending proposals" not in page
    page = client.get("/search/", {"q": "Zanzibarian", "proposals": "on"}).content.decode()
    assert "Zanzibarian" in page  # the query echoed in the box, nothing else
    assert f"/review/proposals/{proposal.pk}/" not in page


def test_member_finds_pending_proposals(client, proposal, people):
    client.force_login(people.reviewer)
    page = client.get("/search/", {"q": "quixotic", "proposals": "on"}).content.decode()
    assert f"/review/proposals/{proposal.pk}/" in page
    page = client.get("/search/", {"q": "Zanzibarian", "proposals": "on"}).content.decode()
    assert f"/review/proposals/{proposal.pk}/" in page


def test_stranger_sees_no_proposal_of_an_edition_they_are_not_in(client, proposal, people):
    client.force_login(people.stranger)
    page = client.get("/search/", {"q": "quixotic", "proposals": "on"}).content.decode()
    assert f"/review/proposals/{proposal.pk}/" not in page


def test_member_filters_to_documents_with_open_proposals(client, proposal, people):
    client.force_login(people.editor)
    page = client.get("/search/", {"q": "Minister", "open_only": "on"}).content.decode()
    assert "/frus1958-60v18/d144/" in page
    assert "/frus1958-60v18/d142/" not in page


def test_the_index_follows_an_approval(proposal, people):
    assert [h.document.xml_id for h in search.search("Zanzibarian").hits] == []
    do_approve(proposal, by=people.reviewer)
    assert [h.document.xml_id for h in search.search("Zanzibarian").hits] == ["d144"]
    assert "d144" not in [d.xml_id for d in search.documents_containing(
        proposal.document.edition, "Prime Minister")]


def test_api_answers_json(client, sample_volume):
    data = client.get("/api/search/", {"q": "negotiations", "kind": "document"}).json()
    assert data["count"] >= 1 and data["page"] == 1
    first = data["results"][0]
    assert first["edition"] == "frus1958-60v18" and first["document"] == "d142"
    assert "<mark>" in first["snippet_html"] and first["url"].startswith("http")


@pytest.mark.parametrize("params", [
    {"q": "a\x00"}, {"q": ""}, {"q": "-x"}, {"q": "x", "edition": "\x00"},
    {"q": "x", "date_to": "junk"}, {"q": "x", "page": "0"}, {"q": "x", "kind": "zzz"},
])
def test_api_junk_is_400(client, sample_volume, params):
    response = client.get("/api/search/", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_reading_view_cache_ignores_hl(sample_volume):
    reader = Client()
    first = reader.get("/frus1958-60v18/d142/?hl=negotiations")
    second = reader.get("/frus1958-60v18/d142/")
    assert first.status_code == second.status_code == 200
    assert first["ETag"] == second["ETag"]
    assert b"edition/highlight" in first.content


def test_proposers_may_turn_the_results_into_one_batch(client, sample_volume, people):
    """"Propose a replacement for these": for members who may propose in the volume searched,
    linking to the batch preview with the query; never for readers."""
    anonymous = client.get("/search/", {"q": '"Prime Minister"'}).content.decode()
    assert "Propose a replacement for these" not in anonymous
    client.force_login(people.editor)
    page = client.get("/search/", {"q": '"Prime Minister"', "edition": sample_volume.slug})
    link = html.fromstring(page.content).xpath("//p[@class='search-batch']/a")[0]
    assert link.text == "Propose a replacement for these"
    form = html.fromstring(client.get(link.get("href")).content)
    assert form.xpath("//input[@name='find']/@value") == ["Prime Minister"]
    preview = client.get(link.get("href") + "&replacement=Premier")
    assert preview.status_code == 200 and 'name="match"' in preview.content.decode()


def test_api_member_finds_pending_proposals(client, proposal, people):
    client.force_login(people.reviewer)
    data = client.get("/api/search/proposals/", {"q": "Zanzibarian"}).json()
    assert [p["id"] for p in data["results"]] == [proposal.pk] and data["count"] == 1
    assert data["results"][0]["changes"][0]["replacement"] == "Premier Zanzibarian"
    assert client.get("/api/search/proposals/", {"q": "Quixotic -spelling"}).json()[
        "results"] == []
    assert client.get("/api/search/proposals/",
                      {"q": "Quixotic", "edition": "frus1958-60v18"}).json()["count"] == 1


def test_api_proposal_search_is_for_members_only(client, proposal, people):
    assert client.get("/api/search/proposals/", {"q": "Zanzibarian"}).status_code == 401
    client.force_login(people.stranger)
    response = client.get("/api/search/proposals/", {"q": "Zanzibarian"})
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "-x"}, {"q": "a\x00"},
                                    {"q": "x", "edition": "nope"}])
def test_api_proposal_search_junk_is_400(client, proposal, people, params):
    client.force_login(people.editor)
    response = client.get("/api/search/proposals/", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
