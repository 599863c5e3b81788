"""Authentication at the edge: which calls need a token, and which tokens are refused."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from services.kit.auth import TokenSigner
from tests.e2e.conftest import Account, error_of, reason
from tests.e2e.platform import Platform

PROTECTED = [
    ("GET", "/v1/users/me"),
    ("GET", "/v1/users/1"),
    ("GET", "/v1/handles/someone"),
    ("PATCH", "/v1/users/me"),
    ("POST", "/v1/users/1:follow"),
    ("GET", "/v1/users/1/followers"),
    ("DELETE", "/v1/sessions/current"),
    ("POST", "/v1/posts"),
    ("GET", "/v1/posts/1"),
    ("DELETE", "/v1/posts/1"),
    ("GET", "/v1/feed/home"),
    ("GET", "/v1/trends/hashtags"),
    ("GET", "/v1/search/posts?q=x"),
    ("POST", "/v1/media"),
    ("GET", "/v1/media/1/content"),
    ("GET", "/v1/users:batchGet?user_ids=1"),  # internal batch call: routed, but never anonymous
]


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_everything_but_sign_up_and_in_needs_a_token(client: httpx.Client, method: str, path: str) -> None:
    answer = client.request(method, path)
    assert answer.status_code == 401, answer.text
    assert error_of(answer)["status"] == "UNAUTHENTICATED"
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_public_endpoints_need_none(client: httpx.Client) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/v1/.well-known/jwks.json"):
        assert client.get(path).status_code == 200, path
    # Public RPCs answer on their merits, not 401.
    assert client.post("/v1/sessions", json={"handle": "nobody_here", "password": "x" * 10}).status_code == 401
    assert client.post("/v1/sessions:refresh", json={"refresh_token": "nope"}).status_code == 401
    assert client.post("/v1/users", json={}).status_code == 400


def test_jwks_publishes_public_keys_only(client: httpx.Client) -> None:
    keys = client.get("/v1/.well-known/jwks.json").json()["keys"]
    assert keys and all(k["kty"] == "OKP" and "d" not in k and k["kid"] for k in keys)


def _refused(client: httpx.Client, token: str) -> httpx.Response:
    answer = client.get("/v1/users/me", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text
    return answer


def test_alg_none_is_refused(client: httpx.Client, alice: Account) -> None:
    header, payload, _ = alice.access_token.split(".")
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}."
    _refused(client, unsigned)


def test_hs256_with_the_public_key_as_secret_is_refused(client: httpx.Client, alice: Account) -> None:
    import jwt

    key = client.get("/v1/.well-known/jwks.json").json()["keys"][0]
    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    forged = jwt.encode(claims, key["x"].encode() * 2, algorithm="HS256", headers={"kid": key["kid"]})
    _refused(client, forged)


def test_tampered_tokens_are_refused(client: httpx.Client, alice: Account, bob: Account) -> None:
    header, payload, signature = alice.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = bob.id  # become bob
    _refused(client, f"{header}.{_b64(claims)}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    _refused(client, f"{header}.{payload}.{flipped}")


def test_unknown_kid_garbage_and_other_schemes_are_refused(client: httpx.Client, alice: Account) -> None:
    _, payload, signature = alice.access_token.split(".")
    other_kid = _b64({"alg": "EdDSA", "typ": "JWT", "kid": "someone-else"})
    _refused(client, f"{other_kid}.{payload}.{signature}")
    _refused(client, "not-a-jwt")
    basic = client.get("/v1/users/me", headers={"authorization": f"Basic {alice.access_token}"})
    assert basic.status_code == 401 and reason(basic) == "TOKEN_INVALID"


def test_expired_tokens_are_refused(client: httpx.Client, platform: Platform, alice: Account) -> None:
    signer = TokenSigner.from_file(
        platform.data_dir / "keys" / "jwt-signing.pem", issuer="koo-user-service", audience="koo"
    )
    fresh = signer.sign(user_id=int(alice.id), session_id="s", ttl_seconds=300)
    assert client.get("/v1/users/me", headers={"authorization": f"Bearer {fresh}"}).status_code == 200
    expired = signer.sign(user_id=int(alice.id), session_id="s", ttl_seconds=-60)
    assert reason(_refused(client, expired)) == "TOKEN_EXPIRED"
