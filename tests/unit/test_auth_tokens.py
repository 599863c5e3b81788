"""Access tokens: signed, pinned to EdDSA, verified once and remembered until expiry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest

from services.kit.auth import TokenSigner, TokenVerifier, ensure_dev_keys
from services.kit.errors import Unauthenticated


def keys(tmp_path: Path) -> tuple[TokenSigner, TokenVerifier]:
    private, jwks = ensure_dev_keys(tmp_path)
    signer = TokenSigner.from_file(private, issuer="koo-user-service", audience="koo")
    verifier = TokenVerifier(json.loads(jwks.read_text()), issuer="koo-user-service", audience="koo")
    return signer, verifier


def test_signed_token_carries_kid_and_verifies(tmp_path: Path) -> None:
    signer, verifier = keys(tmp_path)
    token = signer.sign(user_id=42, session_id="fam", ttl_seconds=60)
    assert jwt.get_unverified_header(token)["kid"] == signer.kid
    claims = verifier.verify(token)
    assert (claims.user_id, claims.session_id) == (42, "fam")
    assert verifier.verify(token) == claims  # remembered: the same answer again


def test_expired_token_is_rejected_even_after_it_was_remembered(tmp_path: Path) -> None:
    signer, verifier = keys(tmp_path)
    token = signer.sign(user_id=1, session_id="s", ttl_seconds=1)
    verifier.verify(token)
    time.sleep(2.1)
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    assert info.value.reason == "TOKEN_EXPIRED"


def test_hs256_token_signed_with_the_public_key_is_rejected(tmp_path: Path) -> None:
    _, verifier = keys(tmp_path)
    forged = jwt.encode({"sub": "1", "sid": "x", "exp": int(time.time()) + 60}, "secret", algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_token_of_another_key_is_rejected(tmp_path: Path) -> None:
    signer, _ = keys(tmp_path / "a")
    _, other_verifier = keys(tmp_path / "b")
    with pytest.raises(Unauthenticated):
        other_verifier.verify(signer.sign(user_id=1, session_id="s", ttl_seconds=60))
