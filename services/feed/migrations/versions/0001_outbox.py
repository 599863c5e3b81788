"""The feed service schema: its outbox and processed-event ledger.

Revision ID: 0001
"""

from alembic import op

from services.kit.events import OUTBOX_DDL

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute(OUTBOX_DDL)
    op.execute(
        "CREATE TABLE processed_events (event_id TEXT PRIMARY KEY, processed_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
