"""`/openapi.json`: OpenAPI 3.1 generated from the same descriptors as the routes.

Schemas come from the messages (one component per message, named by its full proto name),
descriptions from the proto comments (gateway/descriptors.binpb, see descriptors.py),
`readOnly` from OUTPUT_ONLY and `required` from REQUIRED field behaviours. The document
states what the transcoder does: snake_case names, 64-bit integers as strings (numbers
accepted on input), short enum names, the error body, the bearer scheme, paging and
rate-limit headers.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.descriptors import comments, enum_of, message_of, walk_messages
from gateway.routes import Route, Streaming
from gateway.transcode import enum_choices, is_output_only, is_required
from services.kit.errors import ERROR_DOMAIN, ErrorReason

F = FieldDescriptor
JSON = "application/json"
_INT32 = {F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32}
_UINT32 = {F.TYPE_UINT32, F.TYPE_FIXED32}
_INT64 = {F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64, F.TYPE_UINT64, F.TYPE_FIXED64}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time", "description": "RFC 3339 time."},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated field names, e.g. `display_name,bio`.",
    },
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.StringValue": {"type": ["string", "null"]},
    "google.protobuf.BoolValue": {"type": ["boolean", "null"]},
    "google.protobuf.Int32Value": {"type": ["integer", "null"]},
    "google.protobuf.Int64Value": {"type": ["string", "integer", "null"]},
    "google.protobuf.DoubleValue": {"type": ["number", "null"]},
}
_ME_PATTERN = r"^(me|[0-9]+)$"
_INT64_PATTERN = r"^-?[0-9]+$"
_ERROR_REF = {"$ref": "#/components/responses/Error"}


def _ref(message: Descriptor) -> dict[str, Any]:
    if message.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[message.full_name])
    return {"$ref": f"#/components/schemas/{message.full_name}"}


def _describe(schema: dict[str, Any], text: str) -> dict[str, Any]:
    if text and "$ref" not in schema:
        schema["description"] = text
    elif text:
        # Siblings of $ref are allowed in 3.1 and keep the field's own comment.
        schema = {**schema, "description": text}
    return schema


def scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    kind = field.type
    if kind == F.TYPE_STRING:
        return {"type": "string"}
    if kind in _INT32:
        return {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
    if kind in _UINT32:
        return {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**32 - 1}
    if kind in _INT64:
        # proto3 JSON: written as a string (JavaScript numbers lose precision past 2^53);
        # a number is accepted on input.
        return {"type": ["string", "integer"], "format": "int64", "pattern": _INT64_PATTERN}
    if kind in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return {"type": "number"}
    if kind == F.TYPE_BOOL:
        return {"type": "boolean"}
    if kind == F.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    if kind == F.TYPE_ENUM:
        return {"type": "string", "enum": enum_choices(enum_of(field))}
    return _ref(message_of(field))


def field_schema(field: FieldDescriptor) -> dict[str, Any]:
    if field.type == F.TYPE_MESSAGE and message_of(field).GetOptions().map_entry:
        value = message_of(field).fields_by_name["value"]
        schema: dict[str, Any] = {"type": "object", "additionalProperties": scalar_schema(value)}
    elif field.is_repeated:
        schema = {"type": "array", "items": scalar_schema(field)}
    else:
        schema = scalar_schema(field)
        if field.type not in (F.TYPE_MESSAGE, F.TYPE_ENUM) and not is_required(field) and not is_output_only(field):
            # proto3 JSON reads `null` as the field's default (the transcoder does), so the
            # document says so rather than promise a 400 the API never gives.
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema = {**schema, "type": [*types, "null"]}
    schema = _describe(schema, comments().get(field.full_name))
    if is_output_only(field):
        schema = {**schema, "readOnly": True}
    return schema


def message_schema(message: Descriptor, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    properties = {f.name: field_schema(f) for f in message.fields if f.name not in leave_out}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [f.name for f in message.fields if is_required(f) and f.name not in leave_out]
    if required:
        schema["required"] = required
    text = comments().get(message.full_name)
    if text:
        schema["description"] = text
    return schema


def _error_schema() -> dict[str, Any]:
    codes = [code.name for code in grpc.StatusCode]
    return {
        "type": "object",
        "description": "Every error: the HTTP status, the gRPC code name, a message and google.rpc details.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "status", "message", "details"],
                "properties": {
                    "code": {"type": "integer", "description": "The HTTP status."},
                    "status": {"type": "string", "enum": codes, "description": "The gRPC status code name."},
                    "message": {"type": "string"},
                    "details": {
                        "type": "array",
                        "description": "google.rpc error details (ErrorInfo, BadRequest with field "
                        "violations, RequestInfo, ...), each tagged with its `@type` URL. Every error has "
                        "an ErrorInfo whose `reason` tells programs what went wrong.",
                        "items": {
                            "type": "object",
                            "required": ["@type"],
                            "properties": {
                                "@type": {"type": "string"},
                                "reason": {"$ref": "#/components/schemas/ErrorReason"},
                                "domain": {"type": "string", "const": ERROR_DOMAIN},
                            },
                        },
                    },
                },
            }
        },
    }


def _error_reason_schema() -> dict[str, Any]:
    """The ErrorInfo reasons (koo.errors.v1.ErrorReason), each with what it means."""
    enum = ErrorReason.DESCRIPTOR
    values = [value for value in enum.values if value.number != 0]
    meanings = "\n".join(f"- `{v.name}`: {comments().get(f'{enum.full_name}.{v.name}')}" for v in values)
    return {
        "type": "string",
        "enum": [value.name for value in values],
        "description": f"{comments().get(enum.full_name)}\n\n{meanings}".strip(),
    }


def _path_parameter(route: Route, variable: str) -> dict[str, Any]:
    field = route.field(variable)
    assert field is not None
    schema = scalar_schema(field)
    description = comments().get(field.full_name)
    if field.type in _INT64:
        schema = {"type": "string", "pattern": _INT64_PATTERN}
        if variable.split(".")[-1] == "user_id":
            schema = {"type": "string", "pattern": _ME_PATTERN}
            description = (description + " `me` stands for the caller.").strip()
    elif schema.get("type") == "string":
        schema = {**schema, "minLength": 1}
    return {"name": variable, "in": "path", "required": True, "schema": schema, "description": description}


def _query_parameters(route: Route) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []

    def add(field: FieldDescriptor, name: str, depth: int) -> None:
        nested = field.type == F.TYPE_MESSAGE and message_of(field).full_name not in _WELL_KNOWN
        if nested:
            if field.is_repeated or depth >= 3:
                return  # not expressible in a query string
            for inner in message_of(field).fields:
                add(inner, f"{name}.{inner.name}", depth + 1)
            return
        if is_output_only(field):
            return
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": False,
            "schema": field_schema(field),
            "description": comments().get(field.full_name),
        }
        if field.is_repeated:
            parameter["style"] = "form"
            parameter["explode"] = True
        parameters.append(parameter)

    for field in route.query_fields():
        add(field, field.name, 0)
    return parameters


def _request_body(route: Route) -> dict[str, Any] | None:
    if route.streaming is Streaming.UPLOAD:
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {
            "required": True,
            "description": "The file: raw bytes sent with their own Content-Type, or multipart/form-data "
            "with the file in the field `file`. The type is judged from the bytes.",
            "content": {
                "image/*": binary,
                "audio/*": binary,
                "video/*": binary,
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    if not route.body:
        return None
    if route.body == "*":
        leave_out = frozenset(v.split(".")[0] for v in route.path_fields)
        schema = message_schema(route.input, leave_out=leave_out)
        required = bool(schema.get("required"))
    else:
        field = route.input.fields_by_name[route.body]
        schema = field_schema(field)
        required = True
    return {"required": required, "content": {JSON: {"schema": schema}}}


def _success_schema(route: Route) -> dict[str, Any]:
    if route.response_body:
        return field_schema(route.output.fields_by_name[route.response_body])
    return _ref(route.output)


def _responses(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if route.streaming is Streaming.DOWNLOAD:
        responses["200"] = {
            "description": "The bytes.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
        responses["302"] = {
            "description": "The bytes are elsewhere (a signed URL).",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    elif route.streaming is Streaming.EVENTS:
        responses["200"] = {
            "description": (
                "Server-sent events: each `data:` line is one message as JSON, `id:` its resume point "
                "(send it back as `Last-Event-ID`); comment lines keep the connection alive."
            ),
            "content": {"text/event-stream": {"schema": _ref(route.output)}},
        }
    else:
        responses[str(route.success_status)] = {
            "description": "Created." if route.success_status == 201 else "OK.",
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
            "content": {JSON: {"schema": _success_schema(route)}},
        }
    responses["400"] = _ERROR_REF
    responses["401"] = _ERROR_REF
    if route.body or route.streaming is Streaming.UPLOAD:
        responses["413"] = _ERROR_REF
    responses["429"] = {"$ref": "#/components/responses/RateLimited"}
    responses["default"] = _ERROR_REF
    return responses


def _operation(route: Route, operation_id: str) -> dict[str, Any]:
    service = route.method.containing_service
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [service.name],
        "summary": f"{service.name}.{route.method.name}",
        "description": comments().get(route.method.full_name),
        "parameters": [_path_parameter(route, v) for v in route.path_fields] + _query_parameters(route),
        "responses": _responses(route),
        "security": [] if route.public else [{"bearer": []}],
    }
    if "request_id" in route.input.fields_by_name and route.http_method == "POST":
        operation["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A retry with the same key by the same user returns the first result.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[\x21-\x7e]+$"},
            }
        )
    body = _request_body(route)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _operational_paths() -> dict[str, Any]:
    ready_schema = {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    jwk = {"type": "object", "required": ["kty", "kid"], "properties": {"kty": {"type": "string"}}}
    plain = {"security": [], "tags": ["Operations"]}
    return {
        "/healthz": {
            "get": {
                **plain,
                "operationId": "healthz",
                "summary": "The process is alive.",
                "responses": {
                    "200": _json_response(
                        "Alive.",
                        {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
                    )
                },
            }
        },
        "/readyz": {
            "get": {
                **plain,
                "operationId": "readyz",
                "summary": "Every service answers SERVING and Redis is reachable.",
                "responses": {
                    "200": _json_response("Ready.", ready_schema),
                    "503": _json_response("Not ready: `checks` says what is not.", ready_schema),
                },
            }
        },
        "/openapi.json": {
            "get": {
                **plain,
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": _json_response("OpenAPI 3.1.", {"type": "object"})},
            }
        },
        "/v1/.well-known/jwks.json": {
            "get": {
                **plain,
                "operationId": "jwks",
                "summary": "The public keys that verify access tokens (JWKS), e.g. for Istio's RequestAuthentication.",
                "responses": {
                    "200": _json_response(
                        "The key set.",
                        {
                            "type": "object",
                            "required": ["keys"],
                            "properties": {"keys": {"type": "array", "items": jwk}},
                        },
                    )
                },
            }
        },
    }


def _concrete_aliases(paths: dict[str, Any], routes: list[Route]) -> None:
    """OpenAPI matches concrete paths before templated ones, so `GET /v1/users/me` would
    be undocumented next to `PATCH /v1/users/me` although `GET /v1/users/{user_id}` serves
    it. Each concrete path therefore also lists the templated operations that match it."""
    for path in [p for p in paths if "{" not in p]:
        for route in routes:
            method = route.http_method.lower()
            if not route.template.variables or method in paths[path] or route.template.match(path) is None:
                continue
            operation = copy.deepcopy(paths[route.template.openapi_path][method])
            operation["operationId"] += "_" + re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
            operation["parameters"] = [p for p in operation["parameters"] if p["in"] != "path"]
            paths[path][method] = operation


def _links(paths: dict[str, Any], routes: list[Route], operation_ids: dict[int, str]) -> None:
    """OpenAPI links from each create (201 answering a `post`, `user`, ...) to the
    operations that take its id in the path (`{post_id}`), so that clients and fuzzers
    can follow them: `POST /v1/posts` -> `GET /v1/posts/{post_id}`, `:like`, ..."""
    for route in routes:
        if route.success_status != 201 or not route.response_body:
            continue
        variable = f"{route.response_body}_id"
        links = {
            operation_ids[id(other)]: {
                "operationId": operation_ids[id(other)],
                "parameters": {variable: "$response.body#/id"},
            }
            for other in routes
            if variable in other.path_fields
        }
        if links:
            response = paths[route.template.openapi_path][route.http_method.lower()]["responses"]["201"]
            response["links"] = links


def openapi_document(routes: list[Route], *, version: str = "v1") -> dict[str, Any]:
    paths: dict[str, Any] = _operational_paths()
    schemas: dict[str, Any] = {"Error": _error_schema(), "ErrorReason": _error_reason_schema()}
    used_ids: set[str] = set()
    operation_ids: dict[int, str] = {}
    tags: dict[str, str] = {}
    for route in routes:
        service = route.method.containing_service
        tags[service.name] = comments().get(service.full_name)
        operation_id = f"{service.name}_{route.method.name}"
        suffix = 2
        while operation_id in used_ids:
            operation_id = f"{service.name}_{route.method.name}_{suffix}"
            suffix += 1
        used_ids.add(operation_id)
        operation_ids[id(route)] = operation_id
        paths.setdefault(route.template.openapi_path, {})[route.http_method.lower()] = _operation(route, operation_id)
        seen: set[str] = set()
        for message in [*walk_messages(route.input, seen), *walk_messages(route.output, seen)]:
            if message.full_name not in _WELL_KNOWN and not message.GetOptions().map_entry:
                schemas.setdefault(message.full_name, message_schema(message))
    _links(paths, routes, operation_ids)
    _concrete_aliases(paths, routes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Koo REST API",
            "version": version,
            "description": "Koo, a microblogging platform for India's languages. Generated from the gRPC "
            "contracts (google.api.http annotations). JSON field names are snake_case; 64-bit ids are strings; "
            "lists are paged with `page_size` (0 = 20, at most 100) and the opaque `page_token`, and "
            "`next_page_token` is empty on the last page.",
        },
        "tags": [{"name": name, "description": text} for name, text in sorted(tags.items())]
        + [{"name": "Operations", "description": "Health, readiness, this document and the token keys."}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access_token of POST /v1/sessions (EdDSA-signed JWT).",
                }
            },
            "headers": {
                "X-Request-Id": {
                    "description": "The request's id (also in error details).",
                    "schema": {"type": "string"},
                },
                "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "string"}},
            },
            "responses": {
                "Error": _json_response("An error.", {"$ref": "#/components/schemas/Error"}),
                "RateLimited": {
                    "description": "Over a rate limit.",
                    "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        },
        "security": [{"bearer": []}],
    }
