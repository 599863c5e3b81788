"""What a person sees from `koo up` on a terminal; every service of the roster is addressable."""

from __future__ import annotations

import logging

from services.kit.logs import ConsoleFormatter
from services.kit.roster import PROCESSES
from services.kit.settings import KitSettings


def _record(level: int, message: str, request_id: str = "") -> logging.LogRecord:
    record = logging.LogRecord("koo.feed", level, __file__, 1, message, None, None)
    record.request_id = request_id
    return record


def test_console_lines_are_short_and_name_the_process() -> None:
    plain = ConsoleFormatter("feed-worker", colour=False)
    line = plain.format(_record(logging.INFO, "fanned out 3 posts", request_id="r-1"))
    assert "feed-worker" in line and line.endswith("| fanned out 3 posts [r-1]")
    assert "{" not in line and "\033[" not in line
    warning = plain.format(_record(logging.WARNING, "redis waiting"))
    assert warning.endswith("| WARNING redis waiting")


def test_each_process_keeps_its_own_colour() -> None:
    user = ConsoleFormatter("user", colour=True).format(_record(logging.INFO, "up"))
    again = ConsoleFormatter("user", colour=True).format(_record(logging.INFO, "up"))
    assert "\033[" in user and user == again


def test_every_service_of_the_roster_has_an_address_setting() -> None:
    settings = KitSettings(env="test")
    for process in PROCESSES:
        if process.kind == "grpc":
            assert settings.addr(process.name) == f"127.0.0.1:{process.default_port}", process.name
            assert process.schema and process.health_name.startswith(f"koo.{process.name}.v1.")
