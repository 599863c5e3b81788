"""Errors mapped once: gRPC status and google.rpc details -> HTTP status and JSON body."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from gateway.errors import (
    GatewayError,
    error_body,
    error_response,
    http_status,
    status_from_rpc_error,
)
from services.kit.errors import AlreadyExists, ErrorReason, InvalidArgument, NotFound


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.UNKNOWN, 500),
        (grpc.StatusCode.DATA_LOSS, 500),
        (grpc.StatusCode.ABORTED, 500),
    ],
)
def test_http_status_of_each_code(code: grpc.StatusCode, http: int) -> None:
    assert http_status(code) == http


class FakeRpcError(grpc.aio.AioRpcError):
    def __init__(self, code: grpc.StatusCode, message: str, trailers: tuple[tuple[str, Any], ...] = ()) -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details=message)


def _trailer(status: status_pb2.Status) -> tuple[tuple[str, Any], ...]:
    return (("grpc-status-details-bin", status.SerializeToString()),)


def test_rich_details_are_rendered_with_type_urls() -> None:
    status = InvalidArgument({"handle": "must be 3-30 of a-z, 0-9 and _", "password": "is too short"}).to_status()
    err = FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, status.message, _trailer(status))
    body = error_body(status_from_rpc_error(err), 400, request_id="r1")
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert "handle" in error["message"]
    by_type = {d["@type"]: d for d in error["details"]}
    info = by_type["type.googleapis.com/google.rpc.ErrorInfo"]
    assert info["reason"] == "INVALID_ARGUMENT" and info["domain"] == "koo.app"
    violations = by_type["type.googleapis.com/google.rpc.BadRequest"]["field_violations"]
    assert {v["field"] for v in violations} == {"handle", "password"}
    assert by_type["type.googleapis.com/google.rpc.RequestInfo"]["request_id"] == "r1"


def test_plain_status_without_trailer() -> None:
    err = FakeRpcError(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")
    status = status_from_rpc_error(err)
    assert status.code == grpc.StatusCode.UNIMPLEMENTED.value[0]
    response = error_response(GatewayError(status))
    assert response.status_code == 501
    body = json.loads(bytes(response.body))
    assert body["error"]["status"] == "UNIMPLEMENTED"
    assert body["error"]["details"] == []


def test_a_trailer_that_disagrees_with_the_call_code_is_ignored() -> None:
    # e.g. a proxy rewrote the status: the call's own code wins.
    status = NotFound("no such user").to_status()
    err = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused", _trailer(status))
    assert status_from_rpc_error(err).code == grpc.StatusCode.UNAVAILABLE.value[0]


def test_internal_errors_hide_their_message() -> None:
    err = FakeRpcError(grpc.StatusCode.INTERNAL, 'psycopg.errors.UndefinedTable: relation "x" at 10.0.0.5')
    response = error_response(GatewayError(status_from_rpc_error(err)), request_id="abc")
    assert response.status_code == 500
    body = json.loads(bytes(response.body))
    assert "psycopg" not in body["error"]["message"]
    assert "abc" in body["error"]["message"]


def test_local_receive_limit_is_not_a_429() -> None:
    err = FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max (9 vs. 4)")
    assert status_from_rpc_error(err).code == grpc.StatusCode.INTERNAL.value[0]


def test_rate_limit_answers_retry_after() -> None:
    retry = any_pb2.Any()
    retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=7)))
    status = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message="slow down", details=[retry])
    response = error_response(GatewayError(status))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    plain = GatewayError.simple(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", reason=ErrorReason.RATE_LIMITED)
    assert error_response(plain).headers["retry-after"] == "1"


def test_overrides_keep_the_grpc_name() -> None:
    too_big = GatewayError.simple(
        grpc.StatusCode.INVALID_ARGUMENT, "too big", reason=ErrorReason.PAYLOAD_TOO_LARGE, http=413
    )
    response = error_response(too_big)
    body = json.loads(bytes(response.body))
    assert response.status_code == 413
    assert body["error"] == {
        "code": 413,
        "status": "INVALID_ARGUMENT",
        "message": "too big",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "PAYLOAD_TOO_LARGE", "domain": "koo.app"}
        ],
    }


def test_unauthenticated_says_how_to_authenticate() -> None:
    from services.kit.errors import Unauthenticated

    response = error_response(GatewayError.of(Unauthenticated("sign in", reason=ErrorReason.TOKEN_EXPIRED)))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_conflict_from_a_domain_error() -> None:
    response = error_response(GatewayError.of(AlreadyExists("taken", reason=ErrorReason.HANDLE_TAKEN)))
    body = json.loads(bytes(response.body))
    assert response.status_code == 409
    assert body["error"]["status"] == "ALREADY_EXISTS"
    assert body["error"]["details"][0]["reason"] == "HANDLE_TAKEN"
