"""`koo serve gateway`: the REST gateway under uvicorn (uvloop, httptools)."""

from __future__ import annotations

import logging

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from gateway.app import create_app
from gateway.http_server import GuardedHttpProtocol, guarded_protocol
from gateway.settings import GatewaySettings
from services.kit.logs import setup_logging
from services.kit.settings import load_settings
from services.kit.telemetry import setup_tracing, shutdown_tracing

SETTINGS_CLASS = GatewaySettings
log = logging.getLogger("koo.gateway")


def make_app(settings: GatewaySettings) -> Starlette:
    """The ASGI app for these settings (what tests and benchmarks serve)."""
    return create_app(settings)


def _traced(app: Starlette, settings: GatewaySettings) -> ASGIApp:
    # Tracing costs a span per request and per call: on only when traces go somewhere.
    if not settings.otlp_endpoint:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    setup_tracing("gateway", settings.otlp_endpoint)
    return OpenTelemetryMiddleware(app)


def server_protocol(settings: GatewaySettings, app: Starlette | None = None) -> type[GuardedHttpProtocol]:
    """The HTTP protocol with this gateway's head/body deadlines and header limits, and
    the app's admission control answering refusals before the app runs."""
    return guarded_protocol(
        header_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        max_headers=settings.http_max_headers,
        max_header_bytes=settings.http_max_header_bytes,
        refusals=app.state.refusals if app is not None else None,
    )


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    setup_logging("gateway", settings.log_level, settings.log_format)
    gateway = make_app(settings)
    app = _traced(gateway, settings)
    log.info("koo gateway serving on %s:%d", settings.listen_host(), settings.listen_port())
    try:
        uvicorn.run(
            app,
            host=settings.listen_host(),
            port=settings.listen_port(),
            loop="uvloop",
            http=server_protocol(settings, gateway),
            limit_concurrency=settings.http_max_connections,
            lifespan="on",
            # Client addresses are decided in clientip.py against KOO_TRUSTED_PROXIES;
            # uvicorn would otherwise believe X-Forwarded-For from any local peer.
            proxy_headers=False,
            server_header=False,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=int(settings.shutdown_grace),
        )
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
