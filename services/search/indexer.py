"""`koo serve search-indexer`: keeps the search index in step with post and user events.

Consumer group `search-indexer` (KOO_SEARCH_INDEXER_GROUP) on topics `post` and `user`.
Delivery is at-least-once; every write is keyed by id, so a redelivered batch changes
nothing: a post is created only if absent, a delete leaves a tombstone (a late or
repeated `post.created` cannot bring the post back), and a user is replaced only by an
event later in the stream than the one that wrote it.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from koo.events.v1 import events_pb2 as events_pb
from services.kit.events import Event, StreamConsumer
from services.kit.periodic import run_every
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.search.backends import open_backend
from services.search.reconcile import reconcile_search
from services.search.settings import SearchSettings
from services.search.store import PostDoc, SearchBackend, UserDoc
from services.search.vocabulary import record_posts

log = logging.getLogger("koo.search.indexer")

SETTINGS_CLASS = SearchSettings


def post_doc(post: events_pb.PostCreated) -> PostDoc:
    return PostDoc(
        post_id=post.post_id,
        author_id=post.author_id,
        text=post.text,
        language=post.language,
        hashtags=tuple(post.hashtags),
        created_at_ms=post.created_at_ms,
    )


def stream_position(message_id: str) -> tuple[int, int]:
    """`1712345678901-3` -> (1712345678901, 3): the order of events in their stream."""
    ms, _, seq = message_id.partition("-")
    return int(ms), int(seq or 0)


def user_doc(user: events_pb.UserProfile, message_id: str) -> UserDoc:
    return UserDoc(
        user_id=user.user_id,
        handle=user.handle,
        display_name=user.display_name,
        version=stream_position(message_id),
    )


async def apply_post_events(backend: SearchBackend, events: list[Event]) -> None:
    """Creates first, then deletes: a deletion is final, whatever order events came in."""
    created: list[PostDoc] = []
    deleted: list[int] = []
    for event in events:
        match event.payload:
            case events_pb.PostCreated() as post if post.text.strip():  # a plain re-koo has no words to find
                created.append(post_doc(post))
            case events_pb.PostDeleted(post_id=post_id):
                deleted.append(post_id)
    await backend.index_posts(created)
    await backend.delete_posts(deleted)


async def apply_user_events(backend: SearchBackend, events: list[Event]) -> None:
    """Profiles only; follows, blocks and mutes are read live from the user service."""
    docs = [
        user_doc(e.payload.user, e.message_id)
        for e in events
        if isinstance(e.payload, events_pb.UserCreated | events_pb.UserUpdated)
    ]
    await backend.index_users(docs)


def vocabulary_posts(events: list[Event]) -> list[tuple[int, str]]:
    """(post_id, text) of the posts created in `events` (deletions leave the vocabulary)."""
    return [
        (e.payload.post_id, e.payload.text)
        for e in events
        if isinstance(e.payload, events_pb.PostCreated) and e.payload.text
    ]


def make_register(settings: SearchSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        redis = res.require_redis("the search indexer")
        backend = await open_backend(settings, res.engine)
        res.on_close(backend.close)

        async def on_posts(events: list[Event]) -> None:
            await apply_post_events(backend, events)

        async def on_users(events: list[Event]) -> None:
            await apply_user_events(backend, events)

        engine = res.engine

        async def on_vocabulary(events: list[Event]) -> None:
            # The words posts use, for the transliteration endpoint (vocabulary.py).
            if engine is not None:
                await record_posts(engine, vocabulary_posts(events))

        group, batch = settings.search_indexer_group, settings.search_indexer_batch
        for topic, handler, name in (
            ("post", on_posts, group),
            ("user", on_users, group),
            ("post", on_vocabulary, f"{group}-vocabulary"),
        ):
            consumer = StreamConsumer(redis, topic=topic, group=name, handler=handler, batch=batch)
            res.spawn(consumer.run, name=f"{name}-{topic}")
        engine = res.engine
        if engine is not None:
            window = settings.reconcile_window
            res.spawn(
                lambda: run_every(
                    settings.reconcile_interval,
                    lambda: reconcile_search(engine, backend, window_seconds=window),
                    name="search reconcile",
                ),
                name="search-reconcile",
            )
        return []

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="search-indexer", register=make_register(settings)))


if __name__ == "__main__":
    main()
