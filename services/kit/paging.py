"""Cursor pagination (AIP-158): page sizes and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from services.kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """0 means the default; larger than the maximum is capped; negative is an error."""
    if requested < 0:
        raise InvalidArgument("page_size", message="page_size must not be negative")
    if requested == 0:
        return default
    return min(requested, maximum)


def encode_token(cursor: dict[str, Any]) -> str:
    """An opaque token holding a cursor position (never anything that grants access)."""
    raw = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str, *, kind: str) -> dict[str, Any] | None:
    """The cursor in `token` (None for an empty token); a token of another list is rejected."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        cursor = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidArgument("page_token", message="page_token is not a token this list issued") from None
    if not isinstance(cursor, dict) or cursor.get("k") != kind:
        raise InvalidArgument("page_token", message="page_token is not a token this list issued")
    return cursor
