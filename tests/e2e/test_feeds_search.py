"""Home and user timelines, trends and search over HTTP (skipped while not built).

Fanout and indexing happen off the request path (event workers), so the tests wait for
them with a deadline rather than assuming they are instant.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import httpx

from tests.e2e.conftest import Account, register, violations

T = TypeVar("T")


def eventually(check: Callable[[], T | None], *, seconds: float = 20.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {seconds}s")
        time.sleep(0.25)


def _post(client: httpx.Client, who: Account, text: str, **extra: str) -> dict[str, str]:
    answer = client.post("/v1/posts", headers=who.auth, json={"text": text, **extra})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_home_feed_has_own_and_followed_posts_newest_first(client: httpx.Client) -> None:
    reader, writer, stranger = register(client), register(client), register(client)
    probe = client.get("/v1/feed/home", headers=reader.auth)
    assert probe.status_code == 200 and set(probe.json()) == {"posts", "next_page_token"}
    assert client.post(f"/v1/users/{writer.id}:follow", headers=reader.auth).status_code == 200
    first = _post(client, writer, "पहली कू", language="hi")
    second = _post(client, reader, "मेरी अपनी कू", language="hi")
    _post(client, stranger, "किसी और की कू", language="hi")

    def ids() -> list[str] | None:
        got = [p["id"] for p in client.get("/v1/feed/home", headers=reader.auth).json()["posts"]]
        return got if {first["id"], second["id"]} <= set(got) else None

    found = eventually(ids)
    assert found.index(second["id"]) < found.index(first["id"])
    assert all(p_id in (first["id"], second["id"]) for p_id in found)

    paged = client.get("/v1/feed/home", headers=reader.auth, params={"page_size": 1}).json()
    assert len(paged["posts"]) == 1 and paged["next_page_token"]
    rest = client.get(
        "/v1/feed/home", headers=reader.auth, params={"page_size": 1, "page_token": paged["next_page_token"]}
    ).json()
    assert rest["posts"][0]["id"] != paged["posts"][0]["id"]


def test_home_feed_language_filter(client: httpx.Client) -> None:
    reader = register(client)
    hindi = _post(client, reader, "हिंदी में", language="hi")
    tamil = _post(client, reader, "தமிழில்", language="ta")

    def by_language(*languages: str) -> set[str]:
        answer = client.get("/v1/feed/home", headers=reader.auth, params={"language": list(languages)})
        assert answer.status_code == 200, answer.text
        return {p["id"] for p in answer.json()["posts"]}

    eventually(lambda: {hindi["id"], tamil["id"]} <= by_language("hi", "ta") or None)
    assert by_language("ta") & {hindi["id"], tamil["id"]} == {tamil["id"]}


def test_user_posts_and_me(client: httpx.Client) -> None:
    author = register(client)
    post = _post(client, author, "मेरी टाइमलाइन")
    answer = client.get(f"/v1/users/{author.id}/posts", headers=register(client).auth)
    assert answer.status_code == 200

    def listed() -> bool:
        page = client.get(f"/v1/users/{author.id}/posts", headers=author.auth).json()
        return post["id"] in [p["id"] for p in page["posts"]]

    eventually(listed)
    mine = client.get("/v1/users/me/posts", headers=author.auth).json()
    assert mine["posts"][0]["id"] == post["id"]


def test_trending_hashtags(client: httpx.Client, alice: Account) -> None:
    tag = f"परीक्षा{uuid.uuid4().hex[:6]}"
    _post(client, alice, f"आज #{tag}", language="hi")
    answer = client.get("/v1/trends/hashtags", headers=alice.auth, params={"language": "hi"})
    assert answer.status_code == 200
    assert set(answer.json()) == {"hashtags"}

    def trending() -> bool:
        tags = client.get("/v1/trends/hashtags", headers=alice.auth, params={"language": "hi", "limit": 50})
        return any(h["tag"] == tag and int(h["post_count"]) >= 1 for h in tags.json()["hashtags"])

    eventually(trending)


def test_search_posts_users_and_hashtags(client: httpx.Client) -> None:
    author = register(client, display_name="भारत प्रेमी")
    word = f"खोज{uuid.uuid4().hex[:6]}"
    post = _post(client, author, f"{word} #भारत", language="hi")
    probe = client.get("/v1/search/posts", headers=author.auth, params={"q": word})
    assert probe.status_code == 200 and set(probe.json()) == {"posts", "next_page_token"}

    def found(path: str, query: str, items: str, wanted: str) -> bool:
        answer = client.get(path, headers=author.auth, params={"q": query})
        assert answer.status_code == 200, answer.text
        return wanted in [item["id"] for item in answer.json()[items]]

    eventually(lambda: found("/v1/search/posts", word, "posts", post["id"]))
    eventually(lambda: found("/v1/search/users", author.handle, "users", author.id))
    tags = client.get("/v1/search/hashtags", headers=author.auth, params={"q": "#भा"})
    assert tags.status_code == 200 and set(tags.json()) == {"hashtags"}
    bad = client.get("/v1/search/posts", headers=author.auth, params={"q": word, "page_size": "x"})
    assert bad.status_code == 400 and "page_size" in violations(bad)
