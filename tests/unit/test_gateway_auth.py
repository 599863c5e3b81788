"""The gateway's key ring: verification, the verified-token memory, expiry and key rotation."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.auth import KeyRing, bearer_token, key_source
from services.kit.auth import TokenSigner, ensure_dev_keys, public_jwk
from services.kit.errors import Unauthenticated

ISSUER, AUDIENCE = "koo-user-service", "koo"


def _ring(data_dir: Path) -> tuple[KeyRing, TokenSigner]:
    private, jwks = ensure_dev_keys(data_dir)
    signer = TokenSigner.from_file(private, issuer=ISSUER, audience=AUDIENCE)
    source = key_source(jwks_file=jwks, data_dir=data_dir, production=False, issuer=ISSUER, audience=AUDIENCE)
    return KeyRing(source), signer


def test_verifies_and_remembers_until_expiry(tmp_path: Path) -> None:
    ring, signer = _ring(tmp_path)
    token = signer.sign(user_id=42, session_id="s1", ttl_seconds=1)
    caller = ring.verify(token)
    assert (caller.user_id, caller.session_id, caller.token) == (42, "s1", token)
    assert ring.verify(token) == caller  # from memory (services.kit.auth remembers it)
    time.sleep(max(0.0, int(time.time()) + 1.05 - time.time()))  # past `exp` (whole seconds)
    with pytest.raises(Unauthenticated) as caught:
        ring.verify(token)  # not served from memory past its expiry
    assert caught.value.reason == "TOKEN_EXPIRED"


def test_publishes_only_public_members(tmp_path: Path) -> None:
    ring, _ = _ring(tmp_path)
    (key,) = ring.public_jwks()["keys"]
    assert set(key) <= {"kty", "crv", "x", "kid", "alg", "use"} and "d" not in key


def test_rotation_is_picked_up_and_forgets_old_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring, old_signer = _ring(tmp_path)
    old_token = old_signer.sign(user_id=1, session_id="s", ttl_seconds=60)
    ring.verify(old_token)

    new_key = Ed25519PrivateKey.generate()
    pem = tmp_path / "new.pem"
    pem.write_bytes(
        new_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    new_signer = TokenSigner(pem.read_bytes(), kid="rotated", issuer=ISSUER, audience=AUDIENCE)
    jwks_path = ring.source.path
    jwks_path.write_text(json.dumps({"keys": [public_jwk(new_key, "rotated")]}))
    stat = jwks_path.stat()
    os.utime(jwks_path, (stat.st_atime, stat.st_mtime + 10))
    ring.reload(force=True)

    assert ring.verify(new_signer.sign(user_id=2, session_id="s", ttl_seconds=60)).user_id == 2
    with pytest.raises(Unauthenticated):
        ring.verify(old_token)  # its key left the JWKS: no longer accepted, not even from memory


def test_a_broken_jwks_file_keeps_the_current_keys(tmp_path: Path) -> None:
    ring, signer = _ring(tmp_path)
    ring.source.path.write_text("{ half written")
    stat = ring.source.path.stat()
    os.utime(ring.source.path, (stat.st_atime, stat.st_mtime + 10))
    ring.reload(force=True)
    assert ring.verify(signer.sign(user_id=3, session_id="s", ttl_seconds=60)).user_id == 3


@pytest.mark.parametrize("header", ["", "Basic abc", "Bearer", "Bearer   "])
def test_bearer_header_shapes(header: str) -> None:
    with pytest.raises(Unauthenticated):
        bearer_token(header)
    assert bearer_token("bearer  abc.def.ghi ") == "abc.def.ghi"
