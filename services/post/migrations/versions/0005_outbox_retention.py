"""The outbox keeps published events for a retention window (republished if Redis loses them).

Revision ID: 0005
"""

from alembic import op

from services.kit.events import OUTBOX_RETENTION_DDL

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    for statement in OUTBOX_RETENTION_DDL:
        op.execute(statement)
