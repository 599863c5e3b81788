"""Notifications: one row per event that concerns a reader, their read marks, the ledger
of events already turned into notifications (a redelivery notifies nobody twice), and the
devices push notifications go to.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # `post_id` is what the entry is grouped by (the liked, re-kooed or replied-to post, the
    # mentioning post; 0 for follows); `subject_id` the reply, re-koo or mentioning post.
    op.execute(
        """
        CREATE TABLE notifications (
            id           BIGINT PRIMARY KEY,
            recipient_id BIGINT NOT NULL,
            kind         SMALLINT NOT NULL,
            actor_id     BIGINT NOT NULL,
            post_id      BIGINT NOT NULL DEFAULT 0,
            subject_id   BIGINT NOT NULL DEFAULT 0,
            created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (recipient_id, kind, actor_id, post_id, subject_id)
        )
        """
    )
    op.execute("CREATE INDEX notifications_by_recipient ON notifications (recipient_id, id DESC)")
    # Withdrawal when a post goes (deleted or removed): by the post and by the subject.
    op.execute("CREATE INDEX notifications_by_post ON notifications (post_id) WHERE post_id <> 0")
    op.execute("CREATE INDEX notifications_by_subject ON notifications (subject_id) WHERE subject_id <> 0")
    op.execute("CREATE TABLE notification_reads (recipient_id BIGINT PRIMARY KEY, read_up_to BIGINT NOT NULL)")
    op.execute(
        "CREATE TABLE notification_events (event_id TEXT PRIMARY KEY, processed_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    op.execute("CREATE INDEX notification_events_age ON notification_events (processed_at)")
    # Mobile devices to push to (an SNS platform endpoint each). A token belongs to the
    # account last signed in on the device.
    op.execute(
        """
        CREATE TABLE push_devices (
            id         BIGINT PRIMARY KEY,
            user_id    BIGINT NOT NULL,
            platform   SMALLINT NOT NULL,
            token      TEXT NOT NULL UNIQUE,
            endpoint   TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX push_devices_by_user ON push_devices (user_id)")
