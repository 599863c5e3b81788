"""SQL for the media service (schema koo_media). Functions take an open connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.media.limits import Kind, Status

SCHEMA = "koo_media"
_COLUMNS = (
    "id, owner_id, request_id, kind, status, content_type, size_bytes, width, height, duration_ms, "
    "storage_key, thumbnail_key, thumbnail_size_bytes, source_key, source_content_type, source_demuxer, "
    "failure_reason, created_at, post_ids"
)


@dataclass(frozen=True, slots=True)
class MediaRow:
    id: int
    owner_id: int
    request_id: str | None
    kind: Kind
    status: Status
    content_type: str
    size_bytes: int
    width: int
    height: int
    duration_ms: int
    storage_key: str
    thumbnail_key: str
    thumbnail_size_bytes: int
    source_key: str
    source_content_type: str
    source_demuxer: str
    failure_reason: str
    created_at: datetime
    # Live posts that hold it (kept from post events): none means only its owner may see it.
    post_ids: tuple[int, ...] = ()


def _media(row: Row[tuple[object, ...]]) -> MediaRow:
    m = row._mapping
    return MediaRow(
        id=m["id"],
        owner_id=m["owner_id"],
        request_id=m["request_id"],
        kind=Kind(m["kind"]),
        status=Status(m["status"]),
        content_type=m["content_type"],
        size_bytes=m["size_bytes"],
        width=m["width"],
        height=m["height"],
        duration_ms=m["duration_ms"],
        storage_key=m["storage_key"],
        thumbnail_key=m["thumbnail_key"],
        thumbnail_size_bytes=m["thumbnail_size_bytes"],
        source_key=m["source_key"],
        source_content_type=m["source_content_type"],
        source_demuxer=m["source_demuxer"],
        failure_reason=m["failure_reason"],
        created_at=m["created_at"],
        post_ids=tuple(m.get("post_ids") or ()),
    )


@dataclass(frozen=True, slots=True)
class NewMedia:
    id: int
    owner_id: int
    request_id: str | None
    kind: Kind
    status: Status
    content_type: str
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    duration_ms: int = 0
    storage_key: str = ""
    thumbnail_key: str = ""
    thumbnail_size_bytes: int = 0
    source_key: str = ""
    source_content_type: str = ""
    source_demuxer: str = ""


async def insert_media(db: AsyncConnection, *, media: NewMedia) -> MediaRow | None:
    """The new row, or None when the owner already used this request_id."""
    row = (
        await db.execute(
            text(
                f"INSERT INTO {SCHEMA}.media (id, owner_id, request_id, kind, status, content_type, size_bytes, "
                "width, height, duration_ms, storage_key, thumbnail_key, thumbnail_size_bytes, source_key, "
                "source_content_type, source_demuxer) VALUES (:id, :owner_id, :request_id, :kind, :status, "
                ":content_type, :size_bytes, :width, :height, :duration_ms, :storage_key, :thumbnail_key, "
                ":thumbnail_size_bytes, :source_key, :source_content_type, :source_demuxer) "
                "ON CONFLICT (owner_id, request_id) WHERE request_id IS NOT NULL DO NOTHING "
                f"RETURNING {_COLUMNS}"
            ),
            {
                "id": media.id,
                "owner_id": media.owner_id,
                "request_id": media.request_id,
                "kind": str(media.kind),
                "status": str(media.status),
                "content_type": media.content_type,
                "size_bytes": media.size_bytes,
                "width": media.width,
                "height": media.height,
                "duration_ms": media.duration_ms,
                "storage_key": media.storage_key,
                "thumbnail_key": media.thumbnail_key,
                "thumbnail_size_bytes": media.thumbnail_size_bytes,
                "source_key": media.source_key,
                "source_content_type": media.source_content_type,
                "source_demuxer": media.source_demuxer,
            },
        )
    ).first()
    return _media(row) if row else None


async def media_by_request(db: AsyncConnection, *, owner_id: int, request_id: str) -> MediaRow | None:
    row = (
        await db.execute(
            text(f"SELECT {_COLUMNS} FROM {SCHEMA}.media WHERE owner_id = :o AND request_id = :r"),
            {"o": owner_id, "r": request_id},
        )
    ).first()
    return _media(row) if row else None


async def media_by_ids(db: AsyncConnection, *, media_ids: Sequence[int]) -> dict[int, MediaRow]:
    if not media_ids:
        return {}
    rows = await db.execute(
        text(f"SELECT {_COLUMNS} FROM {SCHEMA}.media WHERE id = ANY(:ids)"), {"ids": list(media_ids)}
    )
    return {r.id: _media(r) for r in rows}


async def claim_for_processing(db: AsyncConnection, *, media_id: int, lease_seconds: float) -> MediaRow | None:
    """Take the processing lease: the row when it still needs work and nobody holds it, else None."""
    row = (
        await db.execute(
            text(
                f"UPDATE {SCHEMA}.media SET lease_until = now() + make_interval(secs => :lease), updated_at = now() "
                "WHERE id = :id AND status = 'processing' AND (lease_until IS NULL OR lease_until < now()) "
                f"RETURNING {_COLUMNS}"
            ),
            {"id": media_id, "lease": lease_seconds},
        )
    ).first()
    return _media(row) if row else None


async def release_lease(db: AsyncConnection, *, media_id: int) -> None:
    await db.execute(
        text(f"UPDATE {SCHEMA}.media SET lease_until = NULL WHERE id = :id AND status = 'processing'"),
        {"id": media_id},
    )


async def mark_ready(
    db: AsyncConnection,
    *,
    media_id: int,
    content_type: str,
    size_bytes: int,
    width: int,
    height: int,
    duration_ms: int,
    storage_key: str,
    thumbnail_key: str,
    thumbnail_size_bytes: int,
) -> bool:
    """Processing done; False when the row was no longer processing (a duplicate delivery)."""
    row = (
        await db.execute(
            text(
                f"UPDATE {SCHEMA}.media SET status = 'ready', content_type = :ct, size_bytes = :size, width = :w, "
                "height = :h, duration_ms = :d, storage_key = :key, thumbnail_key = :tkey, "
                "thumbnail_size_bytes = :tsize, source_key = '', lease_until = NULL, updated_at = now() "
                "WHERE id = :id AND status = 'processing' RETURNING 1"
            ),
            {
                "id": media_id,
                "ct": content_type,
                "size": size_bytes,
                "w": width,
                "h": height,
                "d": duration_ms,
                "key": storage_key,
                "tkey": thumbnail_key,
                "tsize": thumbnail_size_bytes,
            },
        )
    ).first()
    return row is not None


async def mark_failed(db: AsyncConnection, *, media_id: int, reason: str) -> bool:
    row = (
        await db.execute(
            text(
                f"UPDATE {SCHEMA}.media SET status = 'failed', failure_reason = :r, lease_until = NULL, "
                "updated_at = now() WHERE id = :id AND status = 'processing' RETURNING 1"
            ),
            {"id": media_id, "r": reason},
        )
    ).first()
    return row is not None


async def attach_to_post(db: AsyncConnection, *, post_id: int, owner_id: int, media_ids: Sequence[int]) -> None:
    """Record that a post holds these media (its author's own; a repeat changes nothing)."""
    await db.execute(
        text(
            f"UPDATE {SCHEMA}.media SET post_ids = array_append(post_ids, CAST(:p AS BIGINT)) "
            "WHERE id = ANY(:ids) AND owner_id = :owner AND NOT (post_ids @> ARRAY[CAST(:p AS BIGINT)])"
        ),
        {"p": post_id, "ids": list(media_ids), "owner": owner_id},
    )


async def detach_post(db: AsyncConnection, *, post_id: int) -> None:
    """A deleted post no longer makes its media visible."""
    await db.execute(
        text(
            f"UPDATE {SCHEMA}.media SET post_ids = array_remove(post_ids, CAST(:p AS BIGINT)) "
            "WHERE post_ids @> ARRAY[CAST(:p AS BIGINT)]"
        ),
        {"p": post_id},
    )
