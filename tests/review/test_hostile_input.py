"""No 500 from any input (issue 13): each request here once crashed a view. Hostile values —
superscript digits that `str.isdigit` accepts and `int` refuses, NULs PostgreSQL cannot store or
compare, integers past a column's range, lone surrogates, JSON nested past the recursion limit,
bodies past DATA_UPLOAD_MAX_MEMORY_SIZE — get a 400, 404 or 413, in JSON on the API.

Run these on PostgreSQL too (DATABASE_URL=postgres://…): NULs and overflows only fail there."""

from __future__ import annotations

import json

import pytest

from review.models import Event, Proposal
from tests.helpers import token_client

pytestmark = pytest.mark.django_db

EDITION = "frus1958-60v18"
PROPOSE_API = f"/api/editions/{EDITION}/documents/d142/proposals/"
PROPOSE_FORM = f"/{EDITION}/d142/propose/"
HUGE = "9" * 30  # past PostgreSQL's bigint
ENORMOUS = "7" * 5000  # past Python's int() digit limit (4300)
HOSTILE_NUMBERS = ["²", "١٢", HUGE, ENORMOUS, "-1", "1\x00", ""]


@pytest.fixture
def d142(sample_edition):
    return sample_edition.documents.select_related("current_revision").get(xml_id="d142")


@pytest.fixture
def as_editor(people):
    return token_client(people.editor)


@pytest.fixture
def as_reviewer(people):
    return token_client(people.reviewer)


@pytest.fixture
def proposal(d142, people):
    text = d142.current_revision.text
    start = text.index("Cameroons")
    response = token_client(people.editor).post(PROPOSE_API, {
        "base_revision": 1, "rationale": "spelling",
        "selector": {"exact": "Cameroons", "start": start, "end": start + 9},
        "replacement": "Cameroun"}, format="json")
    assert response.status_code == 201, response.content
    return Proposal.objects.get(pk=response.json()["id"])


def api_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


def post_raw(client, url: str, body: str | bytes):
    return client.generic("POST", url, body, content_type="application/json")


# -- the pages ------------------------------------------------------------------------------


class TestPages:
    @pytest.mark.parametrize("value", HOSTILE_NUMBERS)
    def test_corrections_since_is_never_a_500(self, client, sample_edition, value):
        response = client.get(f"/{EDITION}/d142/corrections/", {"since": value})
        # The log, with "since must be a revision number" (an empty one is no since at all).
        assert response.status_code == (400 if value.strip() else 200)

    @pytest.mark.parametrize("value", ["²", "١٢", HUGE, ENORMOUS, "-1", "1\x00"])
    def test_guided_fix_revision_is_a_400(self, client, people, sample_edition, value):
        client.force_login(people.editor)
        response = client.get(f"/{EDITION}/d142/fix/dateline/", {"rev": value})
        assert response.status_code == 400

    @pytest.mark.parametrize("value", HOSTILE_NUMBERS)
    def test_diff_form_numbers_are_a_400(self, client, sample_edition, value):
        response = client.get(f"/{EDITION}/d142/diff/1/1/", {"a": value, "b": "1"})
        assert response.status_code == 400

    @pytest.mark.parametrize("value", ["²", HUGE, "1\x00"])
    def test_corrections_page_number_is_never_a_500(self, client, sample_edition, value):
        assert client.get(f"/{EDITION}/corrections/", {"page": value}).status_code == 200

    @pytest.mark.parametrize("path", [f"/{EDITION}/", f"/{EDITION}/d142/"])
    @pytest.mark.parametrize("value", ["²", HUGE, ENORMOUS, "1\x00", "-1"])
    def test_reading_pages_page_numbers_are_never_a_500(self, client, sample_edition, path,
                                                        value):
        assert client.get(path, {"page": value}).status_code in (200, 400, 404)

    @pytest.mark.parametrize("name", ["d%00.html", "%00.html", f"{EDITION}%00.html", "d142.%00"])
    def test_export_name_with_a_nul_is_404(self, client, sample_edition, name):
        assert client.get(f"/{EDITION}/exports/{name}").status_code == 404

    @pytest.mark.parametrize("path", [f"/{EDITION}/exports/{HUGE}/d142.html",
                                      f"/{EDITION}/d142/r/{HUGE}/",
                                      f"/{EDITION}/d142/diff/1/{HUGE}/",
                                      f"/review/proposals/{HUGE}/"])
    def test_integers_in_addresses_past_the_columns_are_404(self, client, people, path):
        client.force_login(people.reviewer)
        assert client.get(path).status_code == 404

    @pytest.mark.parametrize("value", ["²", ENORMOUS, HUGE, "1\x00", "-3"])
    def test_batch_approve_refuses_what_is_not_a_proposal_id(self, client, people, proposal,
                                                             value):
        client.force_login(people.reviewer)
        response = client.post("/review/batch-approve/", {"proposal": [str(proposal.pk), value]},
                               HTTP_HX_REQUEST="true")
        assert response.status_code == 400
        proposal.refresh_from_db()
        assert proposal.status == "pending"

    @pytest.mark.parametrize("param", ["after", "before"])
    @pytest.mark.parametrize("value", [f"{HUGE}-1", f"1-{HUGE}", "²-1", "1\x00-1", ENORMOUS])
    def test_queue_cursors_are_never_a_500(self, client, people, param, value):
        client.force_login(people.reviewer)
        assert client.get("/review/queue/", {param: value}).status_code in (200, 400)

    @pytest.mark.parametrize("param", ["document", "author", "edition", "status", "kind",
                                       "older_than"])
    def test_queue_filters_with_a_nul_are_never_a_500(self, client, people, param):
        client.force_login(people.reviewer)
        assert client.get("/review/queue/", {param: "d1\x00"}).status_code in (200, 400)

    @pytest.mark.parametrize("field", ["start", "end", "rev", "choice"])
    @pytest.mark.parametrize("value", ["²", HUGE, ENORMOUS, "1\x00"])
    def test_propose_form_numbers_are_a_400(self, client, people, d142, field, value):
        client.force_login(people.editor)
        text = d142.current_revision.text
        start = text.index("Cameroons")
        data = {"action": "submit", "kind": "text", "rev": 1, "start": start,
                "end": start + 9, "exact": "Cameroons", "replacement": "Cameroun",
                "rationale": "x", field: value}
        response = client.post(PROPOSE_FORM, data, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 400)
        assert not Proposal.objects.exists()

    @pytest.mark.parametrize("method", ["get", "post"])
    @pytest.mark.parametrize("field", ["exact", "prefix", "suffix", "replacement", "note_id",
                                       "kind", "action", "placement", "body", "fragment",
                                       "queued", "reset", "element"])
    @pytest.mark.parametrize("kind", ["text", "note-edit", "structure", "markup"])
    def test_propose_form_with_a_nul_anywhere_is_never_a_500(self, client, people, d142,
                                                             method, field, kind):
        client.force_login(people.editor)
        text = d142.current_revision.text
        start = text.index("Cameroons")
        data = {"action": "place" if method == "get" else "submit", "kind": kind, "rev": 1,
                "start": start, "end": start + 9, "exact": "Cameroons", "note_id": "d142fn1",
                "replacement": "Cameroun", "body": "x", "fragment": "<p>x</p>",
                "element": "persName", "rationale": "x"}
        data[field] = data.get(field, "") + "\x00"
        response = getattr(client, method)(PROPOSE_FORM, data, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 400, 409)
        # A field the kind does not use may carry anything: nothing stored holds the NUL.
        for proposal in Proposal.objects.prefetch_related("changes"):
            assert "\x00" not in proposal.rationale
            for change in proposal.changes.all():
                assert "\x00" not in change.content + change.exact + change.prefix + \
                    change.suffix + change.note_id

    def test_nul_in_a_form_rationale_is_refused(self, client, people, d142):
        client.force_login(people.editor)
        text = d142.current_revision.text
        start = text.index("Cameroons")
        response = client.post(PROPOSE_FORM, {
            "action": "submit", "kind": "text", "rev": 1, "start": start, "end": start + 9,
            "exact": "Cameroons", "replacement": "Cameroun", "rationale": "a\x00b"},
            HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 400)
        assert "NUL" in response.content.decode() or "Null" in response.content.decode()
        assert not Proposal.objects.exists()

    def test_nul_in_a_form_replacement_is_refused(self, client, people, d142):
        client.force_login(people.editor)
        text = d142.current_revision.text
        start = text.index("Cameroons")
        response = client.post(PROPOSE_FORM, {
            "action": "submit", "kind": "text", "rev": 1, "start": start, "end": start + 9,
            "exact": "Cameroons", "replacement": "Came\x00roun", "rationale": "x"},
            HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 400)
        assert not Proposal.objects.exists()

    def test_nul_in_a_form_comment_is_refused(self, client, people, proposal):
        client.force_login(people.reviewer)
        response = client.post(f"/review/proposals/{proposal.pk}/comment/", {"body": "a\x00b"})
        assert response.status_code in (200, 400)
        assert not Event.objects.filter(kind="commented").exists()


# -- the API --------------------------------------------------------------------------------


class TestApi:
    @pytest.mark.parametrize("param", ["document", "author", "edition", "status", "cursor",
                                       "limit"])
    def test_nul_in_a_filter_is_a_400(self, as_editor, param):
        error = api_error(as_editor.get("/api/proposals/", {param: "d1\x00"}), 400)
        assert "NUL" in error["message"]
        assert error["field"] == param

    @pytest.mark.parametrize("position", ["abc", "²", HUGE, "1%00", "-5", ENORMOUS])
    @pytest.mark.parametrize("reverse", ["0", "1"])
    def test_forged_cursors_are_a_400(self, as_editor, proposal, position, reverse):
        import base64
        from urllib.parse import unquote

        token = f"r={reverse}&p={unquote(position)}"
        cursor = base64.b64encode(token.encode()).decode()
        assert as_editor.get("/api/proposals/", {"cursor": cursor}).status_code in (200, 400)

    def test_nul_in_a_document_filter_is_a_400(self, as_editor, d142):
        api_error(as_editor.get(PROPOSE_API, {"document": "\x00"}), 400)

    @pytest.mark.parametrize("value", HOSTILE_NUMBERS[:-1])
    def test_revision_of_a_document_is_a_400(self, client, sample_edition, value):
        response = client.get(f"/api/editions/{EDITION}/documents/d142/", {"revision": value})
        assert response.status_code in (400, 404)
        assert response["Content-Type"].startswith("application/json")

    def test_register_query_with_a_nul_is_a_400(self, client, sample_edition):
        api_error(client.get(f"/api/editions/{EDITION}/persons/", {"q": "a\x00"}), 400)

    @pytest.mark.parametrize("action", ["", "approve", "reject", "comment", "withdraw"])
    def test_proposal_ids_past_the_column_are_404(self, as_reviewer, people, action):
        url = f"/api/proposals/{HUGE}/" + action
        response = as_reviewer.get(url) if not action else as_reviewer.post(
            url, {"reason": "x", "body": "x"}, format="json")
        api_error(response, 404)

    @pytest.mark.parametrize("value", [int(HUGE), -1, 2**31])
    def test_base_revision_past_the_column_is_refused(self, as_editor, d142, value):
        response = as_editor.post(PROPOSE_API, {
            "base_revision": value, "rationale": "x",
            "selector": {"exact": "Cameroons"}, "replacement": "y"}, format="json")
        assert response.status_code in (400, 409)

    @pytest.mark.parametrize("offset", [int(HUGE), 2**31, 2**63])
    def test_offsets_past_the_text_are_422(self, as_editor, d142, offset):
        response = as_editor.post(PROPOSE_API, {
            "base_revision": 1, "rationale": "x",
            "selector": {"exact": "", "start": offset, "end": offset}, "replacement": "y"},
            format="json")
        api_error(response, 422)

    @pytest.mark.parametrize("escape", ["\\udfff", "\\ud800", "a\\ud800b", "\\udc00\\ud800"])
    def test_lone_surrogates_are_not_valid_unicode(self, as_editor, d142, escape):
        body = ('{"base_revision": 1, "rationale": "' + escape + '", '
                '"selector": {"exact": "Cameroons"}, "replacement": "y"}')
        error = api_error(post_raw(as_editor, PROPOSE_API, body), 400)
        assert "not valid Unicode" in error["message"]
        assert not Proposal.objects.exists()

    def test_a_lone_surrogate_in_a_key_is_not_valid_unicode(self, as_editor, d142):
        error = api_error(post_raw(as_editor, PROPOSE_API, '{"\\ud800": 1}'), 400)
        assert "not valid Unicode" in error["message"]

    def test_a_surrogate_pair_is_fine(self, as_editor, d142):
        body = ('{"base_revision": 1, "rationale": "\\ud83d\\ude00", '
                '"selector": {"exact": "Cameroons"}, "replacement": "Cameroun"}')
        assert post_raw(as_editor, PROPOSE_API, body).status_code == 201

    @pytest.mark.parametrize("field", ["rationale", "replacement"])
    def test_nul_in_a_proposal_is_refused(self, as_editor, d142, field):
        body = {"base_revision": 1, "rationale": "x", "selector": {"exact": "Cameroons"},
                "replacement": "Cameroun"}
        body[field] = "a\x00b"
        error = api_error(as_editor.post(PROPOSE_API, body, format="json"), 400)
        assert "contains a NUL character" in error["message"]
        assert error["field"] == field
        assert not Proposal.objects.exists()

    def test_nul_in_a_selector_names_the_field(self, as_editor, d142):
        error = api_error(as_editor.post(PROPOSE_API, {
            "base_revision": 1, "rationale": "x", "selector": {"exact": "Came\x00roons"},
            "replacement": "y"}, format="json"), 400)
        assert error["field"] == "selector.exact"

    @pytest.mark.parametrize("action,field", [("comment", "body"), ("reject", "reason"),
                                              ("request-changes", "reason")])
    def test_nul_in_a_comment_or_reason_is_refused(self, as_reviewer, proposal, action, field):
        error = api_error(as_reviewer.post(f"/api/proposals/{proposal.pk}/{action}",
                                           {field: "a\x00b"}, format="json"), 400)
        assert "contains a NUL character" in error["message"]
        proposal.refresh_from_db()
        assert proposal.status == "pending"
        assert not Event.objects.filter(kind="commented").exists()

    @pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000, "[" * 5000 + "]" * 5000])
    def test_json_nested_past_the_recursion_limit_is_a_400(self, as_editor, d142, body):
        api_error(post_raw(as_editor, PROPOSE_API, body), 400)

    def test_a_ten_megabyte_body_is_a_json_413(self, as_editor, d142):
        body = json.dumps({"base_revision": 1, "rationale": "x" * (10 * 1024 * 1024)})
        error = api_error(post_raw(as_editor, PROPOSE_API, body), 413)
        assert error["code"] == "too_large"

    def test_a_ten_megabyte_body_is_a_json_413_through_the_session_too(self, people, d142):
        from rest_framework.test import APIClient

        client = APIClient(enforce_csrf_checks=True)
        client.force_login(people.editor)
        body = "[" + "1," * (5 * 1024 * 1024) + "1]"
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            response = client.generic("POST", PROPOSE_API, body, content_type=content_type)
            assert response.status_code in (403, 413)  # the CSRF check may read the body
            assert response["Content-Type"].startswith("application/json")

    def test_a_ten_megabyte_form_body_is_a_json_413(self, as_editor, d142):
        response = as_editor.generic("POST", PROPOSE_API, "a=" + "x" * (10 * 1024 * 1024),
                                     content_type="application/x-www-form-urlencoded")
        assert response.status_code in (413, 415)
        assert response["Content-Type"].startswith("application/json")


class TestThroughWsgi:
    """The same refusals through the WSGI application itself (what gunicorn calls), not the
    test client."""

    @pytest.fixture
    def wsgi(self, settings, people):
        from django.core.signals import request_finished, request_started
        from django.db import close_old_connections
        from werkzeug.test import Client

        from config.wsgi import application

        settings.ALLOWED_HOSTS = ["localhost"]
        for signal in (request_started, request_finished):  # keep the test's transaction
            signal.disconnect(close_old_connections)
        yield Client(application)
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)

    def test_a_ten_megabyte_body_is_a_json_413(self, wsgi, people, d142):
        from rest_framework.authtoken.models import Token

        token = Token.objects.get_or_create(user=people.editor)[0].key
        response = wsgi.post(PROPOSE_API, data="[" + "1," * (5 * 1024 * 1024) + "1]",
                             headers={"Authorization": f"Token {token}"},
                             content_type="application/json")
        assert response.status_code == 413
        assert response.json["error"]["code"] == "too_large"

    def test_nested_json_and_surrogates_are_json_400s(self, wsgi, people, d142):
        from rest_framework.authtoken.models import Token

        token = Token.objects.get_or_create(user=people.editor)[0].key
        for body in ("[" * 100_000, '{"rationale": "\\udfff"}'):
            response = wsgi.post(PROPOSE_API, data=body, content_type="application/json",
                                 headers={"Authorization": f"Token {token}"})
            assert response.status_code == 400
            assert response.json["error"]["code"] == "invalid"
