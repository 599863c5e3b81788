"""Small helpers for talking to the services in tests: accounts, tokens, error details."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2

from koo.user.v1 import user_service_pb2 as user_pb
from koo.user.v1 import user_service_pb2_grpc as user_grpc

PASSWORD = "correct horse battery"


@dataclass
class Account:
    user: user_pb.User
    access_token: str
    refresh_token: str

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def auth(self) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.access_token}"),)


def unique_handle(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def new_account(
    channel: grpc.aio.Channel,
    *,
    handle: str | None = None,
    display_name: str = "परीक्षक",
    languages: list[str] | None = None,
) -> Account:
    stub = user_grpc.UserServiceStub(channel)
    handle = handle or unique_handle()
    await stub.CreateUser(
        user_pb.CreateUserRequest(
            handle=handle, password=PASSWORD, display_name=display_name, languages=languages or ["hi"]
        )
    )
    session = await stub.CreateSession(user_pb.CreateSessionRequest(handle=handle, password=PASSWORD))
    return Account(session.user, session.access_token, session.refresh_token)


def rich_status(err: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError(f"no google.rpc.Status on {err.code()}: {err.details()}")


def field_violations(err: grpc.aio.AioRpcError) -> dict[str, str]:
    out: dict[str, str] = {}
    for detail in rich_status(err).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            out.update({v.field: v.description for v in request.field_violations})
    return out


def error_reason(err: grpc.aio.AioRpcError) -> str:
    for detail in rich_status(err).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""
