"""The web app as HTTP sees it: served at `/` with its security headers, the browser's
refresh-token cookie (gateway/session_cookie.py), and uploaded media that can never act
as a page of the app's origin. The browser itself is driven in test_webapp_browser.py."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, Account, reason, register
from tests.e2e.platform import Platform
from tests.e2e.test_media import png

WEB = Path(__file__).resolve().parents[2] / "gateway" / "web"
COOKIE_MODE = {"koo-refresh-cookie": "1"}
BUDGET_BYTES = 150 * 1024


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_the_app_is_served_at_the_root_with_a_strict_policy(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/app/js/main.js">' in page.text
    assert "<script>" not in page.text  # no inline script: the policy would refuse it anyway
    csp = _csp(page)
    assert csp["script-src"] == "script-src 'self'"
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "'unsafe-eval'" not in page.headers["content-security-policy"]
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["default-src"] == "default-src 'none'"  # objects, frames, workers: nothing
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_every_module_the_page_imports_is_served(client: httpx.Client) -> None:
    seen: set[str] = set()
    todo = ["/app/js/main.js", "/app/app.css"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["x-content-type-options"] == "nosniff"
        if path.endswith(".js"):
            assert answer.headers["content-type"].startswith("text/javascript"), path
            base = path.rsplit("/", 1)[0]
            for spec in re.findall(r'from "(\.{1,2}/[^"]+)"', answer.text):
                todo.append(str(Path(base, spec).resolve()) if spec.startswith("../") else f"{base}/{spec[2:]}")
    assert "/app/js/views/compose.js" in seen


def test_a_reload_costs_a_304_and_assets_are_compressed(client: httpx.Client) -> None:
    first = client.get("/app/js/main.js", headers={"accept-encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    again = client.get("/app/js/main.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


def test_javascript_and_css_stay_under_150_kb_compressed() -> None:
    files = [p for p in WEB.rglob("*") if p.suffix in (".js", ".css")]
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    assert total < BUDGET_BYTES, f"{total} bytes of JS+CSS compressed; the budget is {BUDGET_BYTES}"


def test_unknown_app_files_are_404(client: httpx.Client) -> None:
    for path in ("/app/nothing.js", "/app/../gateway/app.py", "/app/js/strings/xx.js"):
        answer = client.get(path)
        assert answer.status_code == 404, path


# The refresh cookie -------------------------------------------------------------------


@pytest.fixture
def platform_client(platform: Platform) -> Iterator[httpx.Client]:
    """A client of its own: cookies set here must not leak into other tests' clients."""
    with httpx.Client(base_url=platform.base_url, timeout=30) as http:
        yield http


def _sign_in(client: httpx.Client, account: Account) -> httpx.Response:
    return client.post("/v1/sessions", json={"handle": account.handle, "password": PASSWORD}, headers=COOKIE_MODE)


def _cookie_of(response: httpx.Response) -> tuple[str, str]:
    header = response.headers["set-cookie"]
    value = header.split(";", 1)[0].split("=", 1)[1]
    return value, header.lower()


def test_a_browser_gets_the_refresh_token_only_as_an_http_only_cookie(platform_client: httpx.Client) -> None:
    account = register(platform_client)
    answer = _sign_in(platform_client, account)
    assert answer.status_code == 200
    assert answer.json()["refresh_token"] == ""  # nothing for script to read
    assert answer.json()["access_token"]
    token, attributes = _cookie_of(answer)
    assert token
    for attribute in ("httponly", "secure", "samesite=strict", "path=/v1/sessions:refresh"):
        assert attribute in attributes
    # Without the opt-in header (mobile apps, curl) nothing changes.
    plain = platform_client.post("/v1/sessions", json={"handle": account.handle, "password": PASSWORD})
    assert plain.json()["refresh_token"] and "set-cookie" not in plain.headers


def test_refresh_by_cookie_rotates_it_and_the_old_one_is_refused(platform_client: httpx.Client) -> None:
    account = register(platform_client)
    first, _ = _cookie_of(_sign_in(platform_client, account))
    jar = {"cookie": f"koo_refresh={first}"}
    rotated = platform_client.post("/v1/sessions:refresh", json={}, headers={**COOKIE_MODE, **jar})
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] == "" and rotated.json()["user"]["handle"] == account.handle
    second, _ = _cookie_of(rotated)
    assert second and second != first
    replay = platform_client.post("/v1/sessions:refresh", json={}, headers={**COOKIE_MODE, **jar})
    assert replay.status_code == 401
    _, expired = _cookie_of(replay)
    assert "max-age=0" in expired  # the refused cookie is dropped by the browser


def test_refresh_without_a_cookie_is_a_401_not_a_400(platform_client: httpx.Client) -> None:
    answer = platform_client.post("/v1/sessions:refresh", json={}, headers=COOKIE_MODE)
    assert answer.status_code == 401
    assert reason(answer) == "SIGN_IN_REQUIRED"


def test_sign_out_revokes_the_session_and_expires_the_cookie(platform_client: httpx.Client) -> None:
    account = register(platform_client)
    signed_in = _sign_in(platform_client, account)
    token, _ = _cookie_of(signed_in)
    bearer = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
    out = platform_client.delete("/v1/sessions/current", headers={**bearer, **COOKIE_MODE})
    assert out.status_code == 200
    assert "max-age=0" in _cookie_of(out)[1]
    again = platform_client.post(
        "/v1/sessions:refresh", json={}, headers={**COOKIE_MODE, "cookie": f"koo_refresh={token}"}
    )
    assert again.status_code == 401


# Media --------------------------------------------------------------------------------


def test_uploaded_media_is_served_sandboxed(client: httpx.Client, alice: Account) -> None:
    created = client.post("/v1/media", content=png(), headers={**alice.auth, "content-type": "image/png"})
    assert created.status_code == 201, created.text
    content = client.get(f"/v1/media/{created.json()['id']}/content", headers=alice.auth)
    if content.status_code == 302:
        pytest.skip("media is served from signed storage URLs here (the bucket sets the headers)")
    assert content.status_code == 200
    policy = _csp(content)
    assert policy["sandbox"] == "sandbox" and policy["default-src"] == "default-src 'none'"
    assert "script-src" not in policy
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-type"].startswith("image/")
