"""Per-request context: who is calling, with which token, under which request id."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from services.kit.errors import ErrorReason, Unauthenticated


@dataclass(frozen=True, slots=True)
class Caller:
    """A signed-in user, as proven by the access token on the call."""

    user_id: int
    session_id: str
    token: str


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("koo_caller", default=None)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("koo_request_id", default="")
_workload: contextvars.ContextVar[str] = contextvars.ContextVar("koo_workload", default="")


def current_caller() -> Caller | None:
    return _caller.get()


def require_caller() -> Caller:
    """The caller, or UNAUTHENTICATED when the call carried no valid token."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("sign in first: this call needs an access token", reason=ErrorReason.SIGN_IN_REQUIRED)
    return caller


def current_request_id() -> str:
    return _request_id.get()


def set_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _caller.set(caller)


def set_request_id(request_id: str) -> contextvars.Token[str]:
    return _request_id.set(request_id)


def current_workload() -> str:
    """The verified Koo workload making this call (`gateway`, `post`, ...; see workload.py)."""
    return _workload.get()


def set_workload(name: str) -> contextvars.Token[str]:
    return _workload.set(name)
