"""Cursor pagination (AIP-158): page sizes and opaque, authenticated page tokens.

A page token is `<payload>.<mac>`: the cursor as compact JSON (base64url) and an
HMAC-SHA256 of it under the page-token key. Only tokens a Koo service made decode; any
change to one (a hand-made cursor, a value swapped for text) is INVALID_ARGUMENT naming
`page_token`, before a domain ever reads its values. Cursors hold positions only, never
anything that grants access.

The key is derived from the service key at start-up (`configure_page_tokens`, called by
the kit's server for every service), so every replica of a service accepts the others'
tokens. A process that never configured one (a unit test) uses a random key of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from typing import Any

from services.kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_TOKEN_LENGTH = 2048
_MAC_BYTES = 16  # 128 bits: forging one is out of reach

_key = secrets.token_bytes(32)


def configure_page_tokens(key: bytes) -> None:
    """Use `key` for this process's page tokens (the kit's server does this at start-up)."""
    global _key
    if len(key) < 16:
        raise ValueError("the page-token key is too short")
    _key = key


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """0 means the default; larger than the maximum is capped; negative is an error."""
    if requested < 0:
        raise InvalidArgument("page_size", message="page_size must not be negative")
    if requested == 0:
        return default
    return min(requested, maximum)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _mac(payload: str) -> bytes:
    return hmac.new(_key, payload.encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES]


def encode_token(cursor: dict[str, Any]) -> str:
    """An opaque token holding a cursor position; `cursor["k"]` names the list."""
    payload = _b64(json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(payload))}"


def _rejected() -> InvalidArgument:
    return InvalidArgument("page_token", message="page_token is not a token this list issued")


def decode_token(token: str, *, kind: str, ints: Iterable[str] = ()) -> dict[str, Any] | None:
    """The cursor in `token` (None for an empty token). A token that was not made here, was
    altered, or belongs to another list is INVALID_ARGUMENT; so is one whose `ints` keys
    are not non-negative integers."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        raise _rejected()
    payload, _, mac = token.partition(".")
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(payload)):
            raise _rejected()
        cursor = json.loads(_unb64(payload))
    except (ValueError, binascii.Error, UnicodeError):
        raise _rejected() from None
    if not isinstance(cursor, dict) or cursor.get("k") != kind:
        raise _rejected()
    for name in ints:
        value = cursor.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _rejected()
    return cursor
