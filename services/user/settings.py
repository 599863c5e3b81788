"""Settings of the user service process."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from services.kit.settings import KitSettings


class UserSettings(KitSettings):
    # Ed25519 private key (PEM) that signs access tokens; a `.kid` file beside it names it.
    jwt_private_key_file: Path | None = None
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    # argon2id cost (RFC 9106 second recommendation by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    @model_validator(mode="after")
    def _signing_key_in_production(self) -> UserSettings:
        if self.env == "production" and self.jwt_private_key_file is None:
            raise ValueError("production needs KOO_JWT_PRIVATE_KEY_FILE")
        return self
