"""The OpenAPI 3 schema at /api/schema/ (drf-spectacular, review/api_schema.py): public, valid,
and it lists every endpoint of docs/API.md with its parameters and bodies."""

import pytest
import yaml
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/search/": {"get"},
    "/api/search/proposals/": {"get"},
    "/api/editions/{edition}/documents/{doc}/": {"get"},
    "/api/editions/{edition}/documents/{doc}/pages/": {"get"},
    "/api/editions/{edition}/documents/{doc}/proposals/": {"get", "post"},
    "/api/editions/{edition}/{register}/": {"get"},
    "/api/editions/{edition}/documents/{doc}/suggestions/": {"get"},
    **{f"/api/editions/{{edition}}/documents/{{doc}}/suggestions/{{pk}}/{action}/": {"post"}
       for action in ("propose", "dismiss")},
    "/api/proposals/": {"get"},
    "/api/proposals/{pk}/": {"get"},
    **{f"/api/proposals/{{pk}}/{action}/": {"post"} for action in (
        "approve", "reject", "request-changes", "comment", "withdraw", "retarget")},
}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_public_and_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document


def test_schema_is_served_as_yaml_too(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Emend API"


def test_schema_lists_every_endpoint_and_no_catch_all(schema):
    assert {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()} == ENDPOINTS


def test_schema_describes_bodies_parameters_and_errors(schema):
    propose = schema["paths"]["/api/editions/{edition}/documents/{doc}/proposals/"]["post"]
    body = propose["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"base_revision", "rationale"}
    assert {"selector", "replacement", "changes", "kind"} <= set(body["properties"])
    assert propose["responses"]["422"]["content"]["application/json"]["schema"]["required"] \
        == ["error"]
    listing = schema["paths"]["/api/proposals/"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status", "edition", "document", "author", "cursor", "limit"}
    reading = schema["paths"]["/api/editions/{edition}/documents/{doc}/"]["get"]
    assert {"tokenAuth": []} in reading["security"] and {} in reading["security"]
    approve = schema["paths"]["/api/proposals/{pk}/approve/"]["post"]
    assert [p["schema"]["type"] for p in approve["parameters"] if p["name"] == "pk"] == ["integer"]
