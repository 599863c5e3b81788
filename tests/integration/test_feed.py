"""Feed service and feed worker over real gRPC, PostgreSQL and Redis.

Fanout is asynchronous (outbox -> relay -> stream -> feed-worker), so tests poll with a
timeout (`eventually`) and never assert on speed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from koo.feed.v1 import feed_service_pb2 as pb
from koo.post.v1 import post_service_pb2 as post_pb
from koo.user.v1 import user_service_pb2 as user_pb
from services.feed.keys import FeedKeys
from services.feed.timeline import Timelines
from services.kit.paging import encode_token
from tests.clients import Account, field_violations, new_account
from tests.harness import Stack
from tests.posting import eventually, feeds, follow, home, home_ids, isolated_stack, posts, publish, users

KEYS = FeedKeys()


async def account(stack: Stack, languages: list[str] | None = None) -> Account:
    return await new_account(stack.channel("user"), languages=languages)


async def audience(stack: Stack, n: int) -> tuple[Account, list[Account]]:
    """An author and `n` followers who have each opened their feed once (active)."""
    author = await account(stack)
    followers = [await account(stack) for _ in range(n)]
    for reader in followers:
        await home(stack, reader)
        await follow(stack, reader, author)
    return author, followers


async def shows(stack: Stack, reader: Account, post_id: int, present: bool = True) -> None:
    await eventually(lambda: home_ids(stack, reader), lambda ids: (post_id in ids) == present)


async def test_done_when_every_follower_sees_the_post_with_tags_and_language(stack: Stack) -> None:
    author, followers = await audience(stack, 3)
    post = await publish(stack, author, "नमस्ते #भारत")
    for reader in [*followers, author]:
        page = await eventually(lambda r=reader: home(stack, r), lambda p: any(x.id == post.id for x in p.posts))
        seen = next(x for x in page.posts if x.id == post.id)
        assert list(seen.hashtags) == ["भारत"] and seen.language == "hi"
        assert seen.author.handle == author.user.handle
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=post.id), metadata=author.auth)
    for reader in [*followers, author]:
        await shows(stack, reader, post.id, present=False)


async def test_delete_takes_the_post_out_of_every_stored_timeline(stack: Stack, redis: Redis) -> None:
    author, followers = await audience(stack, 4)
    post = await publish(stack, author, "अभी है, फिर नहीं")
    for reader in followers:
        await eventually(lambda r=reader: redis.zscore(KEYS.home(r.id), str(post.id)), lambda s: s is not None)
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=post.id), metadata=author.auth)
    for reader in followers:
        # Removed by the worker via the author's followers, not only hidden at read time.
        await eventually(lambda r=reader: redis.zscore(KEYS.home(r.id), str(post.id)), lambda s: s is None)
        assert post.id not in await home_ids(stack, reader)


async def test_own_posts_and_rekoos_are_in_the_home_feed_but_not_replies(stack: Stack) -> None:
    author, (reader,) = await audience(stack, 1)
    stranger = await account(stack)
    theirs = await publish(stack, stranger, "किसी और की पोस्ट")
    rekoo = await publish(stack, author, repost_of_id=theirs.id)
    reply = await publish(stack, author, "जवाब", reply_to_id=theirs.id)
    mine = await publish(stack, reader, "मेरी अपनी पोस्ट")
    ids = await eventually(lambda: home_ids(stack, reader), lambda ids: rekoo.id in ids and mine.id in ids)
    assert theirs.id not in ids and reply.id not in ids
    page = await home(stack, reader)
    assert next(p for p in page.posts if p.id == rekoo.id).repost_of_id == theirs.id


async def test_follow_backfills_and_unfollow_removes(stack: Stack) -> None:
    author = await account(stack)
    older = [await publish(stack, author, f"पुरानी पोस्ट {i}") for i in range(3)]
    reader = await account(stack)
    assert await home_ids(stack, reader) == []
    await follow(stack, reader, author)
    await eventually(lambda: home_ids(stack, reader), lambda ids: {p.id for p in older} <= set(ids))
    await users(stack).UnfollowUser(user_pb.UnfollowUserRequest(user_id=author.id), metadata=reader.auth)
    await eventually(lambda: home_ids(stack, reader), lambda ids: not {p.id for p in older} & set(ids))


async def test_blocks_remove_posts_both_ways(stack: Stack) -> None:
    author, (reader,) = await audience(stack, 1)
    post = await publish(stack, author, "ब्लॉक से पहले")
    await shows(stack, reader, post.id)
    await users(stack).BlockUser(user_pb.BlockUserRequest(user_id=reader.id), metadata=author.auth)
    await shows(stack, reader, post.id, present=False)


async def test_mutes_hide_and_unmute_restores(stack: Stack) -> None:
    author, (reader,) = await audience(stack, 1)
    post = await publish(stack, author, "म्यूट से पहले")
    await shows(stack, reader, post.id)
    await users(stack).MuteUser(user_pb.MuteUserRequest(user_id=author.id), metadata=reader.auth)
    await shows(stack, reader, post.id, present=False)
    await users(stack).UnmuteUser(user_pb.UnmuteUserRequest(user_id=author.id), metadata=reader.auth)
    await shows(stack, reader, post.id)


async def test_per_follow_languages_and_requested_languages(stack: Stack) -> None:
    author = await account(stack)
    tamil_only, everything = await account(stack), await account(stack)
    for reader in (tamil_only, everything):
        await home(stack, reader)
    await follow(stack, tamil_only, author, languages=["ta"])
    await follow(stack, everything, author)
    hindi = await publish(stack, author, "आज बहुत अच्छा दिन है")
    tamil = await publish(stack, author, "இன்று நல்ல நாள்")
    await eventually(lambda: home_ids(stack, everything), lambda ids: {hindi.id, tamil.id} <= set(ids))
    ids = await eventually(lambda: home_ids(stack, tamil_only), lambda ids: tamil.id in ids)
    assert hindi.id not in ids
    only_hindi = await home_ids(stack, everything, language=["hi"])
    assert hindi.id in only_hindi and tamil.id not in only_hindi
    both = await home_ids(stack, everything, language=["hi", "ta"])
    assert {hindi.id, tamil.id} <= set(both)


async def test_paging_while_posts_arrive_neither_repeats_nor_skips(stack: Stack) -> None:
    author, (reader,) = await audience(stack, 1)
    first = [await publish(stack, author, f"पोस्ट {i}") for i in range(23)]
    expected = sorted((p.id for p in first), reverse=True)
    await eventually(lambda: home_ids(stack, reader), lambda ids: set(expected) <= set(ids))
    seen: list[int] = []
    token = ""
    while True:
        page = await home(stack, reader, page_size=5, page_token=token)
        seen += [p.id for p in page.posts]
        # New posts keep arriving between pages.
        await publish(stack, author, f"नई पोस्ट {uuid.uuid4().hex[:6]}")
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)), "a post was repeated"
    assert seen == sorted(seen, reverse=True)
    assert [i for i in seen if i in set(expected)] == expected, "a post was skipped"


async def test_inactive_follower_gets_no_fanout_and_is_rebuilt_on_return(stack: Stack, redis: Redis) -> None:
    author = await account(stack)
    hello = await publish(stack, author, "पहली पोस्ट")
    active, away = await account(stack), await account(stack)
    for reader in (active, away):
        await home(stack, reader)
        await follow(stack, reader, author)
        # The follow was handled once the backfill shows up in the stored timeline.
        await eventually(lambda r=reader: redis.zscore(KEYS.home(r.id), str(hello.id)), lambda s: s is not None)
    await redis.delete(KEYS.home(away.id))  # the activity window ran out
    post = await publish(stack, author, "कोई घर पर नहीं")
    await eventually(lambda: redis.zscore(KEYS.home(active.id), str(post.id)), lambda s: s is not None)
    assert not await redis.exists(KEYS.home(away.id))
    assert post.id in await home_ids(stack, away)  # rebuilt from the source of truth
    assert await redis.zscore(KEYS.home(away.id), str(post.id)) is not None


@pytest.mark.parametrize("per_key", [False, True])
async def test_timelines_are_capped_and_keep_their_sentinel(redis: Redis, per_key: bool) -> None:
    keys = FeedKeys(f"t{uuid.uuid4().hex[:8]}")
    timelines = Timelines(redis, keys=keys, cap=5, active_seconds=60, per_key=per_key)
    await timelines.start_empty(1)
    base = 400_000_000_000_000_000
    for i in range(12):
        await timelines.fan_out([1, 2], base + i)
    assert await timelines.size(1) == 5
    assert await timelines.below(1, None, 10) == [base + i for i in range(11, 6, -1)]
    assert await timelines.state(1) == 1.0
    assert not await redis.exists(keys.home(2))  # inactive: nothing written
    await timelines.remove([1, 2], [base + 11, base + 10])
    assert await timelines.below(1, None, 10) == [base + i for i in range(9, 6, -1)]
    await redis.delete(keys.home(1))


async def test_home_feed_needs_sign_in_and_checks_input(stack: Stack) -> None:
    reader = await account(stack)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feeds(stack).GetHomeFeed(pb.GetHomeFeedRequest())
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    for request, field in (
        (pb.GetHomeFeedRequest(language=["xx"]), "language"),
        (pb.GetHomeFeedRequest(page_token="not-a-token"), "page_token"),
        (pb.GetHomeFeedRequest(page_token=encode_token({"k": "home", "u": reader.id, "b": "x"})), "page_token"),
        (pb.GetHomeFeedRequest(page_size=-1), "page_size"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await feeds(stack).GetHomeFeed(request, metadata=reader.auth)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(info.value)


async def test_user_posts_newest_first_with_paging(stack: Stack) -> None:
    author = await account(stack)
    made = [await publish(stack, author, f"प्रोफ़ाइल {i}") for i in range(5)]
    parent = await publish(stack, await account(stack), "दूसरे की")
    await publish(stack, author, "जवाब", reply_to_id=parent.id)
    seen: list[int] = []
    token = ""
    while True:
        page = await feeds(stack).ListUserPosts(
            pb.ListUserPostsRequest(user_id=author.id, page_size=2, page_token=token)
        )
        seen += [p.id for p in page.posts]
        token = page.next_page_token
        if not token:
            break
    assert seen == [p.id for p in reversed(made)]
    mine = await feeds(stack).ListUserPosts(pb.ListUserPostsRequest(user_id=0), metadata=author.auth)
    assert [p.id for p in mine.posts] == seen
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feeds(stack).ListUserPosts(pb.ListUserPostsRequest(user_id=0))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feeds(stack).ListUserPosts(pb.ListUserPostsRequest(user_id=-3))
    assert "user_id" in field_violations(info.value)


async def test_trends_count_a_hashtag_once_whatever_its_joiners_and_case(stack: Stack) -> None:
    """The rule search uses: `#കൊൽ‌ക്കത്ത` with or without ZWNJ, `#IPL`/`#ipl` are one tag each."""
    author = await account(stack)
    run = uuid.uuid4().hex[:6]
    ml = f"കൊൽ\u200cക്കത്ത{run}"
    await publish(stack, author, f"യാത്ര #{ml}")
    await publish(stack, author, f"#{ml.replace(chr(0x200C), '')} ഇന്ന്")
    await publish(stack, author, f"#IPL{run} final")
    await publish(stack, author, f"#ipl{run} again")

    async def trend() -> dict[str, int]:
        reply = await feeds(stack).ListTrendingHashtags(pb.ListTrendingHashtagsRequest(limit=50))
        return {h.tag: h.post_count for h in reply.hashtags}

    got = await eventually(trend, lambda t: t.get(ml) == 2 and t.get(f"IPL{run}") == 2)
    assert f"ipl{run}" not in got and not any(tag.startswith("കൊൽ") and tag != ml and run in tag for tag in got)


async def test_trending_hashtags_per_language_over_the_window(stack: Stack) -> None:
    author = await account(stack)
    tag = f"दिवाली{uuid.uuid4().hex[:6]}"
    made = [await publish(stack, author, f"शुभ दीपावली, सबको बधाई #{tag}") for _ in range(3)]
    await publish(stack, author, f"இனிய தீபாவளி #{tag}")

    async def trend(language: str) -> dict[str, int]:
        reply = await feeds(stack).ListTrendingHashtags(pb.ListTrendingHashtagsRequest(language=language, limit=50))
        return {h.tag: h.post_count for h in reply.hashtags}

    await eventually(lambda: trend("hi"), lambda t: t.get(tag) == 3)
    await eventually(lambda: trend(""), lambda t: t.get(tag) == 4)
    assert (await trend("ta")).get(tag) == 1
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=made[0].id), metadata=author.auth)
    await eventually(lambda: trend("hi"), lambda t: t.get(tag) == 2)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feeds(stack).ListTrendingHashtags(pb.ListTrendingHashtagsRequest(language="xx"))
    assert "language" in field_violations(info.value)


# A second stack: its own database and Redis database, a low celebrity threshold. -----------

CELEBRITY_THRESHOLD = 3


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def small_world(database_url: str, redis_url: str, data_dir: Path) -> AsyncIterator[tuple[Stack, Redis]]:
    overrides = {
        name: {"feed_celebrity_threshold": CELEBRITY_THRESHOLD, "feed_celebrity_cache_seconds": 1.0}
        for name in ("feed", "feed-worker")
    }
    async with isolated_stack(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, redis_db=9, overrides=overrides
    ) as world:
        yield world.stack, world.redis


async def test_celebrity_posts_are_merged_at_read_not_fanned_out(small_world: tuple[Stack, Redis]) -> None:
    stack, redis = small_world
    celebrity, fans = await audience(stack, CELEBRITY_THRESHOLD + 1)
    regular, (fan_of_both,) = await audience(stack, 1)
    await follow(stack, fan_of_both, celebrity)
    star_post = await publish(stack, celebrity, "सबको नमस्कार #सितारा")
    plain_post = await publish(stack, regular, "सामान्य पोस्ट")
    for reader in [*fans, fan_of_both]:
        await shows(stack, reader, star_post.id)
    await shows(stack, fan_of_both, plain_post.id)
    # Merged at read time: never written into the fans' stored timelines.
    for reader in fans:
        assert await redis.zscore(KEYS.home(reader.id), str(star_post.id)) is None
    assert await redis.zscore(KEYS.home(fan_of_both.id), str(plain_post.id)) is not None
    ids = await home_ids(stack, fan_of_both)
    assert ids == sorted(ids, reverse=True) and ids.index(plain_post.id) < ids.index(star_post.id)
    # Deleting a celebrity's post removes it from every feed too.
    await posts(stack).DeletePost(post_pb.DeletePostRequest(post_id=star_post.id), metadata=celebrity.auth)
    for reader in fans:
        await shows(stack, reader, star_post.id, present=False)


async def test_flushing_redis_loses_nothing_that_was_posted(small_world: tuple[Stack, Redis]) -> None:
    stack, redis = small_world
    author, followers = await audience(stack, 2)
    post = await publish(stack, author, "नमस्ते #भारत")
    before = {}
    for reader in followers:
        page = await eventually(lambda r=reader: home(stack, r), lambda p: any(x.id == post.id for x in p.posts))
        before[reader.id] = [(p.id, list(p.hashtags), p.language) for p in page.posts]
        assert (post.id, ["भारत"], "hi") in before[reader.id]
    await redis.flushdb()
    for reader in followers:
        page = await home(stack, reader)
        assert [(p.id, list(p.hashtags), p.language) for p in page.posts] == before[reader.id]
    # And fanout keeps working afterwards (consumer groups come back by themselves).
    later = await publish(stack, author, "फिर से नमस्ते")
    for reader in followers:
        await shows(stack, reader, later.id)
