"""The OpenAPI document at /api/v1/openapi.json: generated from the routes, valid OpenAPI 3.1,
and describing every route under /api/v1."""

from __future__ import annotations

from flask import Flask
from openapi_spec_validator import validate

from petitionkit.api.openapi import undescribed


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
