"""What each request cost this process: internal RPCs served and SQL statements run.

A request's id (the gateway's `X-Request-Id`) travels with every internal call, so each
process can count the work it did for it. The read path's contract (docs/performance.md:
a warm home or author page is one internal RPC and no SQL) is checked against these
counts, and an operator can read them for a request id from a process's logs or a debugger.
Only the newest `KEEP` request ids are kept; work outside a request (event consumers,
relays) has no id and is not counted.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.context import current_request_id

KEEP = 2_000


@dataclass(slots=True)
class Work:
    rpcs: Counter[str] = field(default_factory=Counter)  # full method name -> calls served
    sql_statements: int = 0


_by_request: OrderedDict[str, Work] = OrderedDict()


def _current() -> Work | None:
    request_id = current_request_id()
    if not request_id:
        return None
    work = _by_request.get(request_id)
    if work is None:
        work = _by_request[request_id] = Work()
        if len(_by_request) > KEEP:
            _by_request.popitem(last=False)
    return work


def count_rpc(method: str) -> None:
    """Called by the server interceptor once the call's request id is set."""
    work = _current()
    if work is not None:
        work.rpcs[method] += 1


def _count_statement(*_args: object) -> None:
    work = _current()
    if work is not None:
        work.sql_statements += 1


def count_statements(engine: AsyncEngine) -> None:
    """Count every statement `engine` executes under a request id."""
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)


def work_for(request_id: str) -> Work:
    """The work this process did for `request_id` so far (empty if none, or forgotten)."""
    return _by_request.get(request_id) or Work()
