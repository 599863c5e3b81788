"""Authentication at the edge: bearer JWTs checked with the kit's TokenVerifier.

The verifier pins the algorithm (EdDSA: `alg=none` and HS* fail), checks signature, expiry,
issuer, audience and `kid`. The services check the forwarded token again (zero trust).

Keys rotate by adding a `kid` to the JWKS file (a mounted Secret in Kubernetes): the key
ring re-reads the file when it changes, and when a token names a kid it does not know
(throttled, so unknown kids cannot make it read the disk on every request).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from services.kit.auth import TokenVerifier, ensure_dev_keys
from services.kit.context import Caller
from services.kit.errors import ErrorReason, Unauthenticated

log = logging.getLogger("koo.gateway")

# Members of a public JWK worth publishing (never `d`, the private part).
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e", "kid", "alg", "use")
_RELOAD_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class KeySource:
    path: Path
    issuer: str
    audience: str


def key_source(*, jwks_file: Path | None, data_dir: Path, production: bool, issuer: str, audience: str) -> KeySource:
    """Where the public keys are: KOO_JWT_PUBLIC_KEYS_FILE, else (development) the dev keys
    beside the data (the same ones the user service signs with)."""
    if jwks_file is None:
        if production:
            raise ValueError("production needs KOO_JWT_PUBLIC_KEYS_FILE")
        _, jwks_file = ensure_dev_keys(data_dir)
    return KeySource(jwks_file, issuer, audience)


class KeyRing:
    """The current verifier and public JWKS, re-read when the file changes."""

    def __init__(self, source: KeySource) -> None:
        self.source = source
        self._mtime = -1.0
        self._checked = 0.0
        self._verifier: TokenVerifier | None = None
        self._public: dict[str, Any] = {"keys": []}
        self.reload(force=True)

    def reload(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < _RELOAD_EVERY:
            return
        self._checked = now
        try:
            mtime = self.source.path.stat().st_mtime
            if mtime == self._mtime and self._verifier is not None:
                return
            jwks = json.loads(self.source.path.read_text())
            verifier = TokenVerifier(jwks, issuer=self.source.issuer, audience=self.source.audience)
        except (OSError, ValueError, KeyError, jwt.PyJWTError) as exc:
            # Keep the keys we have: a half-written file must not sign everybody out.
            if self._verifier is None:
                raise
            log.warning("could not reload the JWKS from %s: %s", self.source.path, exc)
            return
        self._mtime = mtime
        self._verifier = verifier
        keys = [{k: v for k, v in entry.items() if k in _PUBLIC_MEMBERS} for entry in jwks.get("keys", [])]
        self._public = {"keys": keys}

    def public_jwks(self) -> dict[str, Any]:
        self.reload()
        return self._public

    def verify(self, token: str) -> Caller:
        # A look at the file at most every few seconds picks up rotated keys, including a
        # new kid a token already carries; unknown kids cannot force more reads than that.
        self.reload()
        # The verifier remembers tokens it already accepted (services.kit.auth), so the
        # signature is checked once per token, not once per request.
        assert self._verifier is not None
        claims = self._verifier.verify(token)
        return Caller(user_id=claims.user_id, session_id=claims.session_id, token=token)


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header, or UNAUTHENTICATED."""
    if not header:
        raise Unauthenticated(
            "sign in first: send Authorization: Bearer <access_token>", reason=ErrorReason.SIGN_IN_REQUIRED
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(
            "the Authorization header must be `Bearer <access_token>`", reason=ErrorReason.TOKEN_INVALID
        )
    return token
