"""Errors, mapped once: gRPC status (with google.rpc details) -> HTTP status and JSON body.

Every error the gateway answers, whether raised by a service or by the gateway itself
(bad JSON, no token, rate limit, unknown path), leaves through `error_response` with the
body of docs/api.md:

    {"error": {"code": 404, "status": "NOT_FOUND", "message": "...", "details": [...]}}

`details` are the `google.rpc.Status` details (ErrorInfo, BadRequest, RetryInfo, ...)
rendered by the proto3 JSON mapping, each with its `@type` URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache

import grpc
import orjson
from google.protobuf import any_pb2, json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from starlette.responses import Response

from services.kit.errors import ERROR_DOMAIN, ErrorReason, KooError

log = logging.getLogger("koo.gateway")

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Codes whose message may carry internals (stack traces, SQL): never shown to clients.
_OPAQUE = frozenset({grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS})
_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}
_DETAILS_KEY = "grpc-status-details-bin"


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)


def code_of(status: status_pb2.Status) -> grpc.StatusCode:
    return _BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)


class GatewayError(Exception):
    """An error answer: a google.rpc.Status, optionally an HTTP status other than the code's
    own (413, 405, 404 for paths) and extra headers (Retry-After, Allow). `quiet`: a 5xx
    that is counted elsewhere instead of logged each time (load shedding)."""

    def __init__(
        self,
        status: status_pb2.Status,
        *,
        http: int | None = None,
        headers: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> None:
        super().__init__(status.message)
        self.status = status
        self.http = http if http is not None else http_status(code_of(status))
        self.headers = dict(headers or {})
        self.quiet = quiet

    @classmethod
    def of(
        cls,
        exc: KooError,
        *,
        http: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GatewayError:
        return cls(exc.to_status(), http=http, headers=headers)

    @classmethod
    def simple(
        cls,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: ErrorReason.ValueType,
        http: int | None = None,
        headers: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> GatewayError:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=ErrorReason.Name(reason), domain=ERROR_DOMAIN))
        status = status_pb2.Status(code=code.value[0], message=message, details=[info])
        return cls(status, http=http, headers=headers, quiet=quiet)


def status_from_rpc_error(err: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The rich status of a failed call: the trailer's google.rpc.Status when the service
    sent one (and it agrees with the call's code), else one made from code and message."""
    code = err.code()
    for key, value in err.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except Exception:  # noqa: BLE001 - a garbled trailer must not hide the call's code
                break
            if status.code == code.value[0]:
                return status
    message = err.details() or ""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in message:
        # The *local* receive limit: a service answered more than max_response_bytes. Not
        # the client's doing, so not a 429.
        return status_pb2.Status(code=code_pb2.INTERNAL, message="the answer was too large")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        # gRPC itself refusing a call over the service's KOO_MAX_CONCURRENT_RPCS: the
        # service is overloaded, which is not the client's doing either (not a 429).
        return status_pb2.Status(code=code_pb2.UNAVAILABLE, message="the service is overloaded; try again shortly")
    return status_pb2.Status(code=code.value[0], message=message)


def _detail_json(detail: any_pb2.Any) -> dict[str, object]:
    return dict(_rendered_detail(detail.type_url, detail.value))


@lru_cache(maxsize=1024)
def _rendered_detail(type_url: str, value: bytes) -> dict[str, object]:
    # Cached: the same few details (ErrorInfo of a reason, RetryInfo) recur in nearly every
    # error, and json_format's reflection cost most of a refusal under overload. Callers get
    # a copy of the top level and do not change nested values.
    detail = any_pb2.Any(type_url=type_url, value=value)
    try:
        rendered = json_format.MessageToDict(detail, preserving_proto_field_name=True)
    except (TypeError, KeyError, json_format.Error):
        # A detail type this gateway does not know: still say what it was.
        return {"@type": type_url}
    return rendered


def error_body(status: status_pb2.Status, http: int, *, request_id: str = "") -> dict[str, object]:
    code = code_of(status)
    if code in _OPAQUE:
        message = "internal error" + (f" (request {request_id})" if request_id else "")
        details: list[dict[str, object]] = []
    else:
        message = status.message
        details = [_detail_json(d) for d in status.details]
    if request_id:
        details.append({"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": request_id})
    return {"error": {"code": http, "status": code.name, "message": message, "details": details}}


def _retry_after(status: status_pb2.Status) -> str | None:
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            seconds = info.retry_delay.seconds + (1 if info.retry_delay.nanos else 0)
            return str(max(1, seconds))
    return None


def error_response(error: GatewayError, *, request_id: str = "") -> Response:
    headers = dict(error.headers)
    code = code_of(error.status)
    # Refusals that a retry may get past say when to retry (the RetryInfo of the status,
    # else a second): over a rate limit, shed under overload, a dependency down.
    if error.http in (429, 503) and "retry-after" not in {k.lower() for k in headers}:
        headers["Retry-After"] = _retry_after(error.status) or "1"
    if error.http == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="koo"')
    if error.http >= 500 and code != grpc.StatusCode.UNIMPLEMENTED and not error.quiet:
        log.warning("answering %d %s: %s", error.http, code.name, error.status.message)
    body = orjson.dumps(error_body(error.status, error.http, request_id=request_id))
    return Response(body, status_code=error.http, headers=headers, media_type="application/json")


def from_rpc_error(err: grpc.aio.AioRpcError) -> GatewayError:
    return GatewayError(status_from_rpc_error(err))
