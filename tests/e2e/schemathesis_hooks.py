"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) when tests/e2e/run_schemathesis.sh runs it.

Works around a CPython 3.11 bug, not a gateway one: `ast.parse` of a large module called
deep in the stack can raise SystemError("AST constructor recursion depth mismatch").
Hypothesis parses schemathesis' own source only to describe a lambda in a strategy's repr,
and the error then aborts that whole operation's tests. A repr is not worth that: the
failure becomes hypothesis' own "could not describe it" answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis.internal import lambda_sources

_describe: Callable[..., Any] = lambda_sources._lambda_description


def _describe_or_give_up(f: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_or_give_up
