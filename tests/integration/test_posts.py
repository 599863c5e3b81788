"""Post service over real gRPC: create rules, idempotency, replies, re-koos, likes, delete."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from koo.media.v1 import media_service_pb2 as media_pb
from koo.media.v1 import media_service_pb2_grpc as media_grpc
from koo.post.v1 import post_service_pb2 as pb
from koo.user.v1 import user_service_pb2 as user_pb
from tests.clients import Account, error_reason, field_violations, new_account
from tests.harness import Stack
from tests.media_files import png_bytes
from tests.posting import eventually, posts, publish, users


async def account(stack: Stack, languages: list[str] | None = None) -> Account:
    return await new_account(stack.channel("user"), languages=languages)


async def rpc_error(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value


async def test_post_gets_hashtags_language_and_author(stack: Stack) -> None:
    author = await account(stack)
    post = await publish(stack, author, "नमस्ते #भारत")
    assert post.id > 0
    assert post.text == "नमस्ते #भारत"
    assert list(post.hashtags) == ["भारत"]
    assert post.language == "hi"
    assert post.author.id == author.id and post.author.handle == author.user.handle
    assert post.created_at.seconds > 0
    fetched = (await posts(stack).GetPost(pb.GetPostRequest(post_id=post.id))).post
    assert fetched == post


async def test_text_is_nfc_normalized(stack: Stack) -> None:
    author = await account(stack)
    decomposed = "क\u093c"  # क + nukta: NFC keeps it as two code points (क़ is a composition exclusion)
    post = await publish(stack, author, "e\u0301 " + decomposed)
    assert post.text == "\u00e9 " + decomposed


async def test_concurrent_retries_with_one_request_id_create_one_post(stack: Stack) -> None:
    author = await account(stack)
    request = pb.CreatePostRequest(text="एक ही पोस्ट #एक", request_id=str(uuid.uuid4()))
    replies = await asyncio.gather(*(posts(stack).CreatePost(request, metadata=author.auth) for _ in range(10)))
    assert len({r.post.id for r in replies}) == 1
    refs = await posts(stack).ListAuthorPosts(pb.ListAuthorPostsRequest(author_ids=[author.id]))
    assert [r.id for r in refs.posts] == [replies[0].post.id]
    # A later retry still answers with the first post.
    again = await posts(stack).CreatePost(request, metadata=author.auth)
    assert again.post.id == replies[0].post.id


async def test_request_ids_are_scoped_per_author(stack: Stack) -> None:
    a, b = await account(stack), await account(stack)
    rid = str(uuid.uuid4())
    pa = await publish(stack, a, "hello from a", request_id=rid)
    pb_ = await publish(stack, b, "hello from b", request_id=rid)
    assert pa.id != pb_.id and pb_.text == "hello from b"


async def test_length_is_counted_in_grapheme_clusters(stack: Stack) -> None:
    author = await account(stack)
    text = "कि" * 500  # 500 clusters, 1,000 code points
    assert len(text) == 1000
    post = await publish(stack, author, text)
    assert post.text == text
    err = await rpc_error(publish(stack, author, "कि" * 501))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "text" in field_violations(err)


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "bell\x07"}, "text"),
        ({"text": "null\x00byte"}, "text"),
        ({"text": "ok", "language": "fr"}, "language"),
        ({"text": "ok", "media_ids": [1, 2, 3, 4, 5]}, "media_ids"),
        ({"text": "ok", "media_ids": [7, 7]}, "media_ids"),
        ({"text": "ok", "reply_to_id": -4}, "reply_to_id"),
        ({"text": "ok", "reply_to_id": 1, "repost_of_id": 2}, "repost_of_id"),
        ({"text": "ok", "request_id": "x" * 200}, "request_id"),
    ],
)
async def test_bad_input_is_rejected_naming_the_field(stack: Stack, fields: dict[str, object], bad_field: str) -> None:
    author = await account(stack)
    err = await rpc_error(posts(stack).CreatePost(pb.CreatePostRequest(**fields), metadata=author.auth))  # type: ignore[arg-type]
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_field in field_violations(err)


@pytest.mark.parametrize(
    ("body", "field"), [(b"\x0a\x03\xff\xfeA", "text"), (b"\x0a\x02ok\x12\x02\xc3\x28", "language")]
)
async def test_invalid_utf8_on_the_wire_names_the_field(stack: Stack, body: bytes, field: str) -> None:
    author = await account(stack)
    raw = stack.channel("post").unary_unary(
        "/koo.post.v1.PostService/CreatePost", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    err = await rpc_error(raw(body, metadata=author.auth))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(err)


async def test_create_needs_sign_in(stack: Stack) -> None:
    err = await rpc_error(posts(stack).CreatePost(pb.CreatePostRequest(text="hi")))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("text", "tag", "language"),
    [
        ("आज का दिन #शुभ है", "शुभ", "hi"),
        ("আজ #বাংলা দিবস", "বাংলা", "bn"),
        ("ਸਤ ਸ੍ਰੀ ਅਕਾਲ #ਪੰਜਾਬ", "ਪੰਜਾਬ", "pa"),
        ("કેમ છો #ગુજરાત", "ગુજરાત", "gu"),
        ("ନମସ୍କାର #ଓଡ଼ିଶା", "ଓଡ଼ିଶା", "or"),
        ("வணக்கம் #தமிழ்நாடு", "தமிழ்நாடு", "ta"),
        ("నమస్కారం #తెలంగాణ", "తెలంగాణ", "te"),
        ("ನಮಸ್ಕಾರ #ಕರ್ನಾಟಕ", "ಕರ್ನಾಟಕ", "kn"),
        ("നമസ്കാരം #കേരളം", "കേരളം", "ml"),
        ("ৰাজ্যখনত আজি #বিহু উৎসৱ", "বিহু", "as"),
        ("आम्ही आज #महाराष्ट्र दिवस साजरा करत आहोत", "महाराष्ट्र", "mr"),
        ("Good morning #India", "India", "en"),
    ],
)
async def test_hashtags_and_language_in_every_script(stack: Stack, text: str, tag: str, language: str) -> None:
    author = await account(stack, languages=["en"])
    post = await publish(stack, author, text)
    assert list(post.hashtags) == [tag]
    assert post.language == language


async def test_language_given_wins_and_undetectable_text_takes_the_authors(stack: Stack) -> None:
    author = await account(stack, languages=["ta", "en"])
    assert (await publish(stack, author, "नमस्ते", language="mr")).language == "mr"
    assert (await publish(stack, author, "🙏🙏 123")).language == "ta"
    # Too short to tell Hindi from Marathi: the author's own language decides.
    marathi_speaker = await account(stack, languages=["mr"])
    assert (await publish(stack, marathi_speaker, "नमस्ते #भारत")).language == "mr"


async def test_mentions_keep_only_existing_handles(stack: Stack) -> None:
    author, friend = await account(stack), await account(stack)
    post = await publish(stack, author, f"धन्यवाद @{friend.user.handle.upper()} और @nobody_{uuid.uuid4().hex[:8]}")
    assert list(post.mentions) == [friend.user.handle]


async def test_replies_count_and_page_oldest_first(stack: Stack) -> None:
    author, replier = await account(stack), await account(stack)
    parent = await publish(stack, author, "सवाल?")
    replies = [await publish(stack, replier, f"जवाब {i}", reply_to_id=parent.id) for i in range(5)]
    assert (await posts(stack).GetPost(pb.GetPostRequest(post_id=parent.id))).post.reply_count == 5
    seen: list[int] = []
    token = ""
    while True:
        page = await posts(stack).ListReplies(pb.ListRepliesRequest(post_id=parent.id, page_size=2, page_token=token))
        seen += [p.id for p in page.posts]
        token = page.next_page_token
        if not token:
            break
    assert seen == [r.id for r in replies]
    await posts(stack).DeletePost(pb.DeletePostRequest(post_id=replies[1].id), metadata=replier.auth)
    after = await posts(stack).ListReplies(pb.ListRepliesRequest(post_id=parent.id))
    assert [p.id for p in after.posts] == [r.id for r in replies if r.id != replies[1].id]
    assert (await posts(stack).GetPost(pb.GetPostRequest(post_id=parent.id))).post.reply_count == 4


async def test_reply_or_repost_of_missing_post_names_the_field(stack: Stack) -> None:
    author = await account(stack)
    for field in ("reply_to_id", "repost_of_id"):
        err = await rpc_error(publish(stack, author, "x", **{field: 999_999_999}))
        assert err.code() == grpc.StatusCode.NOT_FOUND and field in (err.details() or "")
    err = await rpc_error(posts(stack).ListReplies(pb.ListRepliesRequest(post_id=999_999_999)))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_blocked_users_cannot_reply_or_repost(stack: Stack) -> None:
    author, troll = await account(stack), await account(stack)
    post = await publish(stack, author, "मेरी पोस्ट")
    await users(stack).BlockUser(user_pb.BlockUserRequest(user_id=troll.id), metadata=author.auth)
    for field in ("reply_to_id", "repost_of_id"):
        err = await rpc_error(
            publish(stack, troll, "", **{field: post.id})
            if field == "repost_of_id"
            else publish(stack, troll, "हा", reply_to_id=post.id)
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(err) == "BLOCKED"


async def test_only_the_author_deletes_and_deleted_posts_are_gone(stack: Stack) -> None:
    author, other = await account(stack), await account(stack)
    post = await publish(stack, author, "जल्द ही हटेगा")
    err = await rpc_error(posts(stack).DeletePost(pb.DeletePostRequest(post_id=post.id), metadata=other.auth))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    await posts(stack).DeletePost(pb.DeletePostRequest(post_id=post.id), metadata=author.auth)
    err = await rpc_error(posts(stack).GetPost(pb.GetPostRequest(post_id=post.id)))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    batch = await posts(stack).BatchGetPosts(pb.BatchGetPostsRequest(post_ids=[post.id]))
    assert list(batch.posts) == []
    err = await rpc_error(posts(stack).DeletePost(pb.DeletePostRequest(post_id=post.id), metadata=author.auth))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_repost_once_per_user_and_undo(stack: Stack) -> None:
    author, fan = await account(stack), await account(stack)
    original = await publish(stack, author, "मूल पोस्ट")
    first = await publish(stack, fan, repost_of_id=original.id)
    assert first.repost_of_id == original.id and first.text == "" and first.language == original.language
    # A second plain re-koo returns the first one (documented choice: idempotent).
    second = await publish(stack, fan, repost_of_id=original.id)
    assert second.id == first.id
    # Re-kooing a re-koo re-koos the original.
    other_fan = await account(stack)
    chained = await publish(stack, other_fan, repost_of_id=first.id)
    assert chained.repost_of_id == original.id
    got = (await posts(stack).GetPost(pb.GetPostRequest(post_id=original.id))).post
    assert got.repost_count == 2
    undone = (await posts(stack).UndoRepost(pb.UndoRepostRequest(post_id=original.id), metadata=fan.auth)).post
    assert undone.repost_count == 1
    undone = (await posts(stack).UndoRepost(pb.UndoRepostRequest(post_id=original.id), metadata=fan.auth)).post
    assert undone.repost_count == 1
    err = await rpc_error(posts(stack).GetPost(pb.GetPostRequest(post_id=first.id)))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    # Re-koo again after undo: a new one.
    again = await publish(stack, fan, repost_of_id=original.id)
    assert again.id != first.id
    # Once the original is deleted, its plain re-koos disappear from reads too.
    await posts(stack).DeletePost(pb.DeletePostRequest(post_id=original.id), metadata=author.auth)
    batch = await posts(stack).BatchGetPosts(pb.BatchGetPostsRequest(post_ids=[again.id, chained.id]))
    assert list(batch.posts) == []
    err = await rpc_error(publish(stack, fan, repost_of_id=original.id))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_quote_repost_carries_text(stack: Stack) -> None:
    author, fan = await account(stack), await account(stack)
    original = await publish(stack, author, "मूल")
    quote = await publish(stack, fan, "बहुत बढ़िया #वाह", repost_of_id=original.id)
    assert quote.repost_of_id == original.id and list(quote.hashtags) == ["वाह"]


async def test_likes_are_idempotent_and_counted_right_under_concurrency(stack: Stack) -> None:
    author = await account(stack)
    post = await publish(stack, author, "पसंद करें")
    likers = await asyncio.gather(*(account(stack) for _ in range(12)))
    stub = posts(stack)
    await asyncio.gather(
        *(stub.LikePost(pb.LikePostRequest(post_id=post.id), metadata=u.auth) for u in likers for _ in range(3))
    )
    seen_by_first = (await stub.GetPost(pb.GetPostRequest(post_id=post.id), metadata=likers[0].auth)).post
    assert seen_by_first.like_count == 12 and seen_by_first.liked_by_me
    assert not (await stub.GetPost(pb.GetPostRequest(post_id=post.id), metadata=author.auth)).post.liked_by_me
    # Half unlike (twice each, concurrently), while the others like again.
    await asyncio.gather(
        *(
            stub.UnlikePost(pb.UnlikePostRequest(post_id=post.id), metadata=u.auth)
            for u in likers[:6]
            for _ in range(2)
        ),
        *(stub.LikePost(pb.LikePostRequest(post_id=post.id), metadata=u.auth) for u in likers[6:]),
    )
    after = (await stub.GetPost(pb.GetPostRequest(post_id=post.id), metadata=likers[0].auth)).post
    assert after.like_count == 6 and not after.liked_by_me
    err = await rpc_error(stub.LikePost(pb.LikePostRequest(post_id=999_999_999), metadata=author.auth))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def upload_image(stack: Stack, owner: Account) -> media_pb.Media:
    async def body() -> AsyncIterator[media_pb.UploadMediaRequest]:
        yield media_pb.UploadMediaRequest(metadata=media_pb.UploadMetadata(content_type="image/png"))
        yield media_pb.UploadMediaRequest(chunk=png_bytes())

    stub = media_grpc.MediaServiceStub(stack.channel("media"))
    media = (await stub.UploadMedia(body(), metadata=owner.auth)).media  # type: ignore[arg-type]
    settled = await eventually(
        lambda: stub.GetMedia(media_pb.GetMediaRequest(media_id=media.id), metadata=owner.auth),
        lambda reply: reply.media.status != media_pb.MEDIA_STATUS_PROCESSING,
    )
    return settled.media


async def test_posts_attach_only_the_authors_ready_media(stack: Stack) -> None:
    author, other = await account(stack), await account(stack)
    image = await upload_image(stack, author)
    assert image.status == media_pb.MEDIA_STATUS_READY
    post = await publish(stack, author, "", media_ids=[image.id])  # media alone needs no text
    assert [m.id for m in post.media] == [image.id] and post.text == ""
    batch = await posts(stack).BatchGetPosts(pb.BatchGetPostsRequest(post_ids=[post.id]))
    assert [m.id for m in batch.posts[0].media] == [image.id]
    # Someone else's media, or media that does not exist, is refused naming the field.
    for media_ids in ([image.id], [999_999_999]):
        err = await rpc_error(publish(stack, other, "चोरी की तस्वीर", media_ids=media_ids))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "media_ids" in field_violations(err)


async def test_batch_get_keeps_order_and_drops_unknown(stack: Stack) -> None:
    author = await account(stack)
    a = await publish(stack, author, "पहला")
    b = await publish(stack, author, "दूसरा")
    batch = await posts(stack).BatchGetPosts(pb.BatchGetPostsRequest(post_ids=[b.id, 42, a.id, b.id]))
    assert [p.id for p in batch.posts] == [b.id, a.id]
    assert all(p.author.handle == author.user.handle for p in batch.posts)
    err = await rpc_error(posts(stack).BatchGetPosts(pb.BatchGetPostsRequest(post_ids=list(range(1, 502)))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "post_ids" in field_violations(err)


async def test_list_author_posts_bounds_and_excludes_replies(stack: Stack) -> None:
    a, b = await account(stack), await account(stack)
    a1 = await publish(stack, a, "a1")
    b1 = await publish(stack, b, "b1")
    reply = await publish(stack, a, "a-reply", reply_to_id=b1.id)
    a2 = await publish(stack, a, "a2")
    stub = posts(stack)
    refs = await stub.ListAuthorPosts(pb.ListAuthorPostsRequest(author_ids=[a.id, b.id]))
    assert [r.id for r in refs.posts] == [a2.id, reply.id, b1.id, a1.id]
    assert refs.posts[1].reply_to_id == b1.id and refs.posts[0].author_id == a.id
    top = await stub.ListAuthorPosts(pb.ListAuthorPostsRequest(author_ids=[a.id, b.id], exclude_replies=True))
    assert [r.id for r in top.posts] == [a2.id, b1.id, a1.id]
    bounded = await stub.ListAuthorPosts(
        pb.ListAuthorPostsRequest(author_ids=[a.id, b.id], before_id=b1.id, limit=5, exclude_replies=True)
    )
    assert [r.id for r in bounded.posts] == [a1.id]
    limited = await stub.ListAuthorPosts(pb.ListAuthorPostsRequest(author_ids=[a.id, b.id], limit=1))
    assert [r.id for r in limited.posts] == [a2.id]
    err = await rpc_error(stub.ListAuthorPosts(pb.ListAuthorPostsRequest(author_ids=[a.id], limit=-1)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit" in field_violations(err)
