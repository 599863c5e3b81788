"""Every service refuses a request whose text is not UTF-8 as INVALID_ARGUMENT naming the
field (grpc-python would otherwise answer UNKNOWN before any service code runs)."""

from __future__ import annotations

import grpc
import pytest

from koo.feed.v1 import feed_service_pb2
from koo.media.v1 import media_service_pb2
from koo.post.v1 import post_service_pb2
from koo.search.v1 import search_service_pb2
from koo.user.v1 import user_service_pb2
from tests.clients import field_violations, new_account
from tests.harness import Stack

CASES = [
    ("user", user_service_pb2.CreateUserRequest, "/koo.user.v1.UserService/CreateUser", "handle"),
    ("post", post_service_pb2.CreatePostRequest, "/koo.post.v1.PostService/CreatePost", "text"),
    ("feed", feed_service_pb2.ListTrendingHashtagsRequest, "/koo.feed.v1.FeedService/ListTrendingHashtags", "language"),
    ("search", search_service_pb2.SearchPostsRequest, "/koo.search.v1.SearchService/SearchPosts", "q"),
]


def bad_text(message: type, field: str) -> bytes:
    """A serialized `message` whose string `field` holds bytes that are not UTF-8."""
    number = message.DESCRIPTOR.fields_by_name[field].number
    return bytes([(number << 3) | 2, 3]) + b"\xff\xfeA"


@pytest.mark.parametrize(("service", "message", "path", "field"), CASES)
async def test_bad_utf8_is_invalid_argument_naming_the_field(
    stack: Stack, service: str, message: type, path: str, field: str
) -> None:
    call = stack.channel(service).unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(bad_text(message, field))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(info.value)


async def test_a_streamed_answer_refuses_bad_utf8_too(stack: Stack) -> None:
    call = stack.channel("media").unary_stream(
        "/koo.media.v1.MediaService/GetMediaContent", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call(bad_text(media_service_pb2.GetMediaContentRequest, "rendition")):
            pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "rendition" in field_violations(info.value)


async def test_an_upload_stream_refuses_a_message_that_does_not_decode(stack: Stack) -> None:
    call = stack.channel("media").stream_unary(
        "/koo.media.v1.MediaService/UploadMedia", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )

    async def messages():  # type: ignore[no-untyped-def]
        yield b"\x0a\x05\xff"  # metadata: a length that runs past the end

    who = await new_account(stack.channel("user"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(messages(), metadata=who.auth)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
