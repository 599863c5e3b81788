"""Moderation: removed posts and the posts of suspended accounts stay in the table (for
the audit and for restoring) but out of every read.

`deleted_at` stays the one visibility switch every read already checks; `removed_at` says
a moderator removed the post, `hidden_at` that its author's suspension hides it.
`author_states` holds each author's latest suspension change (by action id), so a
redelivered or late event cannot undo a newer one.

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE posts ADD COLUMN removed_at TIMESTAMPTZ, ADD COLUMN hidden_at TIMESTAMPTZ")
    op.execute("CREATE INDEX posts_hidden ON posts (author_id) WHERE hidden_at IS NOT NULL")
    op.execute(
        """
        CREATE TABLE author_states (
            author_id BIGINT PRIMARY KEY,
            hidden    BOOLEAN NOT NULL,
            action_id BIGINT NOT NULL
        )
        """
    )
