"""Rows in PostgreSQL's COPY text format, for bulk loads (`koo seed`).

The stores own their tables' layouts; a store that can be bulk-loaded exposes its COPY
statement and a function that turns one row's values into a line, so a loader writes
through the same layout (and the same derived columns) as the store's own INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence

CopyValue = str | int | bool | None | Sequence[str] | Sequence[int]


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _array(items: Sequence[str] | Sequence[int]) -> str:
    inner = ",".join(
        str(i) if isinstance(i, int) else '"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items
    )
    return "{" + inner + "}"


def _field(value: CopyValue) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):  # before int: bool is an int
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _text(value)
    return _text(_array(value))


def copy_line(values: Sequence[CopyValue]) -> str:
    """One row, tab-separated and newline-terminated, every field escaped."""
    return "\t".join(_field(v) for v in values) + "\n"
