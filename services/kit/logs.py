"""Logs on stdout: JSON lines for pipelines, or short coloured lines for a person.

JSON (the default, `koo serve` in a pod) carries the request id and, when tracing, trace and
span ids on every line. `console` (KOO_LOG_FORMAT=console, what `koo up` asks for on a
terminal) prints `12:04:05 feed-worker | message` with the process name in its own colour,
like docker compose, so the interleaved output of ten processes stays readable.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import zlib

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from services.kit.context import current_request_id

# ANSI foreground colours that read on dark and light terminals; each process keeps one.
_PALETTE = (36, 32, 33, 35, 34, 96, 92, 93, 95, 94)
_LEVEL_COLOURS = {logging.WARNING: 33, logging.ERROR: 31, logging.CRITICAL: 31}
# Wide enough for the longest process name (`search-indexer`), so the bars line up.
_NAME_WIDTH = 14


class _TraceIds(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else ""
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else ""
        record.request_id = current_request_id()
        return True


def _paint(text: str, colour: int, *, on: bool) -> str:
    return f"\033[{colour}m{text}\033[0m" if on else text


class ConsoleFormatter(logging.Formatter):
    """`HH:MM:SS name | [LEVEL] message [request id]`, the name coloured per process."""

    def __init__(self, service: str, *, colour: bool) -> None:
        super().__init__()
        self.colour = colour
        hue = _PALETTE[zlib.crc32(service.encode()) % len(_PALETTE)]
        self.prefix = _paint(f"{service:<{_NAME_WIDTH}} |", hue, on=colour)

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            level = _paint(record.levelname, _LEVEL_COLOURS.get(record.levelno, 31), on=self.colour)
            message = f"{level} {message}"
        request_id = getattr(record, "request_id", "")
        if request_id:
            message = f"{message} [{request_id}]"
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        return f"{clock} {self.prefix} {message}"


def setup_logging(service: str, level: str = "INFO", log_format: str = "json") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_TraceIds())
    if log_format == "console":
        # https://no-color.org: colour unless NO_COLOR is set.
        handler.setFormatter(ConsoleFormatter(service, colour=not os.environ.get("NO_COLOR")))
    else:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(trace_id)s %(span_id)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter stays at WARNING unless asked for.
    for noisy in ("sqlalchemy.engine", "alembic", "grpc", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
