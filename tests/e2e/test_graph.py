"""Follows, blocks, mutes and the paged follower lists over HTTP."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Account, error_of, register, violations


def test_follow_unfollow_and_counts(client: httpx.Client, alice: Account, bob: Account) -> None:
    followed = client.post(f"/v1/users/{bob.id}:follow", headers=alice.auth)  # no body at all
    assert followed.status_code == 200 and followed.json() == {}
    twice = client.post(f"/v1/users/{bob.id}:follow", headers=alice.auth, json={"languages": ["hi"]})
    assert twice.status_code == 200
    seen = client.get(f"/v1/users/{bob.id}", headers=alice.auth).json()
    assert seen["followed_by_me"] is True and seen["follower_count"] == "1"
    me = client.get("/v1/users/me", headers=alice.auth).json()
    assert me["following_count"] == "1"
    assert client.post(f"/v1/users/{bob.id}:unfollow", headers=alice.auth).status_code == 200
    seen = client.get(f"/v1/users/{bob.id}", headers=alice.auth).json()
    assert seen["followed_by_me"] is False and seen["follower_count"] == "0"


def test_follow_languages_are_checked(client: httpx.Client, alice: Account, bob: Account) -> None:
    bad = client.post(f"/v1/users/{bob.id}:follow", headers=alice.auth, json={"languages": "hi"})
    assert bad.status_code == 400 and "languages" in violations(bad)


def test_follow_someone_missing_is_404(client: httpx.Client, alice: Account) -> None:
    missing = client.post("/v1/users/99999999:follow", headers=alice.auth)
    assert missing.status_code == 404


def test_blocked_users_cannot_follow(client: httpx.Client, alice: Account, bob: Account) -> None:
    assert client.post(f"/v1/users/{bob.id}:block", headers=alice.auth).status_code == 200
    denied = client.post(f"/v1/users/{alice.id}:follow", headers=bob.auth)
    assert denied.status_code == 403
    assert error_of(denied)["status"] == "PERMISSION_DENIED"
    assert client.post(f"/v1/users/{bob.id}:unblock", headers=alice.auth).status_code == 200
    assert client.post(f"/v1/users/{alice.id}:follow", headers=bob.auth).status_code == 200


def test_mute_and_unmute(client: httpx.Client, alice: Account, bob: Account) -> None:
    assert client.post(f"/v1/users/{bob.id}:mute", headers=alice.auth).status_code == 200
    assert client.post(f"/v1/users/{bob.id}:unmute", headers=alice.auth).status_code == 200


def test_followers_and_following_are_paged(client: httpx.Client) -> None:
    star = register(client)
    fans = [register(client) for _ in range(3)]
    for fan in fans:
        assert client.post(f"/v1/users/{star.id}:follow", headers=fan.auth).status_code == 200

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = client.get(
            f"/v1/users/{star.id}/followers", headers=star.auth, params={"page_size": 2, "page_token": token}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"users", "next_page_token"}
        seen += [u["id"] for u in body["users"]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    assert pages == 2
    assert seen == [f.id for f in reversed(fans)]  # newest follow first
    # `me` in the path, and an empty list still prints its page token.
    mine = client.get("/v1/users/me/followers", headers=star.auth, params={"page_size": 10}).json()
    assert len(mine["users"]) == 3 and mine["next_page_token"] == ""
    following = client.get(f"/v1/users/{fans[0].id}/following", headers=star.auth).json()
    assert [u["id"] for u in following["users"]] == [star.id]
    nobody = client.get("/v1/users/me/following", headers=star.auth).json()
    assert nobody == {"users": [], "next_page_token": ""}


def test_bad_paging_parameters(client: httpx.Client, alice: Account) -> None:
    token = client.get("/v1/users/me/followers", headers=alice.auth, params={"page_token": "garbage!"})
    assert token.status_code == 400 and "page_token" in violations(token)
    size = client.get("/v1/users/me/followers", headers=alice.auth, params={"page_size": "many"})
    assert size.status_code == 400 and "page_size" in violations(size)
    negative = client.get("/v1/users/me/followers", headers=alice.auth, params={"page_size": -1})
    assert negative.status_code == 400 and "page_size" in violations(negative)
    unknown = client.get("/v1/users/me/followers", headers=alice.auth, params={"sort": "oldest"})
    assert unknown.status_code == 400 and "sort" in violations(unknown)


def test_a_profile_tells_its_reader_whether_they_follow_block_or_mute(
    client: httpx.Client, alice: Account, bob: Account
) -> None:
    def flags() -> tuple[bool, bool, bool]:
        user = client.get(f"/v1/users/{bob.id}", headers=alice.auth).json()
        return user["followed_by_me"], user["blocked_by_me"], user["muted_by_me"]

    assert flags() == (False, False, False)
    assert client.post(f"/v1/users/{bob.id}:follow", headers=alice.auth).status_code == 200
    assert client.post(f"/v1/users/{bob.id}:mute", headers=alice.auth).status_code == 200
    assert flags() == (True, False, True)
    by_handle = client.get(f"/v1/handles/{bob.handle}", headers=alice.auth).json()
    assert (by_handle["followed_by_me"], by_handle["muted_by_me"]) == (True, True)
    assert client.post(f"/v1/users/{bob.id}:block", headers=alice.auth).status_code == 200
    assert flags()[1] is True
    # Only the reader's own view: Bob reading Alice sees none of it.
    alice_seen = client.get(f"/v1/users/{alice.id}", headers=bob.auth).json()
    assert (alice_seen["blocked_by_me"], alice_seen["muted_by_me"]) == (False, False)
    assert client.post(f"/v1/users/{bob.id}:unblock", headers=alice.auth).status_code == 200
    assert client.post(f"/v1/users/{bob.id}:unmute", headers=alice.auth).status_code == 200
    assert flags()[1:] == (False, False)
