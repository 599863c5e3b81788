"""Lookalike handles: each user's confusable skeleton (services/user/handles.py), unique.

The SQL mirrors `skeleton()`: I, 1 -> l and 0, O -> o before lower-casing, then rn -> m,
vv -> w. Existing lookalikes keep their accounts: only the oldest of each gets the
skeleton (NULLs do not collide), and new sign-ups cannot join them.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"

SKELETON_SQL = "replace(replace(lower(translate(handle, 'I10O', 'lloo')), 'rn', 'm'), 'vv', 'w')"


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS handle_skeleton TEXT")
    backfill = (
        f"UPDATE users u SET handle_skeleton = s.skel FROM (SELECT id, {SKELETON_SQL} AS skel, "  # nosec B608
        f"row_number() OVER (PARTITION BY {SKELETON_SQL} ORDER BY id) AS n FROM users) s "
        "WHERE u.id = s.id AND s.n = 1"
    )
    op.execute(backfill)
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS users_handle_skeleton ON users (handle_skeleton)")
