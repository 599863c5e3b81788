"""Refresh tokens for browsers: an HttpOnly cookie instead of a field script can read.

A browser app that kept the refresh token in JavaScript (a variable mirrored to
localStorage, say) would hand it to any script injected into the page, and the refresh
token is the long-lived credential: whoever holds it can mint access tokens for 30 days.
So a browser client asks, with the header `Koo-Refresh-Cookie: 1` on sign-in and refresh,
to receive the refresh token as a cookie instead:

- `HttpOnly`: no script reads it, injected or not;
- `Secure`: sent only over HTTPS (browsers count http://127.0.0.1 and localhost as secure);
- `SameSite=Strict`: never sent on a request another site starts (no CSRF on refresh);
- `Path=/v1/sessions:refresh`: sent with the refresh call and nothing else, so it never
  rides along with ordinary API calls, logs or media fetches.

The JSON answer then carries `refresh_token: ""`. To refresh, the app posts `{}` to
`/v1/sessions:refresh` with the same header and the gateway takes the token from the
cookie; the rotated token replaces the cookie. Signing out (`DELETE /v1/sessions/current`)
revokes the session in the user service and expires the cookie. The access token stays in
the app's memory only: a reload costs one refresh call. Clients that send no such header
(mobile apps, curl) get the token in the body as before.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from koo.errors.v1.error_reason_pb2 import ErrorReason
from services.kit.errors import Unauthenticated

OPT_IN_HEADER = "koo-refresh-cookie"
COOKIE_NAME = "koo_refresh"
COOKIE_PATH = "/v1/sessions:refresh"

SIGN_IN_RPC = "koo.user.v1.UserService.CreateSession"
REFRESH_RPC = "koo.user.v1.UserService.RefreshSession"
SIGN_OUT_RPC = "koo.user.v1.UserService.DeleteSession"
_ISSUING = frozenset({SIGN_IN_RPC, REFRESH_RPC})


def wanted(request: Request) -> bool:
    return request.headers.get(OPT_IN_HEADER, "").strip() in ("1", "true")


def fill_refresh_token(rpc: str, request: Request, body: Any) -> Any:
    """A cookie-mode refresh without a token in the body: the cookie's token."""
    if rpc != REFRESH_RPC or not wanted(request):
        return body
    if body is None:
        body = {}
    if isinstance(body, dict) and not body.get("refresh_token") and not body.get("refreshToken"):
        token = request.cookies.get(COOKIE_NAME, "")
        if not token:
            # Nobody signed in on this browser (or the cookie expired): the app's usual
            # start-up question, answered as such.
            raise Unauthenticated("no session cookie: sign in", reason=ErrorReason.SIGN_IN_REQUIRED)
        body = {**body, "refresh_token": token}
    return body


def take_refresh_token(rpc: str, request: Request, data: Any) -> str | None:
    """For a cookie-mode sign-in or refresh: the new refresh token, removed from `data`."""
    if rpc not in _ISSUING or not wanted(request) or not isinstance(data, dict):
        return None
    token = data.get("refresh_token")
    if not isinstance(token, str) or not token:
        return None
    data["refresh_token"] = ""
    return token


def set_cookie(response: Response, token: str, *, max_age: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )


def expire_cookie(response: Response) -> None:
    response.set_cookie(COOKIE_NAME, "", max_age=0, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict")


def ends_session(rpc: str, request: Request, *, failed: bool) -> bool:
    """Whether the answer should expire the cookie: a sign-out, or a cookie-mode refresh
    whose token was refused (revoked, reused or expired: it is worthless now)."""
    if rpc == SIGN_OUT_RPC:
        return True
    return failed and rpc == REFRESH_RPC and wanted(request) and COOKIE_NAME in request.cookies
