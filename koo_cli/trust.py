"""`koo moderator ...` and `koo report compliance`: the operator's side of trust and safety.

The moderator role is granted here and nowhere else (no API call can make a moderator);
each grant and revocation is written to the audit log under the operator's name. The
compliance report prints what the IT Rules 2021 monthly report asks for, from the user
service's tables (reports, moderation actions, appeals).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, create_engine, text

from services.kit.db import sqlalchemy_url
from services.kit.settings import default_data_dir

SCHEMA = "koo_user"
REASONS = {
    1: "spam",
    2: "abuse_or_harassment",
    3: "hate",
    4: "misinformation",
    5: "impersonation",
    6: "sexual_content",
    7: "violence",
    8: "illegal_under_indian_law",
    9: "other",
}
ACTIONS = {1: "remove_post", 2: "restore_post", 3: "suspend_user", 4: "lift_suspension", 5: "dismiss_reports"}
APPEALS = {2: "pending", 3: "upheld", 4: "reversed"}

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=default_data_dir,
    show_default="~/.local/share/koo",
    help="The embedded PostgreSQL of `koo up` (when KOO_DATABASE_URL is not set).",
)


@contextmanager
def _database(data_dir: Path) -> Iterator[Connection]:
    """KOO_DATABASE_URL, or the embedded PostgreSQL that `koo up` keeps under the data folder."""
    url = os.environ.get("KOO_DATABASE_URL", "")
    backends = None
    if not url:
        from koo_cli.embedded import EmbeddedBackends

        if not (data_dir / "postgres").exists():
            raise click.ClickException(f"no Koo database under {data_dir}: run `koo up` first or set KOO_DATABASE_URL")
        backends = EmbeddedBackends(data_dir)
        url = backends.start_postgres()  # shares a running `koo up`'s server
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()
        if backends is not None:
            backends.stop()  # stops the server only if no `koo up` uses it


def _operator() -> str:
    return f"cli:{os.environ.get('KOO_OPERATOR') or getpass.getuser()}"


def _user_id(conn: Connection, handle: str) -> int:
    row = conn.execute(
        text(f"SELECT id FROM {SCHEMA}.users WHERE handle_lower = lower(:h)"), {"h": handle.lstrip("@")}
    ).first()
    if row is None:
        raise click.ClickException(f"no user has the handle {handle!r}")
    return int(row.id)


@click.group()
def moderator() -> None:
    """Grant or revoke the moderator role (audited)."""


@moderator.command()
@click.argument("handle")
@click.option("--reason", default="", help="Why, for the audit log.")
@data_dir_option
def grant(handle: str, reason: str, data_dir: Path) -> None:
    """Make HANDLE a moderator."""
    with _database(data_dir) as conn:
        user_id = _user_id(conn, handle)
        added = conn.execute(
            text(
                f"INSERT INTO {SCHEMA}.moderators (user_id, granted_by) VALUES (:u, :g) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"u": user_id, "g": _operator()},
        ).first()
        if added:
            _audit(conn, "moderator.grant", user_id, reason)
    click.echo(f"@{handle.lstrip('@')} is {'now' if added else 'already'} a moderator")


@moderator.command()
@click.argument("handle")
@click.option("--reason", default="", help="Why, for the audit log.")
@data_dir_option
def revoke(handle: str, reason: str, data_dir: Path) -> None:
    """Take the moderator role from HANDLE."""
    with _database(data_dir) as conn:
        user_id = _user_id(conn, handle)
        removed = conn.execute(
            text(f"DELETE FROM {SCHEMA}.moderators WHERE user_id = :u RETURNING 1"), {"u": user_id}
        ).first()
        if removed:
            _audit(conn, "moderator.revoke", user_id, reason)
    click.echo(f"@{handle.lstrip('@')} is {'no longer' if removed else 'not'} a moderator")


@moderator.command(name="list")
@data_dir_option
def list_moderators(data_dir: Path) -> None:
    """List the moderators."""
    with _database(data_dir) as conn:
        rows = conn.execute(
            text(
                f"SELECT u.handle, m.granted_by, m.granted_at FROM {SCHEMA}.moderators m "
                f"JOIN {SCHEMA}.users u ON u.id = m.user_id ORDER BY m.granted_at"
            )
        ).all()
    for row in rows:
        click.echo(f"@{row.handle}  granted {row.granted_at:%Y-%m-%d %H:%M} by {row.granted_by}")


def _audit(conn: Connection, action: str, user_id: int, reason: str) -> None:
    conn.execute(
        text(f"INSERT INTO {SCHEMA}.audit_log (actor, action, target, reason) VALUES (:a, :act, :t, :r)"),
        {"a": _operator(), "act": action, "t": f"user:{user_id}", "r": reason},
    )


@click.group()
def report() -> None:
    """Reports for regulators."""


def _month(value: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(value, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter("use YYYY-MM, e.g. 2026-11", param_hint="--month") from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def compliance_figures(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    window = {"s": start, "e": end}

    def counts(sql: str) -> dict[int, int]:
        return {int(r[0]): int(r[1]) for r in conn.execute(text(sql), window)}

    by_reason = counts(
        f"SELECT reason, count(*) FROM {SCHEMA}.reports WHERE created_at >= :s AND created_at < :e GROUP BY reason"
    )
    resolved = counts(
        f"SELECT status, count(*) FROM {SCHEMA}.reports WHERE resolved_at >= :s AND resolved_at < :e GROUP BY status"
    )
    actions = counts(
        f"SELECT kind, count(*) FROM {SCHEMA}.moderation_actions WHERE created_at >= :s AND created_at < :e "
        "GROUP BY kind"
    )
    appeals = counts(
        f"SELECT appeal_status, count(*) FROM {SCHEMA}.moderation_actions "
        "WHERE appealed_at >= :s AND appealed_at < :e GROUP BY appeal_status"
    )
    median = conn.execute(
        text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - first_report_at)) "
            f"FROM {SCHEMA}.moderation_actions WHERE created_at >= :s AND created_at < :e "
            "AND first_report_at IS NOT NULL AND kind IN (1, 3)"
        ),
        window,
    ).scalar()
    return {
        "month": f"{start:%Y-%m}",
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "complaints_received": sum(by_reason.values()),
        "complaints_by_reason": {name: by_reason.get(code, 0) for code, name in REASONS.items()},
        "complaints_resolved": {"actioned": resolved.get(2, 0), "dismissed": resolved.get(3, 0)},
        "actions_taken": {name: actions.get(code, 0) for code, name in ACTIONS.items()},
        "median_seconds_to_action": round(float(median), 1) if median is not None else None,
        "appeals": {
            "received": sum(appeals.values()),
            **{name: appeals.get(code, 0) for code, name in APPEALS.items()},
        },
    }


def _table(figures: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = [
        ("month", figures["month"]),
        ("complaints received", str(figures["complaints_received"])),
    ]
    rows += [(f"  reason: {k.replace('_', ' ')}", str(v)) for k, v in figures["complaints_by_reason"].items()]
    rows += [(f"complaints {k}", str(v)) for k, v in figures["complaints_resolved"].items()]
    rows += [(f"action: {k.replace('_', ' ')}", str(v)) for k, v in figures["actions_taken"].items()]
    median = figures["median_seconds_to_action"]
    rows.append(("median time to action", "-" if median is None else f"{median / 3600:.2f} h ({median:.0f} s)"))
    rows += [(f"appeals {k}", str(v)) for k, v in figures["appeals"].items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


@report.command()
@click.option("--month", required=True, help="The calendar month (UTC), YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@data_dir_option
def compliance(month: str, fmt: str, data_dir: Path) -> None:
    """The IT Rules 2021 monthly compliance report: complaints by reason, actions taken,
    median time to action, appeals and their outcomes."""
    start, end = _month(month)
    with _database(data_dir) as conn:
        figures = compliance_figures(conn, start, end)
    click.echo(json.dumps(figures, indent=2) if fmt == "json" else _table(figures))
