"""Accounts and sessions over HTTP: docs/api.md's first table."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import PASSWORD, Account, error_of, reason, register, unique_handle, violations

USER_FIELDS = {
    "id",
    "handle",
    "display_name",
    "bio",
    "languages",
    "verified",
    "follower_count",
    "following_count",
    "post_count",
    "created_at",
    "followed_by_me",
    "blocked_by_me",
    "muted_by_me",
}


def test_register_answers_201_with_the_user(client: httpx.Client) -> None:
    handle = unique_handle("Asha")
    created = client.post(
        "/v1/users",
        json={"handle": handle, "password": PASSWORD, "display_name": "आशा", "languages": ["hi", "en"]},
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert set(user) == USER_FIELDS
    assert user["handle"] == handle
    assert user["display_name"] == "आशा"
    assert user["languages"] == ["hi", "en"]
    assert isinstance(user["id"], str) and user["id"].isdigit()
    assert (user["follower_count"], user["following_count"], user["post_count"]) == ("0", "0", "0")
    assert user["bio"] == "" and user["verified"] is False
    assert created.headers["content-type"].startswith("application/json")
    assert created.headers["x-request-id"]


def test_handles_are_unique_regardless_of_case(client: httpx.Client, alice: Account) -> None:
    again = client.post("/v1/users", json={"handle": alice.handle.upper(), "password": PASSWORD, "display_name": "x"})
    assert again.status_code == 409
    assert error_of(again)["status"] == "ALREADY_EXISTS"


def test_register_names_each_bad_field(client: httpx.Client) -> None:
    bad = client.post("/v1/users", json={"handle": "x", "password": "short", "display_name": "ok", "languages": ["xx"]})
    assert bad.status_code == 400
    assert {"handle", "password"} <= set(violations(bad))
    assert error_of(bad)["status"] == "INVALID_ARGUMENT"


def test_malformed_and_mistyped_bodies_are_400s(client: httpx.Client) -> None:
    broken = client.post("/v1/users", content=b'{"handle": ', headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "body" in violations(broken)
    mistyped = client.post("/v1/users", json={"handle": 12, "password": PASSWORD, "display_name": "x"})
    assert mistyped.status_code == 400 and "handle" in violations(mistyped)
    unknown = client.post(
        "/v1/users", json={"handle": unique_handle(), "password": PASSWORD, "display_name": "x", "admin": True}
    )
    assert unknown.status_code == 400 and "admin" in violations(unknown)
    not_utf8 = client.post("/v1/users", content=b'{"handle": "\xff\xfe"}', headers={"content-type": "application/json"})
    assert not_utf8.status_code == 400 and "body" in violations(not_utf8)
    nul = client.post("/v1/users", json={"handle": unique_handle(), "password": PASSWORD, "display_name": "a\u0000"})
    assert nul.status_code == 400 and "display_name" in violations(nul)


def test_sign_in_answers_a_token_pair(client: httpx.Client, alice: Account) -> None:
    session = client.post("/v1/sessions", json={"handle": alice.handle.upper(), "password": PASSWORD})
    assert session.status_code == 200
    body = session.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer"
    assert int(body["expires_in"]) > 0
    assert body["user"]["id"] == alice.id
    assert session.headers["cache-control"] == "no-store"


def test_wrong_password_and_unknown_handle_look_the_same(client: httpx.Client, alice: Account) -> None:
    wrong = client.post("/v1/sessions", json={"handle": alice.handle, "password": "not the password"})
    unknown = client.post("/v1/sessions", json={"handle": unique_handle(), "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong)["message"] == error_of(unknown)["message"]


def test_refresh_rotates_and_the_old_token_stops_working(client: httpx.Client, alice: Account) -> None:
    fresh = client.post("/v1/sessions:refresh", json={"refresh_token": alice.refresh_token})
    assert fresh.status_code == 200, fresh.text
    pair = fresh.json()
    assert pair["refresh_token"] != alice.refresh_token and pair["token_type"] == "Bearer"
    me = client.get("/v1/users/me", headers={"authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == alice.id
    reused = client.post("/v1/sessions:refresh", json={"refresh_token": alice.refresh_token})
    assert reused.status_code == 401


def test_sign_out_ends_the_refresh_token(client: httpx.Client) -> None:
    account = register(client)
    out = client.delete("/v1/sessions/current", headers=account.auth)
    assert out.status_code == 200 and out.json() == {}
    again = client.post("/v1/sessions:refresh", json={"refresh_token": account.refresh_token})
    assert again.status_code == 401


def test_get_user_by_id_me_and_handle(client: httpx.Client, alice: Account, bob: Account) -> None:
    me = client.get("/v1/users/me", headers=alice.auth)
    assert me.status_code == 200 and me.json()["id"] == alice.id and set(me.json()) == USER_FIELDS
    other = client.get(f"/v1/users/{bob.id}", headers=alice.auth)
    assert other.status_code == 200 and other.json()["handle"] == bob.handle
    by_handle = client.get(f"/v1/handles/{bob.handle.upper()}", headers=alice.auth)
    assert by_handle.status_code == 200 and by_handle.json()["id"] == bob.id


def test_missing_users_and_non_numeric_ids(client: httpx.Client, alice: Account) -> None:
    missing = client.get("/v1/users/1234567", headers=alice.auth)
    assert missing.status_code == 404 and error_of(missing)["status"] == "NOT_FOUND"
    no_handle = client.get(f"/v1/handles/{unique_handle()}", headers=alice.auth)
    assert no_handle.status_code == 404
    words = client.get("/v1/users/abc", headers=alice.auth)
    assert words.status_code == 400 and "user_id" in violations(words)
    too_big = client.get(f"/v1/users/{2**64}", headers=alice.auth)
    assert too_big.status_code == 400 and "user_id" in violations(too_big)
    bad_utf8 = client.get("/v1/handles/%E0%A4", headers=alice.auth)
    assert bad_utf8.status_code == 400 and "handle" in violations(bad_utf8)


def test_update_profile_in_any_script(client: httpx.Client) -> None:
    account = register(client)
    changed = client.patch(
        "/v1/users/me",
        headers=account.auth,
        json={"display_name": "அருண்", "bio": "தமிழ் மற்றும் ಕನ್ನಡ", "languages": ["ta", "kn"]},
    )
    assert changed.status_code == 200, changed.text
    user = changed.json()
    assert (user["display_name"], user["bio"], user["languages"]) == ("அருண்", "தமிழ் மற்றும் ಕನ್ನಡ", ["ta", "kn"])
    # Only the fields sent change; echoing output-only fields back is harmless.
    again = client.patch("/v1/users/me", headers=account.auth, json={"bio": "", "id": user["id"], "post_count": "9"})
    assert again.status_code == 200
    assert again.json()["display_name"] == "அருண்" and again.json()["bio"] == ""
    bad = client.patch("/v1/users/me", headers=account.auth, json={"languages": ["klingon"]})
    assert bad.status_code == 400 and reason(bad)
    nothing = client.patch("/v1/users/me", headers=account.auth, json={})
    assert nothing.status_code == 400
