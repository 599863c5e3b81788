"""Settings of the user service process."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator, model_validator

from services.kit.rates import parse_rate
from services.kit.settings import KitSettings


class UserSettings(KitSettings):
    # Ed25519 private key (PEM) that signs access tokens; a `.kid` file beside it names it.
    jwt_private_key_file: Path | None = None
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    # Seconds a just-rotated refresh token may be used again (a client's retry) before
    # using it counts as theft and ends the sign-in.
    refresh_reuse_grace: float = 30.0
    # argon2id cost (RFC 9106 second recommendation by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Password hashes at once (about the cores), how many more may wait, and for how long
    # (seconds) before a sign-in is shed with 503 + Retry-After (services/user/hashing.py).
    hash_concurrency: int = 2
    hash_queue: int = 16
    hash_wait: float = 2.0
    # Failed sign-ins per account and client IP, and per account from unknown IPs
    # (services/user/signin_guard.py); `<limit>/<window>` or `off`.
    rate_login_failures: str = "10/15m"
    rate_login_failures_account: str = "100/15m"

    @field_validator("rate_login_failures", "rate_login_failures_account")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @model_validator(mode="after")
    def _signing_key_in_production(self) -> UserSettings:
        if self.env == "production" and self.jwt_private_key_file is None:
            raise ValueError("production needs KOO_JWT_PRIVATE_KEY_FILE")
        return self
