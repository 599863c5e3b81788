"""Seeding progress in PostgreSQL (schema koo_seed), so an interrupted `koo seed` resumes.

A stage records how far it got (`done`) in the same transaction as the rows it wrote,
so a crash between two chunks loses nothing and repeats nothing. Per-unit stages (one
user's follows, one user's posts, through the API) record each finished unit.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

DDL = """
CREATE SCHEMA IF NOT EXISTS koo_seed;
CREATE TABLE IF NOT EXISTS koo_seed.progress (
    run_key    TEXT NOT NULL,
    stage      TEXT NOT NULL,
    done       BIGINT NOT NULL DEFAULT 0,
    meta       JSONB NOT NULL DEFAULT '{}',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_key, stage)
);
CREATE TABLE IF NOT EXISTS koo_seed.units (
    run_key TEXT NOT NULL,
    stage   TEXT NOT NULL,
    unit    BIGINT NOT NULL,
    PRIMARY KEY (run_key, stage, unit)
);
CREATE TABLE IF NOT EXISTS koo_seed.accounts (
    run_key TEXT NOT NULL,
    idx     BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    handle  TEXT NOT NULL,
    PRIMARY KEY (run_key, idx)
);
"""


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('koo_seed.ddl'))")
        conn.execute(DDL)


def get_stage(conn: psycopg.Connection[Any], run_key: str, stage: str) -> tuple[int, dict[str, Any]]:
    row = conn.execute(
        "SELECT done, meta FROM koo_seed.progress WHERE run_key = %s AND stage = %s", (run_key, stage)
    ).fetchone()
    if row is None:
        return 0, {}
    return int(row[0]), dict(row[1])


def set_stage(
    conn: psycopg.Connection[Any], run_key: str, stage: str, done: int, meta: dict[str, Any] | None = None
) -> None:
    """Call inside the transaction that wrote the rows `done` counts."""
    conn.execute(
        "INSERT INTO koo_seed.progress (run_key, stage, done, meta) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (run_key, stage) DO UPDATE SET done = EXCLUDED.done, "
        "meta = koo_seed.progress.meta || EXCLUDED.meta, updated_at = now()",
        (run_key, stage, done, json.dumps(meta or {})),
    )


def done_units(conn: psycopg.Connection[Any], run_key: str, stage: str) -> set[int]:
    rows = conn.execute("SELECT unit FROM koo_seed.units WHERE run_key = %s AND stage = %s", (run_key, stage))
    return {int(r[0]) for r in rows}


def mark_units(conn: psycopg.Connection[Any], run_key: str, stage: str, units: list[int]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO koo_seed.units (run_key, stage, unit) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [(run_key, stage, u) for u in units],
        )


def accounts(conn: psycopg.Connection[Any], run_key: str) -> dict[int, tuple[int, str]]:
    rows = conn.execute("SELECT idx, user_id, handle FROM koo_seed.accounts WHERE run_key = %s", (run_key,))
    return {int(r[0]): (int(r[1]), str(r[2])) for r in rows}


def add_account(conn: psycopg.Connection[Any], run_key: str, idx: int, user_id: int, handle: str) -> None:
    conn.execute(
        "INSERT INTO koo_seed.accounts (run_key, idx, user_id, handle) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (run_key, idx) DO UPDATE SET user_id = EXCLUDED.user_id, handle = EXCLUDED.handle",
        (run_key, idx, user_id, handle),
    )
