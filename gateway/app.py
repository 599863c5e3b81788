"""The gateway as an ASGI app: `create_app(settings)` builds it (tests do the same).

Starlette supplies the request/response types, CORS and the lifespan; routing is the
gateway's own matcher (templates.py), behind the Starlette router's default. Channels and Redis are
opened in the lifespan, inside the server's event loop (grpc.aio channels belong to the
loop they were made in).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.admission import Admission
from gateway.auth import KeyRing, key_source
from gateway.backends import Backends
from gateway.dispatch import Dispatcher, Operational, Runtime, Target
from gateway.openapi import openapi_document
from gateway.ratelimit import RateLimiter
from gateway.routes import Route, all_routes
from gateway.security_headers import SecurityHeaders, has_origin
from gateway.settings import GatewaySettings
from gateway.shedding import FastRefusals
from gateway.templates import Matcher, compile_template
from gateway.webapp import WebApp, load_assets
from services.kit.redis_client import create_redis
from services.kit.revocation import RevocationMirror, SessionRevocations


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


# What stops working while a check of /readyz fails.
CAPABILITIES: dict[str, str] = {
    "user": "sign-up, sign-in, profiles and follows",
    "post": "posting and reading posts",
    "feed": "home and user timelines, trends",
    "search": "search",
    "media": "media uploads and downloads",
    "redis": "rate limits (requests pass unlimited)",
    "revocations": "in-memory revocation list (each request asks Redis)",
}


class Operations:
    """/healthz, /readyz, /openapi.json and the JWKS."""

    def __init__(self, settings: GatewaySettings, routes: list[Route], keys: KeyRing) -> None:
        self.settings = settings
        self.keys = keys
        # Built once: the descriptors do not change while the process runs.
        self.openapi = json.dumps(openapi_document(routes), ensure_ascii=False).encode("utf-8")
        self.backends: Backends | None = None
        self.redis: Redis | None = None
        self.revocations: RevocationMirror | None = None

    async def healthz(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """Ready unless the gateway itself cannot serve (starting, or no service answers).

        A service or Redis being down degrades what the platform can do, the same for every
        gateway replica: taking this one out of rotation would not help, so it says which
        capabilities are degraded instead (`degraded`), with 200.
        """
        timeout = self.settings.ready_timeout
        checks: dict[str, str] = {}
        if self.backends is None:
            checks["gateway"] = "STARTING"
        else:
            checks.update(await self.backends.health(seconds=timeout))
        if self.redis is None:
            checks["redis"] = "NOT CONFIGURED" if not self.settings.redis_url else "STARTING"
        else:
            try:
                await asyncio.wait_for(self.redis.ping(), timeout)
                checks["redis"] = "OK"
            except (RedisError, OSError, TimeoutError) as exc:
                checks["redis"] = f"UNREACHABLE: {type(exc).__name__}"
        if self.revocations is not None:
            checks["revocations"] = "OK" if self.revocations.in_step else "OUT OF STEP"
        failing = [name for name, value in checks.items() if value not in ("SERVING", "OK", "NOT CONFIGURED")]
        services = [name for name in checks if name not in ("redis", "gateway", "revocations")]
        if "gateway" in failing or (services and all(name in failing for name in services)):
            status, code = "not ready", 503
        else:
            status, code = ("degraded" if failing else "ready"), 200
        degraded = [CAPABILITIES.get(name, name) for name in failing]
        return _json({"status": status, "checks": checks, "degraded": degraded}, code)

    async def openapi_json(self, request: Request) -> Response:
        return Response(self.openapi, media_type="application/json")

    async def jwks(self, request: Request) -> Response:
        return _json(self.keys.public_jwks(), headers={"Cache-Control": "public, max-age=300"})

    def targets(self) -> dict[str, Operational]:
        return {
            "/healthz": Operational("healthz", self.healthz),
            "/readyz": Operational("readyz", self.readyz),
            "/openapi.json": Operational("openapi", self.openapi_json),
            "/v1/.well-known/jwks.json": Operational("jwks", self.jwks),
        }


def build_matcher(routes: list[Route], operations: Operations, web: WebApp | None = None) -> Matcher[Target]:
    matcher: Matcher[Target] = Matcher()
    for path, target in operations.targets().items():
        matcher.add("GET", compile_template(path), target)
    if web is not None:
        for path in web.paths():
            matcher.add("GET", compile_template(path), Operational("web", web.serve))
    for route in routes:
        matcher.add(route.http_method, route.template, route)
    return matcher


class GatewayApp(Starlette):
    """Starlette with a direct lane: an HTTP request that needs no CORS answer goes
    straight to the dispatcher, which answers everything it is asked (errors included)
    with the security headers. Starlette's five middleware layers each wrapped every send;
    under the home-read load they were a sixth of the gateway's time per answer. Requests
    with an Origin (when CORS is on), and the lifespan, take Starlette's way."""

    def __init__(self, dispatcher: Dispatcher, *, cors: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct = dispatcher.asgi
        self._cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (self._cors and has_origin(scope["headers"])):
            scope["app"] = self
            await self._direct(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: GatewaySettings, *, routes: list[Route] | None = None) -> Starlette:
    routes = all_routes() if routes is None else routes
    keys = KeyRing(
        key_source(
            jwks_file=settings.jwt_public_keys_file,
            data_dir=settings.data_dir,
            production=settings.env == "production",
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    operations = Operations(settings, routes, keys)
    web = WebApp(load_assets())
    matcher = build_matcher(routes, operations, web)
    dispatcher = Dispatcher(settings, matcher, keys, settings.workload_identity("gateway"))
    admission = Admission(limit=settings.admission_limit, queue=settings.admission_queue, wait=settings.admission_wait)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        addresses = {name: settings.addr(name) for name in {r.backend for r in routes}}
        backends = Backends.open(
            routes,
            addresses=addresses,
            size=settings.channels_per_service,
            max_response_bytes=settings.max_response_bytes,
        )
        redis = (
            create_redis(
                settings.redis_url, pool_size=settings.redis_pool_size, pool_timeout=settings.redis_pool_timeout
            )
            if settings.redis_url
            else None
        )
        # Revocations are checked in memory, kept in step with Redis by this task.
        mirror: RevocationMirror | None = None
        mirroring: asyncio.Task[None] | None = None
        if redis is not None:
            mirror = RevocationMirror()
            mirroring = asyncio.create_task(mirror.run(redis), name="revocation-mirror")
            # Serve with the list loaded when Redis answers; without it, start anyway.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(mirror.first_load.wait(), settings.ready_timeout)
        dispatcher.runtime = Runtime(
            backends=backends,
            limiter=RateLimiter(redis, settings),
            revocations=SessionRevocations(redis, mirror=mirror) if redis is not None else None,
            admission=admission,
        )
        operations.backends, operations.redis, operations.revocations = backends, redis, mirror
        try:
            yield
        finally:
            if mirroring is not None:
                mirroring.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await mirroring
            dispatcher.runtime = None
            operations.backends = operations.redis = operations.revocations = None
            await backends.close()
            if redis is not None:
                await redis.aclose()

    # Outermost, so every answer gets the headers: errors, CORS preflights, media.
    middleware = [Middleware(SecurityHeaders)]
    origins = settings.cors_origin_list()
    if origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "idempotency-key",
                    "x-request-id",
                    "koo-refresh-cookie",
                ],
                expose_headers=["retry-after", "x-request-id", "location"],
                max_age=600,
            )
        )
    app = GatewayApp(dispatcher, cors=bool(origins), routes=[], middleware=middleware, lifespan=lifespan)
    # No Starlette routes: every request falls through to the router's default, our
    # dispatcher. (A catch-all `/{path:path}` route would not match paths holding a
    # percent-encoded newline, and would answer those with a text/plain 404.)
    app.router.default = dispatcher.asgi
    # For the HTTP protocol (gateway/__main__.py): refusals answered before the app runs.
    app.state.refusals = FastRefusals(admission, matcher, cors=bool(origins))
    return app
