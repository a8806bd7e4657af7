"""Every API endpoint × (anonymous, stranger, editor, reviewer, admin; own vs others' proposals).

Anonymous: 401 everywhere but the public document and its pages. A stranger (here a reviewer of *another*
edition, so roles cannot leak across editions) gets 404 for this edition's review objects.
Too small a role, or deciding on one's own proposal, is 403.
"""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from edition.models import Edition, Membership
from review.actions.propose import do_propose
from review.models import Proposal
from tests.helpers import make_member, text_spec

pytestmark = pytest.mark.django_db


EDITION = "frus1958-60v18"
DOC = f"/api/editions/{EDITION}/documents/d142/"
PERSONAS = ["anonymous", "stranger", "editor", "reviewer", "admin"]
MEMBERS = ["editor", "reviewer", "admin"]


@pytest.fixture
def world(sample_edition, people):
    other = Edition.objects.create(slug="other", title="Other", tei_header="<teiHeader/>",
                                   tei_skeleton="<TEI/>")
    Membership.objects.create(edition=other, user=people.stranger, role="reviewer")
    users = {persona: getattr(people, persona) for persona in [*MEMBERS, "stranger"]}
    users["author"] = people.editor2
    return sample_edition, users


def client_for(users, persona: str) -> APIClient:
    client = APIClient()
    if persona != "anonymous":
        token = Token.objects.create(user=users[persona])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def proposal_by(edition, author) -> Proposal:
    document = edition.documents.get(xml_id="d142")
    return do_propose(document, author=author, base_revision=1, rationale="spelling",
                      changes=[text_spec(document.current_revision, "Cameroons", "Cameroun")])


# Endpoints that need no proposal: (method, url, body, status by persona).
PROPOSE = {"base_revision": 1, "selector": {"exact": "Cameroons"}, "replacement": "Cameroun",
           "rationale": "spelling"}
GENERAL = [
    ("GET", DOC, None,
     {"anonymous": 200, "stranger": 200, "editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", DOC + "pages/", None,  # page images are public, as the text is
     {"anonymous": 200, "stranger": 200, "editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", DOC + "proposals/", None,
     {"anonymous": 401, "stranger": 404, "editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", DOC + "proposals/", PROPOSE,
     {"anonymous": 401, "stranger": 404, "editor": 201, "reviewer": 201, "admin": 201}),
    ("GET", "/api/proposals/", None,
     {"anonymous": 401, "stranger": 200, "editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", f"/api/proposals/?edition={EDITION}", None,
     {"anonymous": 401, "stranger": 404, "editor": 200, "reviewer": 200, "admin": 200}),
]


@pytest.mark.parametrize("method, url, body, persona, status", [
    (method, url, body, persona, table[persona])
    for method, url, body, table in GENERAL for persona in PERSONAS
])
def test_general_endpoints(world, method, url, body, persona, status):
    edition, users = world
    proposal_by(edition, users["author"])
    client = client_for(users, persona)
    if body is None:
        response = client.generic(method, url)
    else:
        response = client.generic(method, url, json.dumps(body), "application/json")
    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["error"]["code"]
    if url == "/api/proposals/" and persona == "stranger":
        assert response.json()["results"] == []  # nothing of an edition they are not in


# Actions on one proposal: "others" is a proposal by another editor, "own" by the persona.
DENIED = {"anonymous": 401, "stranger": 404}
# (method, action, body, status for "own", status for "others" — by persona where it differs)
DECIDERS = {"editor": 403, "reviewer": 200, "admin": 200}
ON_PROPOSAL = [
    ("GET", "", None, 200, 200),
    ("POST", "approve", {}, 403, DECIDERS),
    ("POST", "reject", {"reason": "no"}, 403, DECIDERS),
    ("POST", "request-changes", {"reason": "why?"}, 403, DECIDERS),
    ("POST", "comment", {"body": "Which source?"}, 201, 201),
    ("POST", "withdraw", {}, 200, 403),
    ("POST", "retarget", {"base_revision": 1, "selector": {"exact": "Cameroons"},
                          "replacement": "Cameroon"}, 200, 403),
]


def _cases():
    for method, action, body, own, others in ON_PROPOSAL:
        for persona in PERSONAS:
            for whose in ("own", "others"):
                if persona in DENIED:
                    if whose == "others":  # they cannot own one
                        yield method, action, body, persona, whose, DENIED[persona]
                    continue
                expected = own if whose == "own" else others
                if isinstance(expected, dict):
                    expected = expected[persona]
                yield method, action, body, persona, whose, expected


@pytest.mark.parametrize("method, action, body, persona, whose, status", list(_cases()))
def test_proposal_endpoints(world, method, action, body, persona, whose, status):
    edition, users = world
    author = users[persona] if whose == "own" else users["author"]
    proposal = proposal_by(edition, author)
    url = f"/api/proposals/{proposal.pk}/" + action
    client = client_for(users, persona)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, body, format="json")
    assert response.status_code == status, response.content
    proposal.refresh_from_db()
    if status >= 400:
        assert response.json()["error"]["code"] in {
            401: "not_authenticated", 403: "forbidden", 404: "not_found"}[status]
        if method == "POST" and action != "comment":
            assert proposal.status == Proposal.Status.PENDING  # nothing happened
    elif action in ("approve", "reject", "request-changes", "withdraw"):
        assert proposal.status == {"approve": "approved", "reject": "rejected",
                                   "request-changes": "changes",
                                   "withdraw": "withdrawn"}[action]


def test_superuser_acts_as_admin_everywhere(world):
    edition, users = world
    proposal = proposal_by(edition, users["author"])
    root = make_member(edition, "root", None, is_superuser=True)
    client = client_for({"root": root}, "root")
    assert client.get(f"/api/proposals/{proposal.pk}/").status_code == 200
    assert client.post(f"/api/proposals/{proposal.pk}/approve").status_code == 200


def test_unknown_proposal_is_404_for_everyone_signed_in(world):
    _, users = world
    for persona in ["stranger", *MEMBERS]:
        response = client_for(users, persona).post("/api/proposals/4242/approve")
        assert response.status_code == 404
