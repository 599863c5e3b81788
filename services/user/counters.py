"""Keeps users.post_count right from post events (consumer group `user-counters`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from koo.events.v1 import events_pb2 as events_pb
from services.kit.events import Event
from services.user import store


async def apply_post_events(engine: AsyncEngine, events: list[Event]) -> None:
    async with engine.begin() as db:
        for event in events:
            post = event.payload
            if not isinstance(post, events_pb.PostCreated | events_pb.PostDeleted) or post.reply_to_id:
                continue  # replies are not counted
            delta = 1 if isinstance(post, events_pb.PostCreated) else -1
            if await store.claim_event(db, event_id=event.event_id):
                await store.adjust_post_count(db, user_id=post.author_id, delta=delta)
