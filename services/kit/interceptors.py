"""Server interceptor: request context, caller identity, logging and error mapping.

Written once for every service. It checks that the call comes from a Koo workload (the
service token in `x-koo-workload`, see workload.py: internal RPCs answer no one else),
verifies the bearer token forwarded in metadata (zero trust: the gateway checked it too),
exposes the caller through `context.current_caller()`, logs one line per call, and turns
domain errors into `google.rpc.Status` with details; a dependency outage becomes
UNAVAILABLE (services.kit.transient), never INTERNAL.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from services.kit.auth import TokenVerifier
from services.kit.context import Caller, set_caller, set_request_id, set_workload
from services.kit.errors import ErrorReason, KooError, Unauthenticated, Unavailable
from services.kit.transient import is_transient
from services.kit.work import count_rpc
from services.kit.workload import METADATA_KEY, WorkloadIdentity

log = logging.getLogger("koo.rpc")

_UNLOGGED = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier | None, identity: WorkloadIdentity) -> None:
        self._verifier = verifier
        self._identity = identity

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_UNLOGGED):
            return handler
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap_unary(handler.stream_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._wrap_stream(handler.stream_stream, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _enter(self, context: grpc.aio.ServicerContext, method: str) -> None:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        set_request_id(metadata.get("x-request-id") or uuid.uuid4().hex)
        count_rpc(method)
        set_caller(None)
        set_workload("")
        set_workload(self._identity.verify(metadata.get(METADATA_KEY, "")).name)
        set_caller(self._caller_from(metadata.get("authorization", "")))

    def _caller_from(self, header: str) -> Caller | None:
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the authorization must be `Bearer <token>`", reason=ErrorReason.TOKEN_INVALID)
        if self._verifier is None:
            raise Unauthenticated("this service cannot verify tokens", reason=ErrorReason.TOKEN_INVALID)
        claims = self._verifier.verify(token.strip())
        return Caller(user_id=claims.user_id, session_id=claims.session_id, token=token.strip())

    def _wrap_unary(self, behavior: Any, method: str) -> Any:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                self._enter(context, method)
                return await behavior(request, context)
            except KooError as exc:
                code = exc.code
                await _abort(context, exc)
            except Exception as exc:
                code = context.code() if isinstance(context.code(), grpc.StatusCode) else grpc.StatusCode.INTERNAL
                if code in (None, grpc.StatusCode.OK, grpc.StatusCode.INTERNAL):
                    unavailable = _as_unavailable(exc, method)
                    if unavailable is not None:
                        code = unavailable.code
                        await _abort(context, unavailable)
                    code = grpc.StatusCode.INTERNAL
                    log.exception("rpc failed", extra={"method": method})
                raise
            finally:
                _log_call(method, code, started)

        return wrapper

    def _wrap_stream(self, behavior: Any, method: str) -> Any:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                self._enter(context, method)
                async for item in behavior(request, context):
                    yield item
            except KooError as exc:
                code = exc.code
                await _abort(context, exc)
            except Exception as exc:
                unavailable = _as_unavailable(exc, method)
                if unavailable is not None:
                    code = unavailable.code
                    await _abort(context, unavailable)
                code = grpc.StatusCode.INTERNAL
                log.exception("rpc failed", extra={"method": method})
                raise
            finally:
                _log_call(method, code, started)

        return wrapper


def _as_unavailable(exc: Exception, method: str) -> Unavailable | None:
    """A dependency outage (PostgreSQL, Redis, a peer) as UNAVAILABLE: the client may retry.

    Anything else stays INTERNAL: retrying a bug does not help.
    """
    if not is_transient(exc):
        return None
    log.warning("rpc failed on a dependency: %s: %s", type(exc).__name__, exc, extra={"method": method})
    return Unavailable(
        "a dependency of this service is not answering; try again",
        reason=ErrorReason.DEPENDENCY_UNAVAILABLE,
        retry_after=1,
    )


async def _abort(context: grpc.aio.ServicerContext, exc: KooError) -> None:
    status = exc.to_status()
    await context.abort(
        exc.code,
        exc.message,
        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
    )


def _log_call(method: str, code: grpc.StatusCode | None, started: float) -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    level = logging.WARNING if name in ("INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED") else logging.DEBUG
    log.log(level, "rpc", extra={"method": method, "code": name, "ms": round(elapsed_ms, 2)})
