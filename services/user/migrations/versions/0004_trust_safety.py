"""Trust and safety: moderators, reports, moderation actions (with appeals), suspensions
and the append-only audit log.

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # Granted and revoked only by the `koo moderator` command, never through the API.
    op.execute(
        """
        CREATE TABLE moderators (
            user_id    BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            granted_by TEXT NOT NULL,
            granted_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    # One report per reporter per target: a post (post_id, its author in user_id) or an
    # account (post_id 0). Status 1 open, 2 actioned, 3 dismissed.
    op.execute(
        """
        CREATE TABLE reports (
            id          BIGINT PRIMARY KEY,
            reporter_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            post_id     BIGINT NOT NULL DEFAULT 0,
            user_id     BIGINT NOT NULL,
            reason      SMALLINT NOT NULL,
            severity    SMALLINT NOT NULL,
            note        TEXT NOT NULL DEFAULT '',
            status      SMALLINT NOT NULL DEFAULT 1,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            resolved_at TIMESTAMPTZ,
            action_id   BIGINT,
            UNIQUE (reporter_id, post_id, user_id)
        )
        """
    )
    op.execute("CREATE INDEX reports_open ON reports (post_id, user_id) WHERE status = 1")
    op.execute("CREATE INDEX reports_by_reporter ON reports (reporter_id, id DESC)")
    op.execute("CREATE INDEX reports_by_month ON reports (created_at)")
    # Appeal status: 0 not appealable, 1 not appealed, 2 pending, 3 upheld, 4 reversed.
    op.execute(
        """
        CREATE TABLE moderation_actions (
            id                BIGINT PRIMARY KEY,
            kind              SMALLINT NOT NULL,
            post_id           BIGINT NOT NULL DEFAULT 0,
            user_id           BIGINT NOT NULL,
            policy            SMALLINT NOT NULL DEFAULT 0,
            reason            TEXT NOT NULL,
            moderator_id      BIGINT NOT NULL,
            created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
            first_report_at   TIMESTAMPTZ,
            suspended_until   TIMESTAMPTZ,
            appeal_status     SMALLINT NOT NULL DEFAULT 0,
            appeal_note       TEXT NOT NULL DEFAULT '',
            appealed_at       TIMESTAMPTZ,
            appeal_decided_at TIMESTAMPTZ
        )
        """
    )
    op.execute("CREATE INDEX moderation_actions_by_user ON moderation_actions (user_id, id DESC)")
    op.execute("CREATE INDEX moderation_actions_appeals ON moderation_actions (appealed_at) WHERE appeal_status = 2")
    op.execute("CREATE INDEX moderation_actions_by_month ON moderation_actions (created_at)")
    # until NULL: permanent.
    op.execute(
        """
        CREATE TABLE suspensions (
            user_id   BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            until     TIMESTAMPTZ,
            reason    TEXT NOT NULL,
            action_id BIGINT NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE audit_log (
            id         BIGSERIAL PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            actor_id   BIGINT NOT NULL DEFAULT 0,
            actor      TEXT NOT NULL,
            action     TEXT NOT NULL,
            target     TEXT NOT NULL,
            reason     TEXT NOT NULL DEFAULT '',
            detail     JSONB NOT NULL DEFAULT '{}'
        )
        """
    )
    # Append-only, enforced by the database: no UPDATE, DELETE or TRUNCATE, whoever asks.
    op.execute(
        """
        CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()"
    )
