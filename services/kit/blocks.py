"""The block rule, once for every service that shows or acts on posts.

A block hides both people from each other everywhere: a reader whose block set (users
they blocked or who blocked them, either way) holds a post's author, or the author of the
post it re-koos or quotes, or (for writes) of any post up its thread, must neither see it
nor act on it. Callers pass the ids they know; zeros (no original) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Set


def blocked_out(blocked: Set[int], author_ids: Iterable[int]) -> bool:
    """Whether any of `author_ids` is in the reader's block set (either direction)."""
    return any(a in blocked for a in author_ids if a)


def post_hidden(blocked: Set[int], *, author_id: int, repost_of_author_id: int = 0) -> bool:
    """Whether a reader with block set `blocked` must not see this post (or re-koo/quote)."""
    return blocked_out(blocked, (author_id, repost_of_author_id))
