"""One request through the gateway is one trace: gateway, user service, PostgreSQL, Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_one_request_yields_one_trace_across_gateway_service_and_stores(
    database_url: str, redis_url: str, data_dir: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.trace_probe", database_url, redis_url, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spans = json.loads(done.stdout.strip().splitlines()[-1])
    # The request's trace is the one rooted at the gateway's HTTP span; background work
    # (the outbox relay, consumers) makes traces of its own and is left out.
    roots = [s for s in spans if s["kind"] == "SERVER" and s["name"].startswith("GET") and not s["parent_id"]]
    assert len(roots) == 1, spans
    request = [s for s in spans if s["trace_id"] == roots[0]["trace_id"]]
    kinds = {(s["kind"], s["rpc_service"]) for s in request}
    assert ("CLIENT", "koo.user.v1.UserService") in kinds, kinds
    assert ("SERVER", "koo.user.v1.UserService") in kinds, kinds
    systems = {s["db_system"] for s in request}
    assert {"postgresql", "redis"} <= systems, systems
    # Every gRPC span and the gateway's rate-limit script belong to that one trace.
    assert all(s["trace_id"] == roots[0]["trace_id"] for s in spans if s["rpc_service"] or s["name"] == "EVALSHA")
    # And inside it every span but the root hangs off another span of the same trace.
    ids = {s["span_id"] for s in request}
    assert all(s["parent_id"] in ids for s in request if s is not roots[0]), request
