"""Posts, likes, replies and deletion over HTTP (skipped while the post service is not built)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Account, error_of, violations

POST_FIELDS = {
    "id",
    "author",
    "text",
    "language",
    "hashtags",
    "mentions",
    "media",
    "reply_to_id",
    "repost_of_id",
    "repost_of_author_id",
    "like_count",
    "reply_count",
    "repost_count",
    "liked_by_me",
    "created_at",
}


def create_post(client: httpx.Client, who: Account, **fields: Any) -> httpx.Response:
    answer = client.post("/v1/posts", headers=who.auth, json=fields)
    return answer


def test_post_in_hindi(client: httpx.Client, alice: Account, bob: Account) -> None:
    text = f"नमस्ते दुनिया #भारत @{bob.handle}"
    created = create_post(client, alice, text=text, language="hi")
    assert created.status_code == 201, created.text
    post = created.json()
    assert set(post) == POST_FIELDS
    assert post["text"] == text and post["language"] == "hi"
    assert post["author"] == {"id": alice.id, "handle": alice.handle, "display_name": "आलिया", "verified": False}
    assert post["hashtags"] == ["भारत"]
    assert post["mentions"] == [bob.handle]
    assert (post["like_count"], post["reply_count"], post["repost_count"]) == ("0", "0", "0")
    assert post["reply_to_id"] == "0" and post["repost_of_id"] == "0" and post["media"] == []
    assert post["liked_by_me"] is False
    fetched = client.get(f"/v1/posts/{post['id']}", headers=bob.auth)
    assert fetched.status_code == 200 and fetched.json()["id"] == post["id"]


def test_idempotency_key_returns_the_first_post(client: httpx.Client, alice: Account) -> None:
    key = str(uuid.uuid4())
    headers = {**alice.auth, "idempotency-key": key}
    first = client.post("/v1/posts", headers=headers, json={"text": "एक बार"})
    again = client.post("/v1/posts", headers=headers, json={"text": "एक बार"})
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert again.json()["id"] == first.json()["id"]
    bad_key = client.post("/v1/posts", headers={**alice.auth, "idempotency-key": "k" * 129}, json={"text": "x"})
    assert bad_key.status_code == 400


def test_invalid_posts_name_the_field(client: httpx.Client, alice: Account) -> None:
    long = create_post(client, alice, text="क" * 501)
    assert long.status_code == 400 and "text" in violations(long)
    empty = create_post(client, alice, text="")
    assert empty.status_code == 400
    language = create_post(client, alice, text="hello", language="xx")
    assert language.status_code == 400 and "language" in violations(language)
    reply_to = create_post(client, alice, text="hello", reply_to_id="abc")
    assert reply_to.status_code == 400 and "reply_to_id" in violations(reply_to)
    # 500 grapheme clusters of Devanagari (many more code points) are fine.
    assert create_post(client, alice, text="क्षि" * 500).status_code == 201


def test_like_and_unlike(client: httpx.Client, alice: Account, bob: Account) -> None:
    post = create_post(client, alice, text="पसंद करो").json()
    liked = client.post(f"/v1/posts/{post['id']}:like", headers=bob.auth)
    assert liked.status_code == 200
    assert liked.json()["like_count"] == "1" and liked.json()["liked_by_me"] is True
    twice = client.post(f"/v1/posts/{post['id']}:like", headers=bob.auth)
    assert twice.json()["like_count"] == "1"
    unliked = client.post(f"/v1/posts/{post['id']}:unlike", headers=bob.auth)
    assert unliked.status_code == 200 and unliked.json()["like_count"] == "0"
    missing = client.post("/v1/posts/12345:like", headers=bob.auth)
    assert missing.status_code == 404


def test_replies_are_paged(client: httpx.Client, alice: Account, bob: Account) -> None:
    post = create_post(client, alice, text="सवाल?").json()
    replies = [create_post(client, bob, text=f"जवाब {i}", reply_to_id=post["id"]).json() for i in range(3)]
    assert all(r["reply_to_id"] == post["id"] for r in replies)
    seen: list[str] = []
    token = ""
    while True:
        page = client.get(
            f"/v1/posts/{post['id']}/replies", headers=alice.auth, params={"page_size": 2, "page_token": token}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"posts", "next_page_token"}
        seen += [p["id"] for p in body["posts"]]
        token = body["next_page_token"]
        if not token:
            break
    assert sorted(seen) == sorted(r["id"] for r in replies)
    assert client.get(f"/v1/posts/{post['id']}", headers=alice.auth).json()["reply_count"] == "3"


def test_only_the_author_deletes(client: httpx.Client, alice: Account, bob: Account) -> None:
    post = create_post(client, alice, text="मिटा दूँगी").json()
    denied = client.delete(f"/v1/posts/{post['id']}", headers=bob.auth)
    assert denied.status_code == 403 and error_of(denied)["status"] == "PERMISSION_DENIED"
    deleted = client.delete(f"/v1/posts/{post['id']}", headers=alice.auth)
    assert deleted.status_code == 200 and deleted.json() == {}
    gone = client.get(f"/v1/posts/{post['id']}", headers=alice.auth)
    assert gone.status_code == 404


@pytest.mark.parametrize("path", ["/v1/posts/abc", "/v1/posts/1.5", f"/v1/posts/{2**63}"])
def test_non_numeric_post_ids(client: httpx.Client, alice: Account, path: str) -> None:
    answer = client.get(path, headers=alice.auth)
    assert answer.status_code == 400 and "post_id" in violations(answer)
