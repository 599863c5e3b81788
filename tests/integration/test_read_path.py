"""The read path through the REST gateway: reads served from the caches, kept right by events.

Every test goes through HTTP (the gateway in this process, the services on real gRPC
sockets, real PostgreSQL and Redis). What they prove, as docs/performance.md promises:
a warm home, author or post read is one internal RPC and no SQL; a deleted post is gone
from every read as soon as the delete answered; blocked and muted authors (and re-koos of
their posts) never show, also on pages read before the block; counts and the reader's own
flags are right at once and never leak to another reader; after Redis loses everything
the answers are the same.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.kit.roster import SERVICES
from services.kit.work import work_for
from tests.clients import Account, new_account
from tests.harness import Stack
from tests.posting import eventually, isolated_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

Client = httpx.AsyncClient


def gateway_settings(stack: Stack, data_dir: Path, redis_url: str) -> GatewaySettings:
    return GatewaySettings(
        env="test",
        data_dir=data_dir,
        redis_url=redis_url,
        rate_limits_enabled=False,
        **{f"{name}_addr": stack.addr(name) for name in SERVICES},
    )


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack: Stack, data_dir: Path, redis_url: str) -> AsyncIterator[Client]:
    app = create_app(gateway_settings(stack, data_dir, redis_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


def auth(who: Account, request_id: str = "") -> dict[str, str]:
    headers = {"authorization": f"Bearer {who.access_token}"}
    if request_id:
        headers["x-request-id"] = request_id
    return headers


async def get(api: Client, who: Account, path: str, **params: Any) -> Any:
    answer = await api.get(path, params=params, headers=auth(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def post_text(api: Client, who: Account, text: str, **fields: Any) -> dict[str, Any]:
    answer = await api.post("/v1/posts", json={"text": text, **fields}, headers=auth(who))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def call(api: Client, method: str, path: str, who: Account) -> httpx.Response:
    answer = await api.request(method, path, headers=auth(who))
    assert answer.status_code < 300, answer.text
    return answer


async def home(api: Client, who: Account) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in (await get(api, who, "/v1/feed/home", page_size=50)).get("posts", [])}


async def author_page(api: Client, who: Account, author: Account) -> dict[str, dict[str, Any]]:
    body = await get(api, who, f"/v1/users/{author.id}/posts", page_size=50)
    return {p["id"]: p for p in body.get("posts", [])}


async def people(stack: Stack, n: int) -> list[Account]:
    return [await new_account(stack.channel("user")) for _ in range(n)]


async def following(api: Client, reader: Account, author: Account) -> None:
    await get(api, reader, "/v1/feed/home")  # an active reader: fanout writes to their timeline
    await call(api, "POST", f"/v1/users/{author.id}:follow", reader)


async def in_home(api: Client, reader: Account, post_id: str) -> dict[str, Any]:
    page = await eventually(lambda: home(api, reader), lambda p: post_id in p)
    return page[post_id]


async def test_warm_home_author_and_post_reads_are_one_rpc_and_no_sql(api: Client, stack: Stack) -> None:
    author, reader = await people(stack, 2)
    await following(api, reader, author)
    first = await post_text(api, author, "पहली पोस्ट #कैश")
    reply_parent = await post_text(api, author, "दूसरी पोस्ट")
    await post_text(api, reader, "a reply", reply_to_id=reply_parent["id"])
    await call(api, "POST", f"/v1/posts/{first['id']}:like", reader)
    await in_home(api, reader, reply_parent["id"])
    reads = {
        "/koo.feed.v1.FeedService/GetHomeFeed": "/v1/feed/home",
        "/koo.feed.v1.FeedService/ListUserPosts": f"/v1/users/{author.id}/posts",
        "/koo.post.v1.PostService/GetPost": f"/v1/posts/{first['id']}",
    }

    async def cost(path: str) -> tuple[dict[str, int], int]:
        request_id = uuid.uuid4().hex
        answer = await api.get(path, headers=auth(reader, request_id))
        assert answer.status_code == 200, answer.text
        work = work_for(request_id)
        return dict(work.rpcs), work.sql_statements

    for method, path in reads.items():
        # The first reads fill what the writes did not; a post whose counts just changed is
        # read from PostgreSQL for a moment (readcache.TOMBSTONE_MS). Then, warm:
        await eventually(lambda p=path: cost(p), lambda c, m=method: c == ({m: 1}, 0))  # type: ignore[misc]
    # The warm answers are the real ones: the author's names, the reader's like, the counts.
    page = await home(api, reader)
    assert page[first["id"]]["author"]["handle"] == author.user.handle
    assert page[first["id"]]["liked_by_me"] is True and page[first["id"]]["like_count"] == "1"
    assert page[reply_parent["id"]]["reply_count"] == "1"


async def test_a_deleted_post_is_gone_from_every_read_once_the_delete_answers(api: Client, stack: Stack) -> None:
    author, reader = await people(stack, 2)
    await following(api, reader, author)
    doomed = await post_text(api, author, "जल्दी ही हटेगी")
    rekoo = await post_text(api, reader, "", repost_of_id=doomed["id"])
    await in_home(api, reader, doomed["id"])
    assert doomed["id"] in await author_page(api, reader, author)
    assert (await get(api, reader, f"/v1/posts/{doomed['id']}"))["id"] == doomed["id"]  # all three cached now

    await call(api, "DELETE", f"/v1/posts/{doomed['id']}", author)

    page = await home(api, reader)
    assert doomed["id"] not in page and rekoo["id"] not in page  # the plain re-koo goes with it
    assert doomed["id"] not in await author_page(api, reader, author)
    assert rekoo["id"] not in await author_page(api, reader, reader)
    gone = await api.get(f"/v1/posts/{doomed['id']}", headers=auth(reader))
    assert gone.status_code == 404
    assert (await api.get(f"/v1/posts/{rekoo['id']}", headers=auth(reader))).status_code == 404


async def test_counts_are_right_at_once_and_flags_never_cross_readers(api: Client, stack: Stack) -> None:
    author, liker, other = await people(stack, 3)
    for reader in (liker, other):
        await following(api, reader, author)
    post = await post_text(api, author, "गिनती")
    for reader in (liker, other):
        await in_home(api, reader, post["id"])  # both readers' pages are cached

    await call(api, "POST", f"/v1/posts/{post['id']}:like", liker)
    await post_text(api, other, "जवाब", reply_to_id=post["id"])
    await post_text(api, other, "", repost_of_id=post["id"])
    for path in ("/v1/feed/home", f"/v1/users/{author.id}/posts"):
        mine = {p["id"]: p for p in (await get(api, liker, path, page_size=50))["posts"]}[post["id"]]
        theirs = {p["id"]: p for p in (await get(api, other, path, page_size=50))["posts"]}[post["id"]]
        assert mine["liked_by_me"] is True and mine["like_count"] == "1"
        assert theirs.get("liked_by_me", False) is False and theirs["like_count"] == "1"
        assert mine["reply_count"] == theirs["reply_count"] == "1"
        assert mine["repost_count"] == theirs["repost_count"] == "1"
    single = await get(api, other, f"/v1/posts/{post['id']}")
    assert single.get("liked_by_me", False) is False and single["like_count"] == "1"

    await call(api, "POST", f"/v1/posts/{post['id']}:unlike", liker)
    again = await home(api, liker)
    assert again[post["id"]].get("liked_by_me", False) is False and again[post["id"]].get("like_count", "0") == "0"
    assert (await get(api, liker, f"/v1/posts/{post['id']}")).get("like_count", "0") == "0"


async def test_blocked_and_muted_authors_never_show_also_from_cached_pages(api: Client, stack: Stack) -> None:
    reader, friend, blocked, muted = await people(stack, 4)
    for author in (friend, blocked, muted):
        await following(api, reader, author)
    by_blocked = await post_text(api, blocked, "blocked author's post")
    by_muted = await post_text(api, muted, "muted author's post")
    rekoo_blocked = await post_text(api, friend, "", repost_of_id=by_blocked["id"])
    quote_muted = await post_text(api, friend, "quoting", repost_of_id=by_muted["id"])
    visible = await post_text(api, friend, "still here")
    page = await eventually(lambda: home(api, reader), lambda p: {by_blocked["id"], visible["id"]} <= p.keys())
    assert {by_muted["id"], rekoo_blocked["id"], quote_muted["id"]} <= page.keys()  # cached, all of them

    await call(api, "POST", f"/v1/users/{blocked.id}:block", reader)
    await call(api, "POST", f"/v1/users/{muted.id}:mute", reader)

    hidden = {by_blocked["id"], by_muted["id"], rekoo_blocked["id"], quote_muted["id"]}
    page = await home(api, reader)  # at once: the user service forgets the cached graphs on commit
    assert visible["id"] in page and not (hidden & page.keys())
    friends_page = await author_page(api, reader, friend)
    assert visible["id"] in friends_page and not (hidden & friends_page.keys())
    # Either way: the blocked author cannot read the reader's posts, nor the reader theirs.
    mine = await post_text(api, reader, "after the block")
    assert (await api.get(f"/v1/users/{blocked.id}/posts", headers=auth(reader))).status_code == 403
    assert (await api.get(f"/v1/users/{reader.id}/posts", headers=auth(blocked))).status_code == 403
    assert mine["id"] not in await home(api, blocked)


async def test_losing_all_of_redis_loses_no_answer(
    stack: Stack, database_url: str, redis_url: str, data_dir: Path
) -> None:
    async with isolated_stack(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, redis_db=14, overrides={}
    ) as world:
        app = create_app(gateway_settings(world.stack, data_dir, world.redis_url))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as api,
        ):
            author, reader = await people(world.stack, 2)
            await following(api, reader, author)
            kept = await post_text(api, author, "रहेगी")
            doomed = await post_text(api, author, "हटेगी")
            await call(api, "POST", f"/v1/posts/{kept['id']}:like", reader)
            await call(api, "DELETE", f"/v1/posts/{doomed['id']}", author)
            await in_home(api, reader, kept["id"])
            before = (await home(api, reader), await author_page(api, reader, author))

            await world.redis.flushdb()  # FLUSHALL of this stack's Redis (others share the server)

            after = (await home(api, reader), await author_page(api, reader, author))
            assert after == before
            assert after[0][kept["id"]]["liked_by_me"] is True and doomed["id"] not in after[0]
            single = await get(api, reader, f"/v1/posts/{kept['id']}")
            assert single["like_count"] == "1" and single["liked_by_me"] is True
            # And the platform keeps working: a new post reaches the reader.
            fresh = await post_text(api, author, "नई")
            await in_home(api, reader, fresh["id"])


async def test_a_profile_change_shows_on_pages_read_before_it(api: Client, stack: Stack) -> None:
    author, reader = await people(stack, 2)
    await following(api, reader, author)
    post = await post_text(api, author, "नाम बदलेगा")
    page = await in_home(api, reader, post["id"])
    assert page["author"]["display_name"] == author.user.display_name  # the summary is cached now

    changed = await api.patch(
        "/v1/users/me?update_mask=display_name", json={"display_name": "नया नाम"}, headers=auth(author)
    )
    assert changed.status_code == 200, changed.text

    await eventually(lambda: home(api, reader), lambda p: p[post["id"]]["author"]["display_name"] == "नया नाम")
    mentioned = await post_text(api, reader, f"hello @{author.user.handle}")
    assert mentioned["mentions"] == [author.user.handle]  # mentions resolve (from the profile cache when warm)
