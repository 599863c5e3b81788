"""Access tokens: short-lived JWTs signed with Ed25519 keys named by `kid`.

The user service signs with the private key; every service (and the gateway) verifies
against the public keys of a JWKS file, so keys rotate by adding a new `kid` before
switching the signer to it. The algorithm is pinned: `alg=none` and HS* tokens fail.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.errors import ErrorReason, Unauthenticated

ALGORITHM = "EdDSA"
VERIFIED_CAPACITY = 50_000  # tokens remembered per process (~10 MB at most)


@dataclass(frozen=True, slots=True)
class Claims:
    """Who an access token speaks for."""

    user_id: int
    session_id: str
    expires_at: int


class TokenVerifier:
    """Checks access tokens against a JWKS (public keys by kid)."""

    def __init__(self, jwks: dict[str, Any], *, issuer: str, audience: str) -> None:
        self._keys: dict[str, Any] = {}
        for entry in jwks.get("keys", []):
            key = jwt.PyJWK(entry, algorithm=ALGORITHM)
            self._keys[entry["kid"]] = key.key
        if not self._keys:
            raise ValueError("the JWKS holds no keys")
        self.issuer = issuer
        self.audience = audience
        # Verifying an EdDSA signature costs ~1 ms, more than the rest of a typical call,
        # and an app sends the same token for many calls: a token this verifier already
        # accepted is taken from memory until it expires. Only verified tokens are kept,
        # so garbage cannot fill it; new keys mean a new verifier and an empty memory.
        self._verified: OrderedDict[str, Claims] = OrderedDict()

    @classmethod
    def from_file(cls, path: Path, *, issuer: str, audience: str) -> TokenVerifier:
        return cls(json.loads(path.read_text()), issuer=issuer, audience=audience)

    def verify(self, token: str) -> Claims:
        known = self._verified.get(token)
        if known is not None and known.expires_at > time.time():
            self._verified.move_to_end(token)
            return known
        claims = self._verify_signed(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CAPACITY:
            self._verified.popitem(last=False)
        return claims

    def _verify_signed(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is malformed", reason=ErrorReason.TOKEN_INVALID) from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("the access token's algorithm is not accepted", reason=ErrorReason.TOKEN_INVALID)
        key = self._keys.get(str(header.get("kid", "")))
        if key is None:
            raise Unauthenticated("the access token's key is unknown", reason=ErrorReason.TOKEN_INVALID)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired", reason=ErrorReason.TOKEN_EXPIRED) from None
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is invalid", reason=ErrorReason.TOKEN_INVALID) from None
        try:
            return Claims(int(payload["sub"]), str(payload["sid"]), int(payload["exp"]))
        except (TypeError, ValueError):
            raise Unauthenticated("the access token is invalid", reason=ErrorReason.TOKEN_INVALID) from None


class TokenSigner:
    """Signs access tokens with one private key (the user service only)."""

    def __init__(self, private_key_pem: bytes, *, kid: str, issuer: str, audience: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the JWT signing key must be Ed25519")
        self._key = key
        self.kid = kid
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def from_file(cls, path: Path, *, issuer: str, audience: str) -> TokenSigner:
        # The kid is the file's stem unless the PEM sits beside a `<name>.kid` file.
        kid_file = path.with_suffix(".kid")
        kid = kid_file.read_text().strip() if kid_file.exists() else path.stem
        return cls(path.read_bytes(), kid=kid, issuer=issuer, audience=audience)

    def sign(self, *, user_id: int, session_id: str, ttl_seconds: int) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "sid": session_id,
            "iat": now,
            "exp": now + ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


def public_jwk(private_key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return jwk


def ensure_dev_keys(data_dir: Path) -> tuple[Path, Path]:
    """Development only: a signing key and its JWKS under the data folder, made once."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    private_path = keys / "jwt-signing.pem"
    jwks_path = keys / "jwks.json"
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        kid = f"dev-{uuid.uuid4().hex[:8]}"
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        private_path.with_suffix(".kid").write_text(kid)
        jwks_path.write_text(json.dumps({"keys": [public_jwk(key, kid)]}, indent=2))
    return private_path, jwks_path
