"""The OpenAPI 3.1 document of /api/v1, generated from the routes themselves.

Each API view carries its description through ``@operation(...)``: a summary, the role it needs
(or none for a public route), its query parameters, its request body's schema and its answers.
``document(app)`` walks the app's URL map: the paths and methods come from the routes, the rest
from the views, so the document cannot list a route that does not exist, and
tests/test_openapi.py fails when a route under /api/v1 carries no description.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask

from petitionkit.extensions import MAX_ROW_NUMBER

F = TypeVar("F", bound=Callable[..., Any])

ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
FIELD_ERRORS = {
    "type": "object",
    "properties": {"error": {"type": "string"},
                   "errors": {"type": "object", "additionalProperties": {}}},
    "required": ["error"],
}
OBJECT: dict[str, Any] = {"type": "object"}
INTEGER: dict[str, Any] = {"type": "integer"}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
TEXT: dict[str, Any] = {"type": "string"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
MOMENT: dict[str, Any] = {"type": "string", "format": "date-time"}


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [dict(schema), {"type": "null"}]}


def record(optional: Mapping[str, Mapping[str, Any]] | None = None,
           **required: Mapping[str, Any]) -> dict[str, Any]:
    """An object schema: the keyword arguments are always there, ``optional`` may be."""
    return {"type": "object",
            "properties": {**{name: dict(schema) for name, schema in required.items()},
                           **{name: dict(schema) for name, schema in (optional or {}).items()}},
            "required": sorted(required)}
_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
_SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# What every route may answer besides what it declares.
_COMMON = {"429": ("Too many requests from this client or token", ERROR),
           "500": ("Unexpected error", ERROR), "503": ("Database unavailable", ERROR)}


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    responses: Mapping[int, tuple[str, Mapping[str, Any] | None]]
    role: str | None = None
    request: Mapping[str, Any] | None = None
    request_media: str = "application/json"
    query: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    response_media: str | tuple[str, ...] = "application/json"


def operation(summary: str, *, tag: str,
              responses: Mapping[int, tuple[str, Mapping[str, Any] | None]],
              role: str | None = None, request: Mapping[str, Any] | None = None,
              request_media: str = "application/json",
              query: Mapping[str, Mapping[str, Any]] | None = None,
              response_media: str | tuple[str, ...] = "application/json"
              ) -> Callable[[F], F]:
    """Describe an API view for the OpenAPI document; ``response_media`` may name several
    media types, each answering with the same schema."""
    described = Operation(summary, tag, responses, role, request, request_media, query or {},
                          response_media)

    def decorate(view: F) -> F:
        view.openapi = described  # type: ignore[attr-defined]
        return view

    return decorate


def described(view: Callable[..., Any]) -> Operation | None:
    found: Operation | None = getattr(view, "openapi", None)
    return found


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for converter, name in _PARAMETER.findall(rule):
        schema: dict[str, Any] = ({"type": "integer", "minimum": 1, "maximum": MAX_ROW_NUMBER}
                                  if converter == "int"
                                  else {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,79}$"}
                                  if name == "slug" else {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PARAMETER.sub(lambda match: "{" + match.group(2) + "}", rule), parameters


def _operation(item: Operation, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    parameters = [*path_parameters, *({"name": name, "in": "query", "required": False,
                                       "schema": dict(schema)}
                                      for name, schema in item.query.items())]
    responses: dict[str, Any] = {}
    for code, (description, schema) in {**{int(k): v for k, v in _COMMON.items()},
                                        **item.responses}.items():
        answer: dict[str, Any] = {"description": description}
        if schema is not None:
            media = item.response_media if 200 <= code < 300 else "application/json"
            answer["content"] = {name: {"schema": dict(schema)}
                                 for name in ((media,) if isinstance(media, str) else media)}
        responses[str(code)] = answer
    if item.request is not None:
        # Every body is read the same way: a body too large for MAX_CONTENT_LENGTH, of another
        # media type or not a JSON object is refused before the view reads a key.
        for refusal, description in (("400", "Not a JSON object"), ("413", "Too large"),
                                     ("415", "Not JSON")):
            responses.setdefault(refusal, {"description": description,
                                           "content": {"application/json": {"schema": ERROR}}})
    if item.role is not None:
        responses.setdefault("401", {"description": "No token, or not a live one",
                                     "content": {"application/json": {"schema": ERROR}}})
        responses.setdefault("403", {"description": f"The token's role is below {item.role}",
                                     "content": {"application/json": {"schema": ERROR}}})
    result: dict[str, Any] = {"summary": item.summary, "tags": [item.tag],
                              "parameters": parameters, "responses": responses}
    if item.role is not None:
        result["security"] = [{"bearer": []}]
        result["description"] = f"Needs a token with the role {item.role} or above."
    else:
        result["security"] = []
    if item.request is not None:
        result["requestBody"] = {"required": True, "content": {
            item.request_media: {"schema": dict(item.request)}}}
    return result


def document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if not rule.rule.startswith("/api/v1/"):
            continue
        methods = sorted((rule.methods or set()) - _SKIPPED_METHODS)
        item = described(app.view_functions[rule.endpoint])
        if not methods or item is None:
            continue
        path, parameters = _path(rule.rule)
        for method in methods:
            paths.setdefault(path, {})[method.lower()] = _operation(item, parameters)
    return {
        "openapi": "3.1.0",
        "info": {"title": "petitionkit API", "version": "1",
                 "description": "Public reads and signing, and the organisers' write API with "
                                "bearer tokens (docs/api.md)."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def undescribed(app: Flask) -> list[str]:
    """Routes under /api/v1 (other than CORS preflights) that carry no description."""
    return sorted(
        f"{sorted((rule.methods or set()) - _SKIPPED_METHODS)} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and (rule.methods or set()) - _SKIPPED_METHODS
        and described(app.view_functions[rule.endpoint]) is None
    )
