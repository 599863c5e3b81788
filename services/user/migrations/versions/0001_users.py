"""Accounts, sessions, the follow graph, blocks and mutes.

Revision ID: 0001
"""

from alembic import op

from services.kit.events import OUTBOX_DDL

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id              BIGINT PRIMARY KEY,
            handle          TEXT NOT NULL,
            handle_lower    TEXT NOT NULL UNIQUE,
            display_name    TEXT NOT NULL,
            bio             TEXT NOT NULL DEFAULT '',
            languages       TEXT[] NOT NULL DEFAULT '{}',
            verified        BOOLEAN NOT NULL DEFAULT false,
            password_hash   TEXT NOT NULL,
            follower_count  BIGINT NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
            following_count BIGINT NOT NULL DEFAULT 0 CHECK (following_count >= 0),
            post_count      BIGINT NOT NULL DEFAULT 0 CHECK (post_count >= 0),
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    # Follows keyed both ways: by follower (whom I follow) and by followee (my followers).
    # `id` is a Snowflake so cursors are stable while follows are added.
    op.execute(
        """
        CREATE TABLE follows (
            follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            id          BIGINT NOT NULL,
            languages   TEXT[] NOT NULL DEFAULT '{}',
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (follower_id, followee_id)
        )
        """
    )
    op.execute("CREATE INDEX follows_by_followee ON follows (followee_id, id DESC)")
    op.execute("CREATE INDEX follows_by_follower ON follows (follower_id, id DESC)")
    op.execute("CREATE INDEX follows_followee_follower ON follows (followee_id, follower_id)")
    op.execute(
        """
        CREATE TABLE blocks (
            blocker_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            blocked_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (blocker_id, blocked_id)
        )
        """
    )
    op.execute("CREATE INDEX blocks_by_blocked ON blocks (blocked_id)")
    op.execute(
        """
        CREATE TABLE mutes (
            muter_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            muted_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (muter_id, muted_id)
        )
        """
    )
    # Refresh tokens, stored as SHA-256 hashes; a family is one sign-in and its rotations.
    op.execute(
        """
        CREATE TABLE refresh_tokens (
            token_hash  BYTEA PRIMARY KEY,
            family_id   TEXT NOT NULL,
            user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            expires_at  TIMESTAMPTZ NOT NULL,
            rotated_at  TIMESTAMPTZ,
            revoked_at  TIMESTAMPTZ
        )
        """
    )
    op.execute("CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)")
    op.execute(OUTBOX_DDL)
    # Events already applied by this service's consumers (exactly-once effect).
    op.execute(
        """
        CREATE TABLE processed_events (
            event_id     TEXT PRIMARY KEY,
            processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
