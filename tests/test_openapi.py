"""The OpenAPI document at /api/v1/openapi.json: generated from the routes, valid OpenAPI 3.1,
and describing every route under /api/v1."""

from __future__ import annotations

from flask import Flask
from openapi_spec_validator import validate

from petitionkit.api.openapi import undescribed

from .conftest import add_petition


def test_the_document_is_valid_and_complete(app: Flask) -> None:
    answer = app.test_client().get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json
    validate(document)
    assert undescribed(app) == []
    paths = document["paths"]
    assert "post" in paths["/api/v1/petitions"] and "patch" in paths["/api/v1/petitions/{slug}"]
    assert paths["/api/v1/petitions/{slug}"]["get"]["security"] == []
    assert paths["/api/v1/petitions"]["get"]["security"] == [{"bearer": []}]
    rules = {rule.rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/api/v1/") and (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert len(rules) == len(paths)


def test_every_body_may_be_refused_as_the_routes_refuse_it(app: Flask) -> None:
    """Each route with a body declares the answers any body may get, and gives them as JSON."""
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    bodies = [(path, method, item) for path, methods in paths.items()
              for method, item in methods.items() if "requestBody" in item]
    assert len(bodies) >= 6
    for path, method, item in bodies:
        assert {"400", "413", "415"} <= set(item["responses"]), (method, path)
    secret = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", "owner", "--name", "n"]).output.split()[-1]
    add_petition(app)
    client = app.test_client()
    path = "/api/v1/petitions/free-the-poet/invalidations"
    headers = {"Authorization": f"Bearer {secret}"}
    for data, content_type, status in (("domain=x", "text/plain", 415),
                                       ("[1]", "application/json", 400),
                                       ("x" * 2_000_000, "application/json", 413)):
        answer = client.post(path, headers=headers, data=data, content_type=content_type)
        assert answer.status_code == status and answer.json["error"], (status, answer.text[:200])
