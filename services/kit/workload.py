"""Workload identity: which Koo process is calling an internal RPC.

The network is not the only guard (zero trust): every call between Koo processes carries
a short-lived service token in `x-koo-workload` metadata, `v1.<workload>.<issued>.<mac>`,
an HMAC-SHA256 under a key only Koo's workloads hold (`KOO_SERVICE_KEY_FILE`, a mounted
Secret in production; a per-data-folder key made on first use in development and tests).
The kit's server interceptor rejects calls without a valid one (health and reflection
excepted), so reaching a port is not enough to read anyone's graph or to mint sessions
around the gateway's sign-in limits. In the mesh Istio's mTLS and AuthorizationPolicies
add the peer's identity on top; this check does not depend on them.

Tokens are minted by the process itself (it holds the key) and re-minted before they
expire, so they cost one HMAC per few minutes, not per call.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from services.kit.errors import ErrorReason, Unauthenticated

METADATA_KEY = "x-koo-workload"
# The end user's address as the gateway decided it; believed only on calls that carry a
# valid service token (only Koo workloads can set it).
CLIENT_IP_KEY = "x-koo-client-ip"
TOKEN_TTL = 600  # seconds a service token is accepted after it was minted
_CLOCK_SKEW = 60
_REMINT_AFTER = TOKEN_TTL // 2
_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}\Z")
_MIN_KEY_BYTES = 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ensure_dev_service_key(data_dir: Path) -> Path:
    """Development and tests only: a random service key beside the data, made once (0600).

    Processes of one `koo up` may race to make it: the key is written whole to a file of
    its own and then linked into place, which fails if another process linked first, so no
    process ever reads a half-written key or one that is later replaced."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    path = keys / "service.key"
    if path.exists():
        return path
    draft = keys / f".service.key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):  # another process linked its key first
            os.link(draft, path)
    finally:
        draft.unlink()
    return path


def load_service_key(*, key_file: Path | None, data_dir: Path, production: bool) -> bytes:
    """The shared service key: KOO_SERVICE_KEY_FILE, else (not in production) the dev key."""
    if key_file is None:
        if production:
            raise ValueError("production needs KOO_SERVICE_KEY_FILE")
        key_file = ensure_dev_service_key(data_dir)
    key = key_file.read_bytes().strip()
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the service key in {key_file} is shorter than {_MIN_KEY_BYTES} bytes")
    return key


@dataclass(frozen=True, slots=True)
class Workload:
    """A verified calling workload (`gateway`, `post`, `feed-worker`, ...)."""

    name: str


class WorkloadIdentity:
    """Mints this process's service tokens and verifies its callers'."""

    def __init__(self, key: bytes, *, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a workload name")
        self._key = key
        self.name = name
        self._token = ""
        self._minted = 0

    def derive(self, purpose: str) -> bytes:
        """A key for another use (page tokens), derived from the service key."""
        return hmac.new(self._key, f"koo derive {purpose}".encode(), hashlib.sha256).digest()

    def _mac(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode("ascii"), hashlib.sha256).digest())

    def mint(self, *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        message = f"v1.{self.name}.{issued}"
        return f"{message}.{self._mac(message)}"

    def token(self) -> str:
        """This process's current token (re-minted when half its life is gone)."""
        now = int(time.time())
        if now - self._minted >= _REMINT_AFTER:
            self._token, self._minted = self.mint(now=now), now
        return self._token

    def verify(self, token: str) -> Workload:
        """The workload a token speaks for, or UNAUTHENTICATED."""
        if not token:
            raise Unauthenticated(
                "internal RPCs need a Koo service token: call through the gateway",
                reason=ErrorReason.WORKLOAD_UNAUTHENTICATED,
            )
        parts = token.split(".")
        if len(parts) != 4:
            raise Unauthenticated("the service token is malformed", reason=ErrorReason.WORKLOAD_UNAUTHENTICATED)
        version, name, issued, mac = parts
        if version != "v1" or not _NAME.match(name) or not issued.isdigit():
            raise Unauthenticated("the service token is malformed", reason=ErrorReason.WORKLOAD_UNAUTHENTICATED)
        if not hmac.compare_digest(mac, self._mac(f"v1.{name}.{issued}")):
            raise Unauthenticated("the service token is not signed by Koo", reason=ErrorReason.WORKLOAD_UNAUTHENTICATED)
        age = time.time() - int(issued)
        if age > TOKEN_TTL or age < -_CLOCK_SKEW:
            raise Unauthenticated("the service token has expired", reason=ErrorReason.WORKLOAD_UNAUTHENTICATED)
        return Workload(name)
