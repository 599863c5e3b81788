"""User service over real gRPC: sign-up, sign-in, sessions, profiles."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import text

from koo.user.v1 import user_service_pb2 as pb
from koo.user.v1 import user_service_pb2_grpc as pb_grpc
from services.kit.db import create_engine
from services.user.domain import _hash_token
from tests.clients import PASSWORD, error_reason, field_violations, new_account, unique_handle
from tests.harness import Stack


def stub(stack: Stack) -> pb_grpc.UserServiceStub:
    return pb_grpc.UserServiceStub(stack.channel("user"))


async def test_register_returns_the_user_with_indic_display_name(stack: Stack) -> None:
    handle = unique_handle("Asha")
    user = (
        await stub(stack).CreateUser(
            pb.CreateUserRequest(handle=handle, password=PASSWORD, display_name="ஆஷா ராவ்", languages=["ta", "en"])
        )
    ).user
    assert user.id > 0
    assert user.handle == handle
    assert user.display_name == "ஆஷா ராவ்"
    assert list(user.languages) == ["ta", "en"]
    assert user.follower_count == 0 and user.created_at.seconds > 0


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"handle": "ab"}, "handle"),
        ({"handle": "has space"}, "handle"),
        ({"handle": "x" * 31}, "handle"),
        ({"handle": "हिंदी"}, "handle"),
        ({"password": "short"}, "password"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "bell\x07"}, "display_name"),
        ({"languages": ["hi", "fr"]}, "languages"),
    ],
)
async def test_register_rejects_bad_input_naming_the_field(
    stack: Stack, fields: dict[str, object], bad_field: str
) -> None:
    request = {"handle": unique_handle(), "password": PASSWORD, "display_name": "Ok", "languages": ["hi"], **fields}
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).CreateUser(pb.CreateUserRequest(**request))  # type: ignore[arg-type]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_field in field_violations(info.value)


async def test_handles_are_unique_regardless_of_case(stack: Stack) -> None:
    handle = unique_handle("Ravi")
    await stub(stack).CreateUser(pb.CreateUserRequest(handle=handle, password=PASSWORD, display_name="Ravi"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).CreateUser(pb.CreateUserRequest(handle=handle.upper(), password=PASSWORD, display_name="R"))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(info.value) == "HANDLE_TAKEN"


async def test_wrong_password_and_unknown_handle_fail_the_same_way(stack: Stack) -> None:
    account = await new_account(stack.channel("user"))
    failures = []
    for handle, password in ((account.user.handle, "wrong password"), (unique_handle(), PASSWORD)):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub(stack).CreateSession(pb.CreateSessionRequest(handle=handle, password=password))
        failures.append((info.value.code(), info.value.details(), error_reason(info.value)))
    assert failures[0] == failures[1]
    assert failures[0][0] == grpc.StatusCode.UNAUTHENTICATED


async def test_login_is_case_insensitive_and_token_identifies_the_user(stack: Stack) -> None:
    account = await new_account(stack.channel("user"))
    session = await stub(stack).CreateSession(
        pb.CreateSessionRequest(handle=account.user.handle.upper(), password=PASSWORD)
    )
    assert session.token_type == "Bearer" and session.expires_in > 0
    me = await stub(stack).DeleteSession(pb.DeleteSessionRequest(), metadata=account.auth)
    assert me is not None


async def rotated_long_ago(database_url: str, refresh_token: str) -> None:
    """Move a token's rotation out of the retry grace window (services/user/domain.py)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as db:
            await db.execute(
                text(
                    "UPDATE koo_user.refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE token_hash = :h"
                ),
                {"h": _hash_token(refresh_token)},
            )
    finally:
        await engine.dispose()


async def test_refresh_rotates_and_reuse_revokes_the_family(stack: Stack, database_url: str) -> None:
    account = await new_account(stack.channel("user"))
    first = await stub(stack).RefreshSession(pb.RefreshSessionRequest(refresh_token=account.refresh_token))
    assert first.refresh_token != account.refresh_token
    await rotated_long_ago(database_url, account.refresh_token)
    # The old token again, after the retry grace: reuse is detected...
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).RefreshSession(pb.RefreshSessionRequest(refresh_token=account.refresh_token))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(info.value) == "REFRESH_TOKEN_REUSED"
    # ...and the whole family is revoked, including the newest token.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).RefreshSession(pb.RefreshSessionRequest(refresh_token=first.refresh_token))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_stops_the_refresh_token(stack: Stack) -> None:
    account = await new_account(stack.channel("user"))
    await stub(stack).DeleteSession(pb.DeleteSessionRequest(), metadata=account.auth)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).RefreshSession(pb.RefreshSessionRequest(refresh_token=account.refresh_token))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_without_token_is_unauthenticated(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).DeleteSession(pb.DeleteSessionRequest())
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        # alg=none: header {"alg":"none","typ":"JWT"}
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2lkIjoieCJ9.",
    ],
)
async def test_invalid_tokens_are_rejected(stack: Stack, token: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).DeleteSession(pb.DeleteSessionRequest(), metadata=(("authorization", f"Bearer {token}"),))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_tampered_token_is_rejected(stack: Stack) -> None:
    account = await new_account(stack.channel("user"))
    head, payload, sig = account.access_token.split(".")
    tampered = f"{head}.{payload[:-2]}AA.{sig}"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).DeleteSession(pb.DeleteSessionRequest(), metadata=(("authorization", f"Bearer {tampered}"),))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_get_by_id_handle_and_batch(stack: Stack) -> None:
    a = await new_account(stack.channel("user"))
    b = await new_account(stack.channel("user"), display_name="বাংলা নাম", languages=["bn"])
    assert (await stub(stack).GetUser(pb.GetUserRequest(user_id=a.id))).user.handle == a.user.handle
    by_handle = await stub(stack).GetUserByHandle(pb.GetUserByHandleRequest(handle=b.user.handle.upper()))
    assert by_handle.user.id == b.id and by_handle.user.display_name == "বাংলা নাম"
    batch = await stub(stack).BatchGetUsers(pb.BatchGetUsersRequest(user_ids=[b.id, 999, a.id]))
    assert [u.id for u in batch.users] == [b.id, a.id]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).GetUser(pb.GetUserRequest(user_id=12345))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_update_profile_changes_only_masked_fields(stack: Stack) -> None:
    account = await new_account(stack.channel("user"), display_name="Before")
    updated = await stub(stack).UpdateUser(
        pb.UpdateUserRequest(
            user=pb.User(display_name="ಕನ್ನಡಿಗ", bio="should not change", languages=["kn"]),
            update_mask=FieldMask(paths=["display_name", "languages"]),
        ),
        metadata=account.auth,
    )
    assert updated.user.display_name == "ಕನ್ನಡಿಗ"
    assert list(updated.user.languages) == ["kn"]
    assert updated.user.bio == ""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).UpdateUser(
            pb.UpdateUserRequest(user=pb.User(handle="x"), update_mask=FieldMask(paths=["handle"])),
            metadata=account.auth,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in field_violations(info.value)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(stack).UpdateUser(
            pb.UpdateUserRequest(user=pb.User(bio="x" * 161), update_mask=FieldMask(paths=["bio"])),
            metadata=account.auth,
        )
    assert "bio" in field_violations(info.value)
