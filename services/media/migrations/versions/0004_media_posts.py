"""Which posts hold a media item: until one does, only its owner may see it.

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE media ADD COLUMN IF NOT EXISTS post_ids BIGINT[] NOT NULL DEFAULT '{}'")
    op.execute("CREATE INDEX IF NOT EXISTS media_post_ids ON media USING GIN (post_ids)")
