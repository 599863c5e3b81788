"""Finding 15: JSON only as application/json (no login CSRF by a cross-site form), and
security headers on every answer, errors and media included."""

from __future__ import annotations

import httpx
import pytest

from tests.clients import PASSWORD
from tests.security.conftest import sign_up

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_secure_headers(answer: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, (name, answer.headers)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
async def test_sign_in_refuses_json_under_other_content_types(api: httpx.AsyncClient, content_type: str) -> None:
    who = await sign_up(api)
    body = f'{{"handle":"{who.handle}","password":"{PASSWORD}"}}'
    headers = {"content-type": content_type} if content_type else {}
    answer = await api.post("/v1/sessions", content=body.encode(), headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"]["details"][0]["reason"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "access_token" not in answer.text


async def test_json_content_type_with_charset_is_accepted(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    body = f'{{"handle":"{who.handle}","password":"{PASSWORD}"}}'
    answer = await api.post(
        "/v1/sessions", content=body.encode(), headers={"content-type": "application/json; charset=utf-8"}
    )
    assert answer.status_code == 200


async def test_every_kind_of_answer_carries_the_security_headers(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    answers = [
        await api.get("/healthz"),
        await api.get("/openapi.json"),
        await api.get("/v1/users/me", headers=who.auth),
        await api.get("/v1/users/me"),  # 401
        await api.get("/v1/no/such/path"),  # 404
        await api.get(f"/v1/media/{10**15}/content", headers=who.auth),  # media path (404 here)
    ]
    for answer in answers:
        assert_secure_headers(answer)
