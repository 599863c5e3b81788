"""Posts, replies, re-koos and likes.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # One row per post, reply and re-koo. Deleting is soft (`deleted_at`) so counters,
    # idempotency keys and re-koo uniqueness stay decidable; reads skip deleted rows.
    op.execute(
        """
        CREATE TABLE posts (
            id            BIGINT PRIMARY KEY,
            author_id     BIGINT NOT NULL,
            text          TEXT NOT NULL,
            language      TEXT NOT NULL,
            hashtags      TEXT[] NOT NULL DEFAULT '{}',
            mentions      TEXT[] NOT NULL DEFAULT '{}',
            mention_ids   BIGINT[] NOT NULL DEFAULT '{}',
            media_ids     BIGINT[] NOT NULL DEFAULT '{}',
            reply_to_id   BIGINT,
            repost_of_id  BIGINT,
            -- A plain re-koo: no text, no media (one per user per post).
            plain_repost  BOOLEAN NOT NULL DEFAULT false,
            request_id    TEXT,
            like_count    BIGINT NOT NULL DEFAULT 0 CHECK (like_count >= 0),
            reply_count   BIGINT NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
            repost_count  BIGINT NOT NULL DEFAULT 0 CHECK (repost_count >= 0),
            created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
            deleted_at    TIMESTAMPTZ
        )
        """
    )
    # Idempotent create (AIP-155), scoped per author; kept after deletion so a late retry
    # cannot publish the post again.
    op.execute("CREATE UNIQUE INDEX posts_request ON posts (author_id, request_id) WHERE request_id IS NOT NULL")
    # One live plain re-koo per user per post.
    op.execute(
        "CREATE UNIQUE INDEX posts_one_repost ON posts (author_id, repost_of_id) "
        "WHERE plain_repost AND deleted_at IS NULL"
    )
    # Author timelines (profile pages, feed rebuilds, celebrity merges).
    op.execute("CREATE INDEX posts_by_author ON posts (author_id, id DESC) WHERE deleted_at IS NULL")
    op.execute(
        "CREATE INDEX posts_by_author_top ON posts (author_id, id DESC) "
        "WHERE deleted_at IS NULL AND reply_to_id IS NULL"
    )
    # Reply lists, oldest first.
    op.execute(
        "CREATE INDEX posts_replies ON posts (reply_to_id, id) WHERE reply_to_id IS NOT NULL AND deleted_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE likes (
            post_id    BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            user_id    BIGINT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (post_id, user_id)
        )
        """
    )
    op.execute("CREATE INDEX likes_by_user ON likes (user_id, post_id)")
