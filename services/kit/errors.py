"""Domain errors, raised at the edge of the domain and turned into google.rpc.Status once.

Domain code raises these; the server's error interceptor maps them to gRPC status with
`ErrorInfo` (a reason from the `koo.errors.v1.ErrorReason` enum, sent by name) and, for bad
input, `BadRequest` field violations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from koo.errors.v1.error_reason_pb2 import ErrorReason

__all__ = [
    "ERROR_DOMAIN",
    "AlreadyExists",
    "ErrorReason",
    "FailedPrecondition",
    "InvalidArgument",
    "KooError",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
]

ERROR_DOMAIN = "koo.app"


class KooError(Exception):
    """Base for errors a caller should see."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason: ErrorReason.ValueType = ErrorReason.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        reason: ErrorReason.ValueType | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # On the wire by name (ErrorInfo.reason is a string): "USER_NOT_FOUND".
        self.reason = ErrorReason.Name(self.default_reason if reason is None else reason)
        self.metadata = dict(metadata or {})

    def to_status(self) -> status_pb2.Status:
        details: list[any_pb2.Any] = []
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata))
        details.append(info)
        details.extend(self._extra_details())
        return status_pb2.Status(code=_CODE_NUMBERS[self.code], message=self.message, details=details)

    def _extra_details(self) -> list[any_pb2.Any]:
        return []


class InvalidArgument(KooError):
    """Bad input; names each bad field."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = ErrorReason.INVALID_ARGUMENT

    def __init__(
        self,
        violations: Mapping[str, str] | str,
        *,
        message: str | None = None,
        reason: ErrorReason.ValueType | None = None,
    ) -> None:
        if isinstance(violations, str):
            violations = {violations: message or "is invalid"}
        self.violations = dict(violations)
        summary = message or "; ".join(f"{f}: {d}" for f, d in self.violations.items())
        super().__init__(summary, reason=reason)

    def _extra_details(self) -> list[any_pb2.Any]:
        request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in self.violations.items()
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(request)
        return [packed]


class NotFound(KooError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = ErrorReason.NOT_FOUND


class AlreadyExists(KooError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = ErrorReason.ALREADY_EXISTS


class PermissionDenied(KooError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = ErrorReason.PERMISSION_DENIED


class Unauthenticated(KooError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = ErrorReason.UNAUTHENTICATED


class FailedPrecondition(KooError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = ErrorReason.FAILED_PRECONDITION


class _Retryable(KooError):
    """An error worth retrying later; `retry_after` seconds become a RetryInfo detail (and
    the gateway's Retry-After header)."""

    def __init__(
        self,
        message: str,
        *,
        reason: ErrorReason.ValueType | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after = retry_after

    def _extra_details(self) -> list[any_pb2.Any]:
        if self.retry_after is None:
            return []
        info = any_pb2.Any()
        info.Pack(
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=max(1, math.ceil(self.retry_after))))
        )
        return [info]


class ResourceExhausted(_Retryable):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = ErrorReason.RESOURCE_EXHAUSTED


class Unavailable(_Retryable):
    """A dependency is down or overloaded: the same request may work after `retry_after` s."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = ErrorReason.UNAVAILABLE


_CODE_NUMBERS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: code_pb2.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND: code_pb2.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: code_pb2.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED: code_pb2.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED: code_pb2.UNAUTHENTICATED,
    grpc.StatusCode.FAILED_PRECONDITION: code_pb2.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED: code_pb2.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAVAILABLE: code_pb2.UNAVAILABLE,
    grpc.StatusCode.INTERNAL: code_pb2.INTERNAL,
}
