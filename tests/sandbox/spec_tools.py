"""Helpers to check sandbox answers against the official hh.ru OpenAPI spec with openapi-core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_SERVER = "https://api.hh.ru"
"""The spec's only server; requests are presented as if sent there so openapi-core finds the path."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spec(path: Path) -> dict[str, Any]:
    """Parse the 1.1 MB spec (libyaml loader when available)."""
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=_Loader)


class SpecRequest:
    """openapi-core's request protocol for a sent ``requests`` request, re-homed on api.hh.ru."""

    def __init__(self, prepared: requests.PreparedRequest):
        parts = urlsplit(prepared.url or "")
        self.host_url = SPEC_SERVER
        self.path = parts.path
        self.method = (prepared.method or "get").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
            header=Headers(dict(prepared.headers)),
            cookie=ImmutableMultiDict(),
        )
        body = prepared.body
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = prepared.headers.get("Content-Type", "application/json")


class SpecResponse:
    """openapi-core's response protocol for a ``requests`` response."""

    def __init__(self, response: requests.Response):
        self.data = response.content
        self.status_code = response.status_code
        self.content_type = response.headers.get("Content-Type", "")
        self.headers = Headers(dict(response.headers))


def _flatten(exc: BaseException) -> list[str]:
    out = [f"{type(exc).__name__}: {str(exc)[:300]}"]
    cause = exc.__cause__
    if cause is not None:
        for sub in getattr(cause, "schema_errors", None) or []:
            where = "/".join(str(p) for p in sub.absolute_path)
            out.append(f"  at {where or '<root>'}: {sub.message[:300]}")
            for ctx in (sub.context or [])[:6]:
                out.append(f"    - {'/'.join(str(p) for p in ctx.absolute_path)}: {ctx.message[:200]}")
        if not getattr(cause, "schema_errors", None):
            out.append(f"  cause: {cause!r}"[:500])
    return out


def response_errors(api: OpenAPI, response: requests.Response) -> list[str]:
    """Everything openapi-core dislikes about ``response`` for the operation it answered."""
    errors: list[str] = []
    for exc in api.iter_response_errors(SpecRequest(response.request), SpecResponse(response)):
        errors.extend(_flatten(exc))
    return errors


def assert_conforms(api: OpenAPI, response: requests.Response) -> None:
    """Fail with a readable report unless the spec accepts ``response``."""
    errors = response_errors(api, response)
    assert not errors, f"{response.request.method} {response.request.url} -> {response.status_code}\n" + "\n".join(
        errors
    )


def schema_errors(spec: dict[str, Any], schema: dict[str, Any] | str, instance: Any) -> list[str]:
    """Validate ``instance`` against a component schema (by name) or a schema using ``#/components`` refs."""
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    root = {"components": spec["components"], "allOf": [schema]}
    validator = OAS30Validator(root, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in validator.iter_errors(instance)
    ]


# Responses the spec does not describe for an operation (429 on get-vacancies, 502 anywhere,
# bad_user_agent) are checked against the closest thing the spec has: the request_id schema every
# error body includes, plus the generic ``errors[{type, value?}]`` envelope from hhru/api docs/errors.md.
GENERIC_ERROR_SCHEMA: dict[str, Any] = {
    "allOf": [
        {"$ref": "#/components/schemas/ErrorsCommonErrorRequestId"},
        {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"type": "string"}, "value": {"type": "string"}},
                    },
                },
                "description": {"type": "string"},
            },
        },
    ]
}


def sample(shared: Path, name: str) -> Any:
    """A real payload from ``shared/hh-api/samples``."""
    return json.loads((shared / "hh-api" / "samples" / name).read_text(encoding="utf-8"))
