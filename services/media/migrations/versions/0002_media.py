"""Media items: uploads, their renditions and processing state.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE media (
            id                   BIGINT PRIMARY KEY,
            owner_id             BIGINT NOT NULL,
            -- AIP-155 retry key, unique per owner; NULL when the client sent none.
            request_id           TEXT,
            kind                 TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video')),
            status               TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
            -- What is served once ready (for audio/video: the transcoded rendition).
            content_type         TEXT NOT NULL,
            size_bytes           BIGINT NOT NULL DEFAULT 0,
            width                INT NOT NULL DEFAULT 0,
            height               INT NOT NULL DEFAULT 0,
            duration_ms          BIGINT NOT NULL DEFAULT 0,
            storage_key          TEXT NOT NULL DEFAULT '',
            thumbnail_key        TEXT NOT NULL DEFAULT '',
            thumbnail_size_bytes BIGINT NOT NULL DEFAULT 0,
            -- The upload as received, kept until the worker has transcoded it.
            source_key           TEXT NOT NULL DEFAULT '',
            source_content_type  TEXT NOT NULL DEFAULT '',
            source_demuxer       TEXT NOT NULL DEFAULT '',
            failure_reason       TEXT NOT NULL DEFAULT '',
            -- A worker transcoding the item holds it until then; a crashed worker's lease lapses.
            lease_until          TIMESTAMPTZ,
            created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE UNIQUE INDEX media_owner_request ON media (owner_id, request_id) WHERE request_id IS NOT NULL")
    op.execute("CREATE INDEX media_by_owner ON media (owner_id, id DESC)")
