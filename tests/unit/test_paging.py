"""Page sizes and tokens."""

from __future__ import annotations

import pytest

from services.kit.errors import InvalidArgument
from services.kit.paging import decode_token, encode_token, page_size


def test_page_size_defaults_and_caps() -> None:
    assert page_size(0) == 20
    assert page_size(7) == 7
    assert page_size(1000) == 100
    with pytest.raises(InvalidArgument) as info:
        page_size(-1)
    assert "page_size" in info.value.violations


def test_tokens_round_trip_and_are_bound_to_their_list() -> None:
    token = encode_token({"k": "followers", "c": 12345})
    assert decode_token(token, kind="followers") == {"k": "followers", "c": 12345}
    assert decode_token("", kind="followers") is None
    for bad in ("%%%", "bm90IGpzb24", encode_token({"k": "following", "c": 1})):
        with pytest.raises(InvalidArgument) as info:
            decode_token(bad, kind="followers")
        assert "page_token" in info.value.violations
