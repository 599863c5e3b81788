"""One request through the gateway: match, authenticate, admit, limit, transcode, call, answer.

Every path, the operational ones included, is matched by our own template matcher (see
templates.py), so an unknown path is a 404 and a known path with another method a 405,
both with the JSON error body, whatever the route's origin.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import grpc
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway import events, media, session_cookie
from gateway.admission import Admission
from gateway.auth import KeyRing, bearer_token
from gateway.backends import Backends
from gateway.clientip import client_ip
from gateway.errors import GatewayError, error_response, from_rpc_error
from gateway.ratelimit import RateLimiter
from gateway.routes import Route, Streaming
from gateway.security_headers import add_defaults
from gateway.settings import GatewaySettings
from gateway.templates import Matcher, PathDecodeError
from gateway.transcode import build_request, dump_json, parse_json, parse_query, response_data
from services.kit.context import Caller
from services.kit.errors import ErrorReason, InvalidArgument, KooError, Unauthenticated
from services.kit.revocation import SessionRevocations
from services.kit.workload import CLIENT_IP_KEY, METADATA_KEY, WorkloadIdentity

log = logging.getLogger("koo.gateway")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}\Z")
_JSON_HEADERS = {"Cache-Control": "no-store"}


def _require_json(request: Request) -> None:
    """JSON bodies only as JSON: a cross-site form (text/plain, urlencoded, multipart) is a
    "simple" request a browser sends without asking, so accepting it would let any page
    sign a visitor in as someone else (login CSRF)."""
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise GatewayError.simple(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"send the body as Content-Type: application/json (not {media_type or 'none'!r})",
            reason=ErrorReason.UNSUPPORTED_MEDIA_TYPE,
            http=415,
        )


@dataclass(frozen=True, slots=True)
class Operational:
    """A route served by the gateway itself (/healthz, /readyz, /openapi.json, JWKS)."""

    name: str
    handler: Callable[[Request], Awaitable[Response]]


Target = Route | Operational


@dataclass
class Runtime:
    """What exists only while the server runs (opened in the app's lifespan)."""

    backends: Backends
    limiter: RateLimiter
    # Signed-out sessions (None without Redis): their access tokens stop at once.
    revocations: SessionRevocations | None = None
    admission: Admission | None = None


def new_request_id() -> str:
    """128 random bits in hex, the form of uuid4().hex, for a third of its cost."""
    return os.urandom(16).hex()


class Dispatcher:
    def __init__(
        self, settings: GatewaySettings, matcher: Matcher[Target], keys: KeyRing, identity: WorkloadIdentity
    ) -> None:
        self.settings = settings
        self.matcher = matcher
        self.keys = keys
        self.identity = identity
        self.networks = settings.trusted_networks()
        self.runtime: Runtime | None = None

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry: every HTTP request, whatever its path (see app.py). Answers carry
        the security headers (the middleware would add them again only where missing)."""
        response = await self.handle(Request(scope, receive))
        add_defaults(response.raw_headers)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        try:
            response = await self._handle(request, request_id)
        except GatewayError as exc:
            response = error_response(exc, request_id=request_id)
        except KooError as exc:
            response = error_response(GatewayError.of(exc), request_id=request_id)
        except grpc.aio.AioRpcError as err:
            response = error_response(from_rpc_error(err), request_id=request_id)
        except ClientDisconnect:
            response = Response(status_code=499)  # the client left; nobody reads this
        except Exception:
            log.exception("gateway failure", extra={"request_id": request_id, "path": request.url.path})
            response = error_response(
                GatewayError.simple(grpc.StatusCode.INTERNAL, "internal error", reason=ErrorReason.INTERNAL),
                request_id=request_id,
            )
        response.headers["X-Request-Id"] = request_id
        return response

    async def _handle(self, request: Request, request_id: str) -> Response:
        scope = request.scope
        raw_path = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
        method = request.method
        try:
            found = self.matcher.match(method, raw_path)
        except PathDecodeError as exc:
            raise InvalidArgument(exc.variable, message=str(exc)) from None
        if found is None:
            allowed = self.matcher.allowed(raw_path)
            if allowed:
                raise GatewayError.simple(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"{method} is not allowed here; use {', '.join(allowed)}",
                    reason=ErrorReason.METHOD_NOT_ALLOWED,
                    http=405,
                    headers={"Allow": ", ".join(allowed)},
                )
            raise GatewayError.simple(
                grpc.StatusCode.NOT_FOUND, f"no such path: {request.url.path}", reason=ErrorReason.PATH_NOT_FOUND
            )
        target = found.target
        if isinstance(target, Operational):
            return await target.handler(request)
        runtime = self.runtime
        if runtime is not None and runtime.admission is not None and _admitted_first(target):
            # Nothing to read first: admitted before any other work, so that refusing
            # costs next to nothing when the gateway is overloaded.
            async with runtime.admission.slot():
                return await self._call(request, target, found.variables, request_id)
        return await self._call(request, target, found.variables, request_id)

    async def _call(self, request: Request, route: Route, variables: dict[str, str], request_id: str) -> Response:
        if self.runtime is None:
            raise GatewayError.simple(
                grpc.StatusCode.UNAVAILABLE, "the gateway is starting", reason=ErrorReason.STARTING
            )
        runtime = self.runtime
        caller: Caller | None = None
        if not route.public:
            caller = self.keys.verify(bearer_token(request.headers.get("authorization", "")))
            await self._refuse_revoked(runtime, caller)
        ip = client_ip(request.scope, self.networks)
        metadata: tuple[tuple[str, str], ...] = (
            ("x-request-id", request_id),
            (METADATA_KEY, self.identity.token()),
            # The client's address, as decided above, for the services' own budgets (sign-in).
            (CLIENT_IP_KEY, ip),
        )
        if caller is not None:
            metadata += (("authorization", f"Bearer {caller.token}"),)
        idempotency_key = self._idempotency_key(request)

        if route.streaming is Streaming.UPLOAD:
            await runtime.limiter.check(route, ip=ip, caller=caller)
            return await media.upload(
                request,
                route,
                call_factory=lambda: runtime.backends.callable(route),
                metadata=metadata,
                idempotency_key=idempotency_key,
                max_bytes=self.settings.max_upload_bytes,
                deadline=self.settings.transfer_timeout,
            )

        body: Any = None
        rpc = route.method.full_name
        if route.body:
            raw = await self._read_body(request)
            if raw.strip():
                _require_json(request)
            body = session_cookie.fill_refresh_token(rpc, request, parse_json(raw))
        # A call with a body is admitted once the body is in (a slow client cannot hold a
        # slot); one without was admitted in _handle; downloads and event streams are long,
        # outside admission like uploads.
        admission = runtime.admission
        admit = (
            admission.slot() if admission is not None and admitted(route) and route.body else contextlib.nullcontext()
        )
        async with admit:
            return await self._forward(request, route, variables, runtime, metadata, caller, ip, body)

    async def _forward(
        self,
        request: Request,
        route: Route,
        variables: dict[str, str],
        runtime: Runtime,
        metadata: tuple[tuple[str, str], ...],
        caller: Caller | None,
        ip: str,
        body: Any,
    ) -> Response:
        idempotency_key = self._idempotency_key(request)
        rpc = route.method.full_name
        await runtime.limiter.check(route, ip=ip, caller=caller)
        query = parse_query(request.scope.get("query_string", b""))
        if route.streaming is Streaming.EVENTS:
            query = events.with_resume_point(route, query, request.headers.get("last-event-id"))
        message = build_request(
            route,
            path_values=variables,
            query=query,
            body=body,
            caller_id=caller.user_id if caller else None,
            idempotency_key=idempotency_key,
        )
        if route.streaming is Streaming.EVENTS:
            assert caller is not None  # streams are never public
            signed_in = caller

            async def still_allowed() -> None:
                await self._refuse_revoked(runtime, signed_in)

            return await events.stream(
                route,
                message,
                call_factory=lambda: runtime.backends.callable(route),
                metadata=metadata,
                still_allowed=still_allowed,
            )
        if route.streaming is Streaming.DOWNLOAD:
            return await media.download(
                route,
                message,
                call_factory=lambda: runtime.backends.callable(route),
                metadata=metadata,
                deadline=self.settings.transfer_timeout,
            )
        try:
            answer = await runtime.backends.callable(route)(
                message, timeout=self.settings.call_timeout, metadata=metadata
            )
        except grpc.aio.AioRpcError as err:
            if session_cookie.ends_session(rpc, request, failed=True):
                error = from_rpc_error(err)
                expired = Response()
                session_cookie.expire_cookie(expired)
                error.headers["set-cookie"] = expired.headers["set-cookie"]
                raise error from None
            raise
        data = response_data(route, answer)
        refresh_token = session_cookie.take_refresh_token(rpc, request, data)
        response = Response(
            dump_json(data),
            status_code=route.success_status,
            media_type="application/json",
            headers=_JSON_HEADERS,
        )
        if refresh_token is not None:
            session_cookie.set_cookie(response, refresh_token, max_age=self.settings.refresh_cookie_max_age)
        elif session_cookie.ends_session(rpc, request, failed=False):
            session_cookie.expire_cookie(response)
        return response

    @staticmethod
    async def _refuse_revoked(runtime: Runtime, caller: Caller) -> None:
        """Signed-out sessions and suspended accounts (services/kit/revocation.py)."""
        if runtime.revocations is None:
            return
        refusal = await runtime.revocations.refusal(caller.session_id, caller.user_id)
        if refusal == "ACCOUNT_SUSPENDED":
            raise Unauthenticated(
                "this account is suspended; its sessions have ended", reason=ErrorReason.ACCOUNT_SUSPENDED
            )
        if refusal is not None:
            raise Unauthenticated("this session has signed out: sign in again", reason=ErrorReason.TOKEN_REVOKED)

    @staticmethod
    def _idempotency_key(request: Request) -> str | None:
        key = request.headers.get("idempotency-key")
        if key is None:
            return None
        if not _IDEMPOTENCY_KEY.match(key):
            raise InvalidArgument("Idempotency-Key", message="Idempotency-Key must be 1-128 visible ASCII characters")
        return key

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise media.payload_too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise media.payload_too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)


def admitted(target: Target) -> TypeGuard[Route]:
    """Whether admission control counts calls to this target: unary API calls (media
    transfers and event streams last long and are not counted; nor the operational
    endpoints and the web app)."""
    return isinstance(target, Route) and target.streaming is Streaming.UNARY


def _admitted_first(target: Target) -> bool:
    """A unary API call without a body: admission control comes before anything else."""
    return admitted(target) and not target.body
