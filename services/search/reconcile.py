"""Anti-entropy for the search index: make it agree with the posts in PostgreSQL.

The index is fed by events; if an event is lost beyond the outbox's retention (Redis lost
its data a day ago, a dead letter was dropped), the index would miss that post for good.
This pass reads the posts of a recent window straight from the post service's tables and
applies them as the indexer would: both backend calls are idempotent (a post is indexed
only if absent, a deletion leaves a tombstone), so a pass changes nothing when all is well.
It runs in the search-indexer every KOO_RECONCILE_INTERVAL seconds and on demand with
`koo reconcile`.

It reads the `koo_post` schema directly, the one place one service reads another's
tables: anti-entropy has to compare with the source of truth, and a paged RPC over every
post of a day would cost the post service far more than this read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.post.store import SCHEMA as POST_SCHEMA
from services.search.store import PostDoc, SearchBackend

log = logging.getLogger("koo.search.reconcile")


@dataclass
class SearchReport:
    checked: int = 0
    indexed: int = 0  # posts the index lacked (or, without `known_posts`, every live one)
    deleted: int = 0


async def reconcile_search(
    engine: AsyncEngine, backend: SearchBackend, *, window_seconds: float, batch: int = 500
) -> SearchReport:
    """Apply every post created in the last `window_seconds` to the index (idempotently)."""
    report = SearchReport()
    after = 0
    while True:
        async with engine.connect() as db:
            rows = (
                await db.execute(
                    text(
                        "SELECT id, author_id, text, language, hashtags, created_at, deleted_at "
                        f"FROM {POST_SCHEMA}.posts "
                        "WHERE created_at >= now() - make_interval(secs => :w) AND id > :after "
                        "ORDER BY id LIMIT :n"
                    ),
                    {"w": window_seconds, "after": after, "n": batch},
                )
            ).all()
        if not rows:
            break
        after = rows[-1].id
        # Only what the index lacks is analysed again (the PostgreSQL backend can tell;
        # another backend gets every post of the window, which it absorbs idempotently).
        known_posts = getattr(backend, "known_posts", None)
        known: set[int] = await known_posts([row.id for row in rows]) if known_posts else set()
        live = [
            PostDoc(
                post_id=row.id,
                author_id=row.author_id,
                text=row.text,
                language=row.language,
                hashtags=tuple(row.hashtags or ()),
                created_at_ms=int(row.created_at.timestamp() * 1000),
            )
            for row in rows
            # As the indexer: a post without words has nothing to find.
            if row.deleted_at is None and row.text.strip() and row.id not in known
        ]
        gone = [row.id for row in rows if row.deleted_at is not None]
        await backend.index_posts(live)
        await backend.delete_posts(gone)
        report.checked += len(rows)
        report.indexed += len(live)
        report.deleted += len(gone)
    return report
