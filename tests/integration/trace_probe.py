"""Runs one request through the gateway with tracing on, in a process of its own.

Tracing is process-global (a tracer provider and instrumented gRPC/Redis), so the test
runs this probe as a subprocess rather than switching tracing on inside the test session.
It starts the user service and the gateway on real sockets, exports spans to memory, sends
`GET /v1/users/me`, and prints the spans of that request as JSON.

    python -m tests.integration.trace_probe DATABASE_URL REDIS_URL DATA_DIR
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import uvicorn
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.__main__ import SETTINGS_CLASS as GATEWAY_SETTINGS
from gateway.__main__ import make_app
from services.kit.server import start_server
from services.kit.telemetry import setup_tracing
from services.user.__main__ import SETTINGS_CLASS as USER_SETTINGS
from services.user.__main__ import make_register
from tests.harness import base_settings, free_port


async def probe(database_url: str, redis_url: str, data_dir: Path) -> list[dict[str, object]]:
    exporter = InMemorySpanExporter()
    setup_tracing("probe", exporter=exporter)
    ports = {"user": free_port(), "gateway": free_port()}
    common = base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports=ports)
    user_settings = USER_SETTINGS(
        **{k: v for k, v in {**common, "port": ports["user"]}.items() if k in USER_SETTINGS.model_fields}
    )
    user = await start_server(user_settings, name="user", register=make_register(user_settings))
    gw_settings = GATEWAY_SETTINGS(
        **{k: v for k, v in {**common, "port": ports["gateway"]}.items() if k in GATEWAY_SETTINGS.model_fields}
    )
    app = OpenTelemetryMiddleware(make_app(gw_settings))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=ports["gateway"], lifespan="on", log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}", timeout=10) as client:
            handle = f"trace_{ports['gateway']}"
            body = {"handle": handle, "password": "trace-password", "display_name": "ट्रेस"}
            assert (await client.post("/v1/users", json=body)).status_code == 201
            login = await client.post("/v1/sessions", json={"handle": handle, "password": "trace-password"})
            token = login.json()["access_token"]
            provider = trace.get_tracer_provider()
            assert isinstance(provider, TracerProvider)
            provider.force_flush()
            exporter.clear()
            me = await client.get("/v1/users/me", headers={"authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text
            provider.force_flush()
    finally:
        server.should_exit = True
        await serving
        await user.stop(grace=0.5)
    return [
        {
            "name": span.name,
            "kind": span.kind.name,
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent_id": format(span.parent.span_id, "016x") if span.parent else "",
            "db_system": str((span.attributes or {}).get("db.system", "")),
            "rpc_service": str((span.attributes or {}).get("rpc.service", "")),
        }
        for span in exporter.get_finished_spans()
    ]


if __name__ == "__main__":
    spans = asyncio.run(probe(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
    sys.stdout.write(json.dumps(spans) + "\n")
