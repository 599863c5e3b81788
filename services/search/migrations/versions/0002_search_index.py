"""The search index: posts, users and hashtags (PostgreSQL full-text backend).

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE posts (
            post_id       BIGINT PRIMARY KEY,
            author_id     BIGINT NOT NULL DEFAULT 0,
            language      TEXT NOT NULL DEFAULT '',
            -- hashtag keys (NFC, case-folded), to give their counts back on delete
            hashtags      TEXT[] NOT NULL DEFAULT '{}',
            created_at_ms BIGINT NOT NULL DEFAULT 0,
            -- 'simple' words (weight A) + phonetic keys (weight B); NULL on a tombstone
            document      TSVECTOR,
            -- a tombstone: the post was deleted; a late or repeated post.created is ignored
            deleted       BOOLEAN NOT NULL DEFAULT false
        )
        """
    )
    op.execute("CREATE INDEX posts_document ON posts USING gin (document) WHERE NOT deleted")
    op.execute("CREATE INDEX posts_author ON posts (author_id, post_id DESC) WHERE NOT deleted")
    op.execute(
        """
        CREATE TABLE users (
            user_id      BIGINT PRIMARY KEY,
            handle_lower TEXT NOT NULL,
            display_name TEXT NOT NULL,
            document     TSVECTOR NOT NULL,
            -- stream position of the event that wrote the row: older events never win
            event_ms     BIGINT NOT NULL DEFAULT 0,
            event_seq    BIGINT NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX users_handle_prefix ON users (handle_lower text_pattern_ops)")
    op.execute("CREATE INDEX users_document ON users USING gin (document)")
    op.execute(
        """
        CREATE TABLE hashtags (
            tag_key         TEXT PRIMARY KEY,   -- NFC, case-folded, without '#'
            tag             TEXT NOT NULL,      -- as first written
            phonetic        TEXT NOT NULL DEFAULT '',  -- phonetic key, for Latin prefixes
            phonetic_coarse TEXT NOT NULL DEFAULT '',  -- coarse key of Tamil tags
            post_count      BIGINT NOT NULL DEFAULT 0 CHECK (post_count >= 0)
        )
        """
    )
    op.execute("CREATE INDEX hashtags_prefix ON hashtags (tag_key text_pattern_ops)")
    op.execute("CREATE INDEX hashtags_phonetic ON hashtags (phonetic text_pattern_ops) WHERE phonetic <> ''")
    op.execute(
        "CREATE INDEX hashtags_phonetic_coarse ON hashtags (phonetic_coarse text_pattern_ops) "
        "WHERE phonetic_coarse <> ''"
    )
