"""Helpers to check sandbox answers against the official hh.ru and Avito OpenAPI specs with openapi-core."""

from __future__ import annotations

import copy
import json
import unicodedata
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
    """openapi-core's request protocol for a sent ``requests`` request, re-homed on ``server``
    (api.hh.ru by default) with ``path`` instead of the sent one when given."""

    def __init__(self, prepared: requests.PreparedRequest, server: str = SPEC_SERVER, path: str | None = None):
        parts = urlsplit(prepared.url or "")
        self.host_url = server
        self.path = parts.path if path is None else path
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


# ---------------------------------------------------------------------- Avito

AVITO_SERVER = "https://api.avito.ru"
AVITO_PREFIX = "/avito"
"""Where the sandbox mounts the Avito API."""
AVITO_SPECS = ("auth", "user", "messenger", "job")


def normalize_avito_spec(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of an official Avito spec that openapi-core can load, with its two known defects fixed.

    * Invisible characters in path keys: auth.json has ``/token``, ``/token\u200e`` and
      ``/token\u200e\u200e`` (three grant types on one URL). Format characters are stripped; on a
      collision the first operation (client_credentials ``getAccessToken``) is kept. Its 200 schema
      has no ``additionalProperties: false``, so it also accepts the refresh-token answers.
    * messenger.json's ``chat_types`` parameter is an array with the string default ``"u2i"``, which
      openapi-spec-validator rejects; the default becomes ``["u2i"]``.
    """
    spec = copy.deepcopy(raw)
    paths: dict[str, Any] = {}
    for key, item in spec["paths"].items():
        paths.setdefault("".join(ch for ch in key if unicodedata.category(ch) != "Cf"), item)
    spec["paths"] = paths
    chat_types = spec.get("components", {}).get("parameters", {}).get("chatTypes")
    if chat_types is not None and chat_types["schema"].get("default") == "u2i":
        chat_types["schema"]["default"] = ["u2i"]
    return spec


def load_avito_specs(directory: Path) -> dict[str, dict[str, Any]]:
    """The four official specs (auth, user, messenger, job), normalized, keyed by name."""
    return {
        name: normalize_avito_spec(json.loads((directory / f"{name}.json").read_text(encoding="utf-8")))
        for name in AVITO_SPECS
    }


def avito_reality(specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The specs with the documented spec-vs-reality differences allowed (each one has a test showing
    that the unpatched spec rejects the sandbox *and* the real or official payload the same way):

    * messenger ``Chat``: item ids are typed int32 (``context.value.id``,
      ``users[].public_user_profile.item_id``) but real ones exceed 2^31 (the real chat sample has
      3364311913, the official application example vacancy 52282438230) -> int64;
    * job ``Gender``: the enum is ``female|male|null`` but the official get_by_ids example says
      ``"Мужской"`` -> the Russian words are allowed too;
    * job ``Resume2.0.params``: ``driver_licence`` has the YAML-1.1 coerced enum ``[true, false]``
      (no string can match), ``driver_licence_category`` lists lower-case letters and ``schedule``
      codes (``fullDay``), while the official resume example has ``"Есть"``, ``["B", "C"]`` and
      ``"Полный день"`` -> those three enums are dropped.
    """
    out = copy.deepcopy(specs)
    chat = out["messenger"]["components"]["schemas"]["Chat"]["properties"]
    chat["context"]["properties"]["value"]["properties"]["id"]["format"] = "int64"
    profile = chat["users"]["items"]["properties"]["public_user_profile"]["properties"]
    profile["item_id"]["format"] = "int64"
    job = out["job"]["components"]["schemas"]
    job["Gender"]["enum"] = [*job["Gender"]["enum"], "Мужской", "Женский"]
    params = job["Resume2.0"]["properties"]["params"]["properties"]
    for name in ("driver_licence", "schedule"):
        params[name].pop("enum")
    params["driver_licence_category"]["items"].pop("enum")
    return out


def avito_spec_for(path: str) -> str:
    """Which spec describes a path (without the ``/avito`` prefix)."""
    if path.startswith("/token"):
        return "auth"
    if path.startswith("/core/"):
        return "user"
    return "messenger" if path.startswith("/messenger/") else "job"


def avito_spec_path(response: requests.Response) -> str:
    """The request path as the spec spells it: ``/avito`` removed, ``/token/`` as ``/token``."""
    path = urlsplit(response.request.url or "").path
    assert path.startswith(AVITO_PREFIX + "/"), path
    path = path[len(AVITO_PREFIX) :]
    return "/token" if path == "/token/" else path


def avito_response_errors(apis: dict[str, OpenAPI], response: requests.Response) -> list[str]:
    """Everything openapi-core dislikes about a sandbox Avito answer, checked against its spec."""
    path = avito_spec_path(response)
    request = SpecRequest(response.request, AVITO_SERVER, path)
    errors: list[str] = []
    for exc in apis[avito_spec_for(path)].iter_response_errors(request, SpecResponse(response)):
        errors.extend(_flatten(exc))
    return errors


def assert_avito_conforms(apis: dict[str, OpenAPI], response: requests.Response) -> None:
    """Fail with a readable report unless the Avito spec accepts ``response``."""
    errors = avito_response_errors(apis, response)
    assert not errors, f"{response.request.method} {response.request.url} -> {response.status_code}\n" + "\n".join(
        errors
    )


def avito_sample(shared: Path, name: str) -> Any:
    """A payload from ``shared/avito-api/samples``."""
    return json.loads((shared / "avito-api" / "samples" / name).read_text(encoding="utf-8"))
