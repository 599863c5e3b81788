"""Mobile push through Amazon SNS platform endpoints, against moto's SNS server.

moto serves the SNS API over HTTP in this process, so boto3 makes real requests and the
messages SNS accepted for each endpoint can be read back from moto's backend. The feed
service registers devices and the feed worker pushes, both with the SNS settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import grpc
import pytest
import pytest_asyncio

from koo.feed.v1 import feed_service_pb2 as feed_pb
from koo.feed.v1 import feed_service_pb2_grpc as feed_grpc
from koo.post.v1 import post_service_pb2 as post_pb
from koo.user.v1 import user_service_pb2 as user_pb
from tests.clients import Account, field_violations, new_account
from tests.harness import free_port
from tests.posting import World, eventually, isolated_stack, posts, publish, users

moto_server = pytest.importorskip("moto.server")
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402

REGION = "ap-south-1"


class Sns:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.client: Any = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
        self.android = self.client.create_platform_application(
            Name="koo-android", Platform="GCM", Attributes={"PlatformCredential": "fcm-server-key"}
        )["PlatformApplicationArn"]
        self.ios = self.client.create_platform_application(
            Name="koo-ios", Platform="APNS", Attributes={"PlatformCredential": "apns-key"}
        )["PlatformApplicationArn"]

    def messages(self, endpoint_arn: str) -> list[dict[str, Any]]:
        """What SNS accepted for one device, oldest first."""
        endpoint = sns_backends[DEFAULT_ACCOUNT_ID][REGION].platform_endpoints[endpoint_arn]
        return [json.loads(m) for m in endpoint.messages.values()]

    def endpoints(self) -> dict[str, Any]:
        return dict(sns_backends[DEFAULT_ACCOUNT_ID][REGION].platform_endpoints)


@pytest.fixture(scope="module")
def sns() -> Iterator[Sns]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield Sns(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest_asyncio.fixture
async def world(sns: Sns, database_url: str, redis_url: str, data_dir: Path) -> AsyncIterator[World]:
    push = {
        "push_sns_android_app_arn": sns.android,
        "push_sns_ios_app_arn": sns.ios,
        "push_sns_region": REGION,
        "push_sns_endpoint_url": sns.endpoint,
    }
    async with isolated_stack(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        redis_db=12,
        overrides={"feed": push, "feed-worker": push},
    ) as running:
        yield running


def _feeds(world: World) -> feed_grpc.FeedServiceStub:
    return feed_grpc.FeedServiceStub(world.stack.channel("feed"))


async def _device(world: World, who: Account, platform: int, token: str) -> feed_pb.PushDevice:
    reply = await _feeds(world).CreatePushDevice(
        feed_pb.CreatePushDeviceRequest(platform=platform, token=token), metadata=who.auth
    )
    return reply.device


async def test_a_like_is_pushed_to_every_device_of_the_author(world: World, sns: Sns) -> None:
    stack = world.stack
    author = await new_account(stack.channel("user"), display_name="Asha")
    fan = await new_account(stack.channel("user"), display_name="Ravi")
    phone = await _device(world, author, feed_pb.PUSH_PLATFORM_ANDROID, f"fcm-{author.id}")
    tablet = await _device(world, author, feed_pb.PUSH_PLATFORM_IOS, f"apns-{author.id}")
    again = await _device(world, author, feed_pb.PUSH_PLATFORM_ANDROID, f"fcm-{author.id}")
    assert again.id == phone.id and phone.platform == feed_pb.PUSH_PLATFORM_ANDROID
    assert tablet.id != phone.id and tablet.platform == feed_pb.PUSH_PLATFORM_IOS
    arns = {e.arn: e for e in sns.endpoints().values() if e.custom_user_data == str(author.id)}
    assert len(arns) == 2

    post = await publish(stack, author, "पुश करो")
    await posts(stack).LikePost(post_pb.LikePostRequest(post_id=post.id), metadata=fan.auth)
    for arn in arns:
        sent = await eventually(lambda a=arn: _async(sns.messages(a)), lambda m: len(m) == 1)
        assert sent[0]["default"] == "Ravi liked your post"
    android = next(a for a, e in arns.items() if e.application.platform == "GCM")
    gcm = json.loads(sns.messages(android)[0]["GCM"])
    assert gcm["notification"] == {"title": "Koo", "body": "Ravi liked your post"}
    assert gcm["data"] == {"kind": "NOTIFICATION_KIND_LIKE", "post_id": str(post.id)}


async def test_nothing_is_pushed_from_a_muted_account_and_deleted_devices_get_nothing(world: World, sns: Sns) -> None:
    stack = world.stack
    author = await new_account(stack.channel("user"))
    pest, friend = await new_account(stack.channel("user")), await new_account(stack.channel("user"))
    device = await _device(world, author, feed_pb.PUSH_PLATFORM_ANDROID, f"fcm-{author.id}")
    (arn,) = [e.arn for e in sns.endpoints().values() if e.custom_user_data == str(author.id)]
    # (A blocked account cannot like at all; a muted one can, and must not reach the phone.)
    await users(stack).MuteUser(user_pb.MuteUserRequest(user_id=pest.id), metadata=author.auth)
    post = await publish(stack, author, "सिर्फ दोस्त")
    await posts(stack).LikePost(post_pb.LikePostRequest(post_id=post.id), metadata=pest.auth)
    await posts(stack).LikePost(post_pb.LikePostRequest(post_id=post.id), metadata=friend.auth)
    sent = await eventually(lambda: _async(sns.messages(arn)), lambda m: len(m) >= 1)
    assert len(sent) == 1 and sent[0]["default"] == f"{friend.user.display_name} liked your post"

    await _feeds(world).DeletePushDevice(feed_pb.DeletePushDeviceRequest(device_id=device.id), metadata=author.auth)
    assert arn not in sns.endpoints()
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await _feeds(world).DeletePushDevice(feed_pb.DeletePushDeviceRequest(device_id=device.id), metadata=author.auth)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_bad_devices_are_refused(world: World) -> None:
    who = await new_account(world.stack.channel("user"))
    for platform, token, field in (
        (feed_pb.PUSH_PLATFORM_UNSPECIFIED, "t", "platform"),
        (feed_pb.PUSH_PLATFORM_IOS, "", "token"),
        (feed_pb.PUSH_PLATFORM_IOS, "x" * 5000, "token"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await _device(world, who, platform, token)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(bad.value)
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await _feeds(world).CreatePushDevice(
            feed_pb.CreatePushDeviceRequest(platform=feed_pb.PUSH_PLATFORM_IOS, token="t")
        )
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def _async(value: Any) -> Any:
    return value
