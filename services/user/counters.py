"""Keeps users.post_count right from post events (consumer group `user-counters`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.events import Event
from services.user import store

_DELTAS = {"post.created": 1, "post.deleted": -1}


async def apply_post_events(engine: AsyncEngine, events: list[Event]) -> None:
    async with engine.begin() as db:
        for event in events:
            delta = _DELTAS.get(event.event_type)
            if delta is None or event.data.get("reply_to_id"):
                continue
            if await store.claim_event(db, event_id=event.event_id):
                await store.adjust_post_count(db, user_id=int(event.data["author_id"]), delta=delta)
