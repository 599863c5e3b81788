"""Which failures are a dependency being away (UNAVAILABLE, 503: retry) and which are bugs."""

from __future__ import annotations

import elastic_transport
import psycopg
from redis import exceptions as redis_errors

from services.kit.transient import is_transient


def test_dependencies_being_away_are_transient_bugs_are_not() -> None:
    assert is_transient(redis_errors.ConnectionError("gone"))
    assert is_transient(psycopg.OperationalError("server closed the connection"))
    # The search engine's client is looked up, not imported, by the kit: still recognised.
    assert is_transient(elastic_transport.ConnectionError("no route"))
    assert is_transient(elastic_transport.ConnectionTimeout("slow"))
    assert not is_transient(ValueError("a bug"))
    assert not is_transient(KeyError("a bug"))


def test_a_cause_counts_only_when_explicit() -> None:
    try:
        try:
            raise redis_errors.TimeoutError("slow")
        except redis_errors.TimeoutError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    try:
        try:
            raise redis_errors.TimeoutError("slow")
        except redis_errors.TimeoutError:
            raise RuntimeError("a new failure while handling it")  # noqa: B904
    except RuntimeError as unrelated:
        assert not is_transient(unrelated)
