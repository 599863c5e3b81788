"""What the edge does besides transcoding: unknown paths, methods, sizes, rate limits, CORS,
request ids, health and the OpenAPI document."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate

from tests.e2e.conftest import Account, error_of, reason, register, unique_handle
from tests.e2e.platform import TEST_ENV, Platform


def test_unknown_path_is_a_404_with_the_error_body(client: httpx.Client) -> None:
    for path in ("/v1/nothing", "/nothing", "/app/nothing.js", "/v1/users/1/nothing", "/v2/users"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert error_of(answer)["status"] == "NOT_FOUND"
        assert reason(answer) == "PATH_NOT_FOUND"


def test_wrong_method_is_a_405_naming_the_allowed_ones(client: httpx.Client, alice: Account) -> None:
    answer = client.get(f"/v1/users/{alice.id}:follow", headers=alice.auth)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert error_of(answer)["code"] == 405
    put = client.put("/v1/users/me", headers=alice.auth, json={})
    assert put.status_code == 405 and put.headers["allow"] == "GET, PATCH"
    assert client.post("/healthz").status_code == 405


def test_oversized_bodies_are_413(client: httpx.Client, alice: Account) -> None:
    limit = int(TEST_ENV["KOO_MAX_BODY_BYTES"])
    big = client.patch("/v1/users/me", headers=alice.auth, json={"bio": "x" * (limit + 10)})
    assert big.status_code == 413
    assert error_of(big)["code"] == 413 and reason(big) == "PAYLOAD_TOO_LARGE"

    def chunks() -> object:  # no Content-Length: the limit holds while streaming too
        for _ in range(limit // 1000 + 5):
            yield b" " * 1000

    streamed = client.patch("/v1/users/me", headers=alice.auth, content=chunks())  # type: ignore[arg-type]
    assert streamed.status_code == 413


def test_failed_sign_ins_per_handle_are_limited(client: httpx.Client) -> None:
    account = register(client)
    budget = int(TEST_ENV["KOO_RATE_LOGIN_FAILURES"].split("/")[0])
    for _ in range(budget):
        wrong = client.post("/v1/sessions", json={"handle": account.handle, "password": "wrong password"})
        assert wrong.status_code == 401
    limited = client.post("/v1/sessions", json={"handle": account.handle, "password": "wrong password"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert error_of(limited)["status"] == "RESOURCE_EXHAUSTED" and reason(limited) == "RATE_LIMITED"
    # Even the right password waits: whoever tried the wrong ones may be guessing.
    right = client.post("/v1/sessions", json={"handle": account.handle, "password": "correct horse battery"})
    assert right.status_code == 429
    # Other handles are not affected.
    other = register(client)
    assert client.post("/v1/sessions", json={"handle": other.handle, "password": "correct horse battery"}).is_success


def test_reads_per_user_are_limited(client: httpx.Client) -> None:
    account = register(client)
    budget = int(TEST_ENV["KOO_RATE_READ"].split("/")[0])
    statuses = [client.get("/v1/users/me", headers=account.auth).status_code for _ in range(budget + 1)]
    assert statuses[:budget] == [200] * budget
    assert statuses[budget] == 429
    limited = client.get("/v1/users/me", headers=account.auth)
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 60
    # Another user's budget is their own.
    assert client.get("/v1/users/me", headers=register(client).auth).status_code == 200


def test_request_ids_are_echoed_and_forwarded(client: httpx.Client, alice: Account) -> None:
    mine = client.get("/v1/users/me", headers={**alice.auth, "x-request-id": "trace-me-123"})
    assert mine.headers["x-request-id"] == "trace-me-123"
    made = client.get("/v1/nothing")
    request_id = made.headers["x-request-id"]
    infos = [d for d in error_of(made)["details"] if d["@type"].endswith("RequestInfo")]
    assert infos == [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": request_id}]


def test_cors_for_the_web_app(client: httpx.Client) -> None:
    origin = TEST_ENV["KOO_CORS_ORIGINS"]
    preflight = client.options(
        "/v1/users/me",
        headers={
            "origin": origin,
            "access-control-request-method": "PATCH",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    simple = client.get("/healthz", headers={"origin": origin})
    assert simple.headers["access-control-allow-origin"] == origin
    stranger = client.get("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_health_readiness_and_openapi(client: httpx.Client, platform: Platform) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert {"user", "post", "feed", "search", "media", "redis"} <= set(ready["checks"])
    document = client.get("/openapi.json")
    assert document.status_code == 200
    validate(document.json())


def test_the_gateway_answers_json(client: httpx.Client, alice: Account) -> None:
    # Every endpoint of docs/api.md answers JSON (or bytes for media content), never a bare 5xx page.
    for method, path in [("GET", "/v1/trends/hashtags"), ("GET", "/v1/search/users?q=a")]:
        answer = client.request(method, path, headers=alice.auth)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")


def test_sign_ups_per_ip_are_limited_separately_from_reads(client: httpx.Client) -> None:
    # The e2e budget for sign-ups is large; this only checks that sign-ups are not read-limited.
    handle = unique_handle()
    created = client.post(
        "/v1/users", json={"handle": handle, "password": "correct horse battery", "display_name": "x"}
    )
    assert created.status_code == 201
