"""The outbox keeps typed events (a serialized koo.events.v1.Envelope).

Revision ID: 0003
"""

from alembic import op

from services.kit.events import OUTBOX_ENVELOPE_DDL

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(OUTBOX_ENVELOPE_DDL)
    # Never read: only the user service deduplicates by event id (its post counters).
    op.execute("DROP TABLE IF EXISTS processed_events")
