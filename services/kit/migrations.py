"""Alembic migrations, one history per service schema, run together by `koo migrate`."""

from __future__ import annotations

import logging

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine, text

from services.kit.db import sqlalchemy_url
from services.kit.roster import SCHEMAS

log = logging.getLogger("koo.migrate")

_LOCK_KEY = 0x6B6F6F  # pg_advisory_lock key: one migrator at a time


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"services.{service}:migrations")
    cfg.attributes["database_url"] = database_url
    cfg.attributes["schema"] = SCHEMAS[service]
    return cfg


def upgrade_all(database_url: str, services: list[str] | None = None) -> list[str]:
    """Bring every service schema to its newest revision; returns the services migrated."""
    engine = create_engine(sqlalchemy_url(database_url))
    done: list[str] = []
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        try:
            for service in services or list(SCHEMAS):
                log.info("migrating %s", service)
                command.upgrade(alembic_config(service, database_url), "head")
                done.append(service)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
    engine.dispose()
    return done


def run_env() -> None:
    """Body of every service's migrations/env.py (online mode only)."""
    cfg = context.config
    schema: str = cfg.attributes["schema"]
    engine = create_engine(sqlalchemy_url(cfg.attributes["database_url"]))
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.commit()
        context.configure(
            connection=conn,
            version_table="alembic_version",
            version_table_schema=schema,
        )
        with context.begin_transaction():
            conn.execute(text(f'SET LOCAL search_path TO "{schema}", public'))
            context.run_migrations()
    engine.dispose()
