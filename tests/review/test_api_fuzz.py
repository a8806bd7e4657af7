"""Schemathesis fuzzes every operation of the API from its own OpenAPI schema (/api/schema/),
in process through the WSGI application, anonymously and with a reviewer's and an editor's
token: whatever it sends, the answer is never a server error (issue 13).

The schema's examples point at the sample edition, d142 and a real proposal, so that the
generated requests reach the code behind the 404s as well as the 404s.
"""

import itertools
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from rest_framework.authtoken.models import Token

from config.wsgi import application
from tests.helpers import token_client

pytestmark = pytest.mark.django_db

EXAMPLES = 10  # per operation (the coverage phase adds its own): under a minute in all


def _schema() -> schemathesis.schemas.BaseSchema:
    """The schema /api/schema/ serves, made at collection (the database is not up yet); the
    requests go to the WSGI application, in this process and this test's transaction.
    (schemathesis.pytest.from_fixture would load it from the server, but does not run on
    pytest 9.)"""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = application
    return loaded


schema = _schema()
TURNS = itertools.count()


@pytest.fixture
def tokens(settings, people, sample_edition):
    """Tokens of a reviewer and an editor, and a pending proposal of the editor's (which the
    reviewer may decide on and the editor withdraw or re-target)."""
    editor = token_client(people.editor)
    text = sample_edition.documents.get(xml_id="d142").current_revision.text
    start = text.index("Cameroons")
    response = editor.post(f"/api/editions/{sample_edition.slug}/documents/d142/proposals/", {
        "base_revision": 1, "rationale": "spelling", "replacement": "Cameroun",
        "selector": {"exact": "Cameroons", "start": start, "end": start + 9}}, format="json")
    assert response.status_code == 201
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # Schemathesis's WSGI client: localhost
    # Called as a WSGI application, Django closes the database connection after each request,
    # and this test's transaction with it on PostgreSQL. The test client (above) does as this
    # does, then connects the signals again: so this comes last.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield {"proposal": response.json()["id"],
           "as": [None, *(f"Token {Token.objects.get_or_create(user=user)[0].key}"
                          for user in (people.reviewer, people.editor))]}
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case, tokens):
    if case.path_parameters and case.path_parameters.get("pk") == 1:
        case.path_parameters["pk"] = tokens["proposal"]  # the schema's example: a real one
    # One identity per case, in turn: every operation meets each of them, at a third of the cost.
    authorization = tokens["as"][next(TURNS) % len(tokens["as"])]
    headers = {"Authorization": authorization} if authorization else {}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
