"""OpenAPI from the descriptors: valid 3.1, every route, comments, and the descriptor set in sync."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool
from openapi_spec_validator import validate

from gateway.descriptors import DESCRIPTOR_SET, contract_files, load_descriptor_set
from gateway.openapi import openapi_document
from gateway.routes import all_routes, gateway_rule
from koo.gateway.v1 import gateway_options_pb2


def test_document_is_valid_openapi_31_with_every_route() -> None:
    routes = all_routes()
    doc = openapi_document(routes)
    validate(doc)  # raises on an invalid document
    assert doc["openapi"] == "3.1.0"
    for route in routes:
        assert route.http_method.lower() in doc["paths"][route.template.openapi_path]
    for path in ("/healthz", "/readyz", "/openapi.json", "/v1/.well-known/jwks.json"):
        assert "get" in doc["paths"][path]


def test_security_errors_paging_and_descriptions() -> None:
    doc = openapi_document(all_routes())
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    register = doc["paths"]["/v1/users"]["post"]
    assert register["security"] == []
    assert "201" in register["responses"]
    assert sorted(register["requestBody"]["content"]["application/json"]["schema"]["required"]) == [
        "display_name",
        "handle",
        "password",
    ]
    follow = doc["paths"]["/v1/users/{user_id}:follow"]["post"]
    assert follow["security"] == [{"bearer": []}]
    assert "me" in follow["parameters"][0]["schema"]["pattern"]
    assert "Follows a user" in follow["description"]
    followers = doc["paths"]["/v1/users/{user_id}/followers"]["get"]
    names = {p["name"] for p in followers["parameters"]}
    assert {"user_id", "page_size", "page_token"} <= names
    home = doc["paths"]["/v1/feed/home"]["get"]
    language = next(p for p in home["parameters"] if p["name"] == "language")
    assert language["schema"]["type"] == "array" and language["explode"] is True
    user = doc["components"]["schemas"]["koo.user.v1.User"]
    assert user["properties"]["id"]["readOnly"] is True
    assert "format" in user["properties"]["id"] and "string" in user["properties"]["id"]["type"]
    assert "unique regardless of case" in user["properties"]["handle"]["description"]
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "status", "message", "details"]
    assert doc["paths"]["/v1/posts"]["post"]["responses"]["429"]["$ref"].endswith("RateLimited")
    assert any(p["name"] == "Idempotency-Key" for p in doc["paths"]["/v1/posts"]["post"]["parameters"])
    media = doc["components"]["schemas"]["koo.media.v1.Media"]["properties"]
    assert "image" in media["kind"]["enum"]


def test_error_reasons_are_an_enum_with_their_meanings() -> None:
    doc = openapi_document(all_routes())
    reasons = doc["components"]["schemas"]["ErrorReason"]
    assert {"USER_NOT_FOUND", "HANDLE_TAKEN", "RATE_LIMITED", "MEDIA_TOO_LONG", "TOKEN_EXPIRED"} <= set(reasons["enum"])
    assert "ERROR_REASON_UNSPECIFIED" not in reasons["enum"]
    assert "- `HANDLE_TAKEN`: The handle is taken." in reasons["description"]
    detail = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["details"]["items"]
    assert detail["properties"]["reason"] == {"$ref": "#/components/schemas/ErrorReason"}


def test_descriptor_set_matches_the_generated_code() -> None:
    """gateway/descriptors.binpb (comments for /openapi.json) is what gen/ was made from.

    When this fails, run `koo gen` and commit gateway/descriptors.binpb with gen/.
    """
    assert DESCRIPTOR_SET.exists(), "run `koo gen` to build gateway/descriptors.binpb"
    stored = {f.name: f for f in load_descriptor_set().file}
    generated = {f.name for f in contract_files()}
    assert set(stored) == generated
    pool = descriptor_pool.Default()
    for name, file in stored.items():
        without_comments = descriptor_pb2.FileDescriptorProto()
        without_comments.CopyFrom(file)
        without_comments.ClearField("source_code_info")
        current = descriptor_pb2.FileDescriptorProto()
        pool.FindFileByName(name).CopyToProto(current)
        assert without_comments == current, f"{name} changed since gateway/descriptors.binpb was built"


def test_public_calls_rate_classes_and_201_come_from_the_rpc_options() -> None:
    routes = {route.method.full_name: route for route in all_routes()}
    sign_up = routes["koo.user.v1.UserService.CreateUser"]
    assert sign_up.public and sign_up.rate_class == gateway_options_pb2.RATE_CLASS_SIGN_UP
    assert sign_up.success_status == 201
    sign_in = routes["koo.user.v1.UserService.CreateSession"]
    assert sign_in.public and sign_in.rate_class == gateway_options_pb2.RATE_CLASS_SIGN_IN
    assert sign_in.success_status == 200  # a token pair, not a new resource
    assert routes["koo.post.v1.PostService.CreatePost"].success_status == 201
    assert not routes["koo.post.v1.PostService.CreatePost"].public
    for name, route in routes.items():
        rule = gateway_rule(route.method)
        assert (route.public, route.rate_class) == (rule.public, rule.rate_class), name
    assert {name for name, route in routes.items() if route.public} == {
        "koo.user.v1.UserService.CreateUser",
        "koo.user.v1.UserService.CreateSession",
        "koo.user.v1.UserService.RefreshSession",
    }


def test_optional_scalars_say_that_null_means_the_default() -> None:
    # The transcoder reads proto3 JSON, where `null` is the field's default: an app that
    # sends `{"up_to_id": null}` gets "everything read", so the document must allow it,
    # while a required field and output-only fields stay as they are.
    schemas = openapi_document(all_routes())["components"]["schemas"]
    mark = schemas["koo.feed.v1.MarkNotificationsReadRequest"]["properties"]["up_to_id"]
    assert "null" in mark["type"] and "string" in mark["type"]
    user = schemas["koo.user.v1.User"]["properties"]
    assert "null" not in user["id"]["type"]  # output only
