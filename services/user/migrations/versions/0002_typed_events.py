"""The outbox keeps typed events (a serialized koo.events.v1.Envelope).

Revision ID: 0002
"""

from alembic import op

from services.kit.events import OUTBOX_ENVELOPE_DDL

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(OUTBOX_ENVELOPE_DDL)
