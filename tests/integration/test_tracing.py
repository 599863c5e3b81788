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
    assert {s["trace_id"] for s in spans} and len({s["trace_id"] for s in spans}) == 1, spans
    kinds = {(s["kind"], s["rpc_service"]) for s in spans}
    # The gateway's HTTP span, its gRPC call, and the user service's handling of it.
    assert any(s["kind"] == "SERVER" and s["name"].startswith("GET") for s in spans), spans
    assert ("CLIENT", "koo.user.v1.UserService") in kinds, kinds
    assert ("SERVER", "koo.user.v1.UserService") in kinds, kinds
    systems = {s["db_system"] for s in spans}
    assert "postgresql" in systems, systems
    assert "redis" in systems, systems
    # Every span but the root has its parent inside the same trace.
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if not s["parent_id"]]
    assert len(roots) == 1 and all(s["parent_id"] in ids for s in spans if s["parent_id"]), spans
