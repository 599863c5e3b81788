"""Alembic environment for the media service schema (see services.kit.migrations)."""

from services.kit.migrations import run_env

run_env()
