"""Budgets written as `<limit>/<window>` (`600/minute`, `10/15m`, `off`), for every process."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(
    r"^\s*(?P<limit>\d+)\s*/\s*(?P<count>\d*)\s*(?P<unit>s|sec|second|seconds|m|min|minute|minutes"
    r"|h|hour|hours|d|day|days)\s*\Z"
)


@dataclass(frozen=True, slots=True)
class Rate:
    """A budget: at most `limit` requests per `window` seconds (limit 0: no limit)."""

    limit: int
    window: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0


def parse_rate(text: str) -> Rate:
    """`600/minute`, `10/15m`, `20/hour`, `5/30s`; `off` (or `0`) disables the budget."""
    if text.strip().lower() in ("off", "0", "none", ""):
        return Rate(0, 1)
    found = _RATE.match(text.lower())
    if found is None:
        raise ValueError(f"{text!r} is not a rate such as 600/minute, 10/15m or off")
    count = int(found["count"] or 1)
    if count == 0:
        raise ValueError(f"{text!r}: the window must be longer than zero")
    return Rate(int(found["limit"]), count * _UNITS[found["unit"][0]])
