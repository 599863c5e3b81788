"""Search over real gRPC: posts made with CreatePost and users made with CreateUser reach
the index through their events (outbox -> Redis Streams -> search-indexer), results come
back hydrated by PostService.BatchGetPosts / UserService.BatchGetUsers.

Hindi, Tamil, Bengali, Kannada and English, with queries typed in Latin letters.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from redis.asyncio import Redis

from koo.post.v1 import post_service_pb2 as post_pb
from koo.search.v1 import search_service_pb2 as pb
from koo.search.v1 import search_service_pb2_grpc as pb_grpc
from koo.user.v1 import user_service_pb2 as user_pb
from services.kit.events import stream_name
from tests.clients import Account, field_violations, new_account, unique_handle
from tests.harness import Stack
from tests.posting import eventually, posts, publish, users


def search(stack: Stack) -> pb_grpc.SearchServiceStub:
    return pb_grpc.SearchServiceStub(stack.channel("search"))


def word() -> str:
    """A word only this test writes."""
    return "zq" + "".join(random.choice("bcdfgjklmnprstvz") for _ in range(10))


async def account(stack: Stack, **kw: Any) -> Account:
    return await new_account(stack.channel("user"), **kw)


async def found(
    stack: Stack, q: str, *, who: Account | None = None, within: float = 15.0, expect: int = 1, **fields: Any
) -> list[post_pb.Post]:
    """Search until `expect` posts show up (indexing is asynchronous)."""
    metadata = who.auth if who else None

    async def probe() -> list[post_pb.Post]:
        reply = await search(stack).SearchPosts(pb.SearchPostsRequest(q=q, **fields), metadata=metadata)
        return list(reply.posts)

    return await eventually(probe, lambda got: len(got) >= expect, within=within)


async def rpc_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


# The done-when ------------------------------------------------------------------


async def test_kannada_post_found_by_kannada_and_hashtag_prefix(stack: Stack) -> None:
    author = await account(stack, languages=["kn"])
    post = await publish(stack, author, "#ಕನ್ನಡ ಸುದ್ದಿ")
    got = await found(stack, "kannada", author_id=author.id)
    assert [p.id for p in got] == [post.id]
    assert got[0].text == "#ಕನ್ನಡ ಸುದ್ದಿ" and got[0].author.handle == author.user.handle
    tags = await search(stack).SearchHashtags(pb.SearchHashtagsRequest(q="ಕನ್"))
    assert "ಕನ್ನಡ" in [t.tag for t in tags.hashtags]
    assert all(t.post_count >= 1 for t in tags.hashtags)


# Many languages, typed in Latin ---------------------------------------------------------


MULTILINGUAL = [
    ("जय भारत! आज हिंदी दिवस है", "hi", ["भारत", "bharat", "hindi", "हिंदी"]),
    ("சென்னை மழை, தமிழ் செய்தி", "ta", ["சென்னை", "chennai", "tamil", "tamizh"]),
    ("আমি বাংলা ভালোবাসি, কলকাতা", "bn", ["বাংলা", "bangla", "kolkata"]),
    ("ಬೆಂಗಳೂರು ಕನ್ನಡ ಸುದ್ದಿ", "kn", ["ಕನ್ನಡ", "kannada", "bengaluru", "suddi"]),
    ("Cricket fever in Mumbai tonight", "en", ["cricket", "MUMBAI", "tonight"]),
]


async def test_posts_in_five_languages_found_natively_and_transliterated(stack: Stack) -> None:
    author = await account(stack, languages=["hi", "ta", "bn", "kn", "en"])
    made = {lang: await publish(stack, author, text, language=lang) for text, lang, _ in MULTILINGUAL}
    for _, lang, queries in MULTILINGUAL:
        for q in queries:
            got = await found(stack, q, author_id=author.id)
            assert [p.id for p in got] == [made[lang].id], (lang, q)
    # The language filter keeps only posts in that language.
    got = await found(stack, "cricket", author_id=author.id, language="en")
    assert [p.language for p in got] == ["en"]
    assert (
        await search(stack).SearchPosts(pb.SearchPostsRequest(q="cricket", language="hi", author_id=author.id))
    ).posts == []


async def test_results_are_fresh_and_personal(stack: Stack) -> None:
    author, reader = await account(stack), await account(stack)
    key = word()
    post = await publish(stack, author, f"{key} नमस्ते")
    await found(stack, key)
    await posts(stack).LikePost(post_pb.LikePostRequest(post_id=post.id), metadata=reader.auth)
    got = (await search(stack).SearchPosts(pb.SearchPostsRequest(q=key), metadata=reader.auth)).posts
    assert got[0].like_count == 1 and got[0].liked_by_me
    anonymous = (await search(stack).SearchPosts(pb.SearchPostsRequest(q=key))).posts
    assert anonymous[0].like_count == 1 and not anonymous[0].liked_by_me


async def test_deleted_post_never_shows(stack: Stack) -> None:
    author = await account(stack)
    key = word()
    post = await publish(stack, author, f"{key} #{key}")
    await found(stack, key)
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=post.id), metadata=author.auth)
    # Hydration drops it at once, before the indexer has even seen the delete ...
    assert (await search(stack).SearchPosts(pb.SearchPostsRequest(q=key))).posts == []

    # ... and the indexer removes it and its hashtag's count.
    async def tags() -> list[pb.HashtagResult]:
        return list((await search(stack).SearchHashtags(pb.SearchHashtagsRequest(q=key))).hashtags)

    assert await eventually(tags, lambda got: got == []) == []


async def test_paging_through_grpc(stack: Stack) -> None:
    author = await account(stack)
    key = word()
    made = [await publish(stack, author, f"{key} {'भारत ' * i}") for i in range(5)]
    await found(stack, key, expect=5)
    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        reply = await search(stack).SearchPosts(pb.SearchPostsRequest(q=key, page_size=2, page_token=token))
        seen += [p.id for p in reply.posts]
        pages += 1
        token = reply.next_page_token
        if not token:
            break
    assert pages == 3 and sorted(seen) == sorted(p.id for p in made)


async def test_blocks_hide_authors_both_ways(stack: Stack) -> None:
    viewer, blocker, blocked, friend = [await account(stack) for _ in range(4)]
    key = word()
    for who in (blocker, blocked, friend):
        await publish(stack, who, f"{key} வணக்கம்")
    await found(stack, key, expect=3)
    await users(stack).BlockUser(user_pb.BlockUserRequest(user_id=viewer.id), metadata=blocker.auth)
    await users(stack).BlockUser(user_pb.BlockUserRequest(user_id=blocked.id), metadata=viewer.auth)
    seen = (await search(stack).SearchPosts(pb.SearchPostsRequest(q=key), metadata=viewer.auth)).posts
    assert [p.author.id for p in seen] == [friend.id]
    everyone = (await search(stack).SearchPosts(pb.SearchPostsRequest(q="vanakkam " + key))).posts
    assert len(everyone) == 3


@pytest.mark.parametrize(
    "q", ["' OR 1=1 --", "'; DROP TABLE koo_search.posts; --", "title:foo AND *", "\\", '"\\"', "%", "a:* & !b"]
)
async def test_hostile_queries_are_plain_text(stack: Stack, q: str) -> None:
    reply = await search(stack).SearchPosts(pb.SearchPostsRequest(q=q, page_size=5))
    assert len(reply.posts) <= 5
    await search(stack).SearchUsers(pb.SearchUsersRequest(q=q))
    await search(stack).SearchHashtags(pb.SearchHashtagsRequest(q=q))


# Idempotent indexing ---------------------------------------------------------------------


async def _drained(redis: Redis, topic: str, group: str, message_id: bytes | str) -> bool:
    """True once `group` has read past `message_id` and acknowledged everything."""
    for info in await redis.xinfo_groups(stream_name(topic)):
        if info["name"] in (group, group.encode()):
            last = info["last-delivered-id"]
            last = last.decode() if isinstance(last, bytes) else last
            mid = message_id.decode() if isinstance(message_id, bytes) else message_id

            def pos(s: str) -> tuple[int, int]:
                ms, _, seq = s.partition("-")
                return int(ms), int(seq)

            return pos(last) >= pos(mid) and int(info["pending"]) == 0
    return False


async def test_redelivered_events_change_nothing(stack: Stack, redis: Redis) -> None:
    author = await account(stack)
    key = word()
    post = await publish(stack, author, f"{key} #{key}")
    await found(stack, key)
    # The same event again, in the documented stream format (as a relay retry would send).
    payload = {
        "post_id": post.id,
        "author_id": author.id,
        "text": post.text,
        "language": post.language,
        "hashtags": list(post.hashtags),
        "mention_ids": [],
        "media_ids": [],
        "reply_to_id": 0,
        "repost_of_id": 0,
        "created_at_ms": int(time.time() * 1000),
    }
    fields = {"id": f"test:{post.id}", "type": "post.created", "data": json.dumps(payload, ensure_ascii=False)}
    mids = [await redis.xadd(stream_name("post"), fields) for _ in range(2)]  # type: ignore[arg-type]

    async def drained() -> bool:
        return await _drained(redis, "post", "search-indexer", mids[-1])

    assert await eventually(drained, bool)
    assert [p.id for p in (await search(stack).SearchPosts(pb.SearchPostsRequest(q=key))).posts] == [post.id]
    tags = (await search(stack).SearchHashtags(pb.SearchHashtagsRequest(q=f"#{key}"))).hashtags
    assert [(t.tag, t.post_count) for t in tags] == [(key, 1)]


# Users -----------------------------------------------------------------------------------


async def _users(stack: Stack, q: str, who: Account | None = None) -> list[user_pb.User]:
    reply = await search(stack).SearchUsers(pb.SearchUsersRequest(q=q), metadata=who.auth if who else None)
    return list(reply.users)


async def test_users_by_handle_and_by_name_in_any_script(stack: Stack) -> None:
    handle = unique_handle("asha")
    asha = await account(stack, handle=handle, display_name="आशा वर्मा")
    tamil = await account(stack, display_name="முருகன் " + handle[-6:])

    async def by(q: str) -> list[int]:
        return [u.id for u in await _users(stack, q)]

    assert (await eventually(lambda: by(handle[:-2].upper()), lambda ids: asha.id in ids))[0] == asha.id
    assert asha.id in await eventually(lambda: by("आशा"), lambda ids: asha.id in ids)
    assert asha.id in await eventually(lambda: by("asha varma"), lambda ids: asha.id in ids)
    assert tamil.id in await eventually(lambda: by("murugan"), lambda ids: tamil.id in ids)
    hydrated = next(u for u in await _users(stack, handle) if u.id == asha.id)
    assert hydrated.display_name == "आशा वर्मा" and hydrated.handle == handle


async def test_renamed_user_is_found_by_the_new_name_only(stack: Stack) -> None:
    person = await account(stack, display_name="रमेश " + word())
    first = person.user.display_name.split()[1]

    async def by(q: str) -> list[int]:
        return [u.id for u in await _users(stack, q)]

    await eventually(lambda: by(first), lambda ids: person.id in ids)
    await users(stack).UpdateUser(
        user_pb.UpdateUserRequest(
            user=user_pb.User(display_name="சுரேஷ் " + first), update_mask=FieldMask(paths=["display_name"])
        ),
        metadata=person.auth,
    )
    assert person.id in await eventually(lambda: by("suresh"), lambda ids: person.id in ids)
    assert person.id not in await by("ramesh " + first)


async def test_blocked_users_are_not_found(stack: Stack) -> None:
    viewer = await account(stack)
    target = await account(stack, handle=unique_handle("blk"))
    await eventually(lambda: _users(stack, target.user.handle), lambda got: len(got) == 1)
    await users(stack).BlockUser(user_pb.BlockUserRequest(user_id=viewer.id), metadata=target.auth)
    assert await _users(stack, target.user.handle, viewer) == []
    assert len(await _users(stack, target.user.handle)) == 1


# Input rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["SearchPosts", "SearchUsers", "SearchHashtags"])
@pytest.mark.parametrize("q", ["", "   ", "x" * 201, "क" * 201, "bell\x07"])
async def test_bad_q_is_invalid_argument_naming_q(stack: Stack, method: str, q: str) -> None:
    request = getattr(pb, f"{method}Request")(q=q)
    err = await rpc_error(getattr(search(stack), method)(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "q" in field_violations(err)


async def test_two_hundred_indic_characters_are_fine(stack: Stack) -> None:
    q = "नमस्ते " * 33 + "नम"  # 200 grapheme clusters, ~400 code points
    reply = await search(stack).SearchPosts(pb.SearchPostsRequest(q=q))
    assert reply.next_page_token == ""


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"language": "fr"}, "language"),
        ({"page_size": -1}, "page_size"),
        ({"page_token": "garbage"}, "page_token"),
        ({"author_id": -5}, "author_id"),
    ],
)
async def test_bad_post_search_fields(stack: Stack, fields: dict[str, Any], bad: str) -> None:
    err = await rpc_error(search(stack).SearchPosts(pb.SearchPostsRequest(q="bharat", **fields)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad in field_violations(err)


async def test_hashtag_q_needs_more_than_a_hash(stack: Stack) -> None:
    err = await rpc_error(search(stack).SearchHashtags(pb.SearchHashtagsRequest(q="##")))
    assert "q" in field_violations(err)
    err = await rpc_error(search(stack).SearchHashtags(pb.SearchHashtagsRequest(q="abc", limit=-1)))
    assert "limit" in field_violations(err)
