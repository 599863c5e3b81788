"""Access tokens for seeded users: minted with the platform's signing key, or by signing in.

`koo up` (development) signs access tokens with `<data-dir>/keys/jwt-signing.pem`;
`KOO_JWT_PRIVATE_KEY_FILE` names the key elsewhere. With the key at hand the seeder and
the benchmark mint tokens exactly as the user service does (same issuer, audience, kid),
valid for as long as a run needs; without it they sign in through the API with the
seeded password, which costs one argon2id verification per user.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from services.kit.auth import TokenSigner
from services.kit.settings import KitSettings

# Every seeded account has this password (documented in docs/performance.md).
SEED_PASSWORD = "koo-seed-password"


def signing_key_path(settings: KitSettings) -> Path | None:
    configured = os.environ.get("KOO_JWT_PRIVATE_KEY_FILE")
    path = Path(configured) if configured else settings.data_dir / "keys" / "jwt-signing.pem"
    return path if path.exists() else None


def signer_for(settings: KitSettings) -> TokenSigner | None:
    path = signing_key_path(settings)
    if path is None:
        return None
    return TokenSigner.from_file(path, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def mint(signer: TokenSigner, user_id: int, *, ttl_seconds: int) -> str:
    return signer.sign(user_id=user_id, session_id=f"seed-{uuid.uuid4().hex}", ttl_seconds=ttl_seconds)
