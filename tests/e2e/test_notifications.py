"""Notifications over HTTP: what causes them, grouping, paging, read marks, withdrawal,
and that nothing from a blocked or muted account shows (skipped while not built).

Notifications are written by the feed worker from events, so tests wait with a deadline.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.e2e.conftest import Account, reason, register, violations
from tests.e2e.platform import Platform
from tests.e2e.test_feeds_search import eventually


def _post(client: httpx.Client, who: Account, text: str, **extra: str) -> dict[str, Any]:
    answer = client.post("/v1/posts", headers=who.auth, json={"text": text, **extra})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _entries(client: httpx.Client, who: Account, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/v1/notifications", headers=who.auth, params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["notifications"])


def _unread(client: httpx.Client, who: Account) -> int:
    answer = client.get("/v1/notifications:unreadCount", headers=who.auth)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["unread_count"])


def _settles(client: httpx.Client, who: Account, count: int) -> list[dict[str, Any]]:
    """The entries once there are `count` of them."""

    def check() -> tuple[list[dict[str, Any]]] | None:
        entries = _entries(client, who)
        return (entries,) if len(entries) == count else None

    return eventually(check)[0]


def test_reply_and_like_notify_the_author_newest_first_until_read(client: httpx.Client) -> None:
    asha, ravi = register(client, display_name="Asha"), register(client, display_name="Ravi")
    post = _post(client, asha, "मेरी पहली पोस्ट")
    reply = _post(client, ravi, "बहुत बढ़िया", reply_to_id=post["id"])
    assert client.post(f"/v1/posts/{post['id']}:like", headers=ravi.auth).status_code == 200

    like, replied = _settles(client, asha, 2)
    assert (like["kind"], replied["kind"]) == ("like", "reply")
    assert like["summary"] == "Ravi liked your post" and replied["summary"] == "Ravi replied to your post"
    assert like["post_id"] == post["id"] and replied["post_id"] == post["id"]
    assert replied["latest_post_id"] == reply["id"]
    assert like["actors"][0]["handle"] == ravi.handle and like["actor_count"] == "1"
    assert like["unread"] and replied["unread"]
    assert int(like["id"]) > int(replied["id"])
    assert _unread(client, asha) == 2

    # Read up to the reply: the like stays unread; then everything.
    marked = client.post("/v1/notifications:markRead", headers=asha.auth, json={"up_to_id": replied["id"]})
    assert marked.status_code == 200 and marked.json()["unread_count"] == "1"
    assert [e["unread"] for e in _entries(client, asha)] == [True, False]
    marked = client.post("/v1/notifications:markRead", headers=asha.auth, json={})
    assert marked.json()["unread_count"] == "0" and _unread(client, asha) == 0
    # Ravi heard nothing about his own actions.
    assert _entries(client, ravi) == []


def test_many_likers_are_one_entry(client: httpx.Client) -> None:
    author = register(client)
    post = _post(client, author, "सब पसंद करें")
    fans = [register(client, display_name=f"Fan {i}") for i in range(3)]
    for fan in fans:
        assert client.post(f"/v1/posts/{post['id']}:like", headers=fan.auth).status_code == 200
    eventually(lambda: _entries(client, author) and _entries(client, author)[0]["actor_count"] == "3")
    (entry,) = _entries(client, author)
    assert entry["summary"] == "Fan 2 and 2 others liked your post"
    assert [a["display_name"] for a in entry["actors"]] == ["Fan 2", "Fan 1", "Fan 0"]
    assert _unread(client, author) == 1


def test_follow_mention_and_repost_notify(client: httpx.Client) -> None:
    star, fan = register(client, display_name="Star"), register(client, display_name="Fan")
    assert client.post(f"/v1/users/{star.id}:follow", headers=fan.auth).status_code == 200
    post = _post(client, star, "नया गाना")
    _post(client, fan, f"सुनो @{star.handle}")
    repost = _post(client, fan, "", repost_of_id=post["id"])
    entries = _settles(client, star, 3)
    assert [e["kind"] for e in entries] == ["repost", "mention", "follow"]
    assert entries[0]["post_id"] == post["id"] and entries[0]["latest_post_id"] == repost["id"]
    assert entries[1]["summary"] == "Fan mentioned you" and entries[2]["summary"] == "Fan followed you"


def test_undoing_the_cause_withdraws_the_notification(client: httpx.Client) -> None:
    author, other = register(client), register(client)
    post = _post(client, author, "वापस लो")
    assert client.post(f"/v1/posts/{post['id']}:like", headers=other.auth).status_code == 200
    assert client.post(f"/v1/users/{author.id}:follow", headers=other.auth).status_code == 200
    reply = _post(client, other, "जवाब", reply_to_id=post["id"])
    _settles(client, author, 3)

    assert client.post(f"/v1/posts/{post['id']}:unlike", headers=other.auth).status_code == 200
    assert client.post(f"/v1/users/{author.id}:unfollow", headers=other.auth).status_code == 200
    assert client.delete(f"/v1/posts/{reply['id']}", headers=other.auth).status_code == 200
    _settles(client, author, 0)
    assert _unread(client, author) == 0


def test_deleting_the_post_withdraws_everything_about_it(client: httpx.Client) -> None:
    author, other = register(client), register(client)
    post = _post(client, author, "जल्द ही हटेगी")
    assert client.post(f"/v1/posts/{post['id']}:like", headers=other.auth).status_code == 200
    _post(client, other, "जवाब", reply_to_id=post["id"])
    _settles(client, author, 2)
    assert client.delete(f"/v1/posts/{post['id']}", headers=author.auth).status_code == 200
    _settles(client, author, 0)


def test_nothing_from_blocked_or_muted_accounts(client: httpx.Client) -> None:
    reader, blocked, muted, friend = register(client), register(client), register(client), register(client)
    post = _post(client, reader, "कौन देखेगा")
    for who in (blocked, muted, friend):
        assert client.post(f"/v1/posts/{post['id']}:like", headers=who.auth).status_code == 200
    eventually(lambda: _entries(client, reader) and _entries(client, reader)[0]["actor_count"] == "3")
    assert client.post(f"/v1/users/{blocked.id}:block", headers=reader.auth).status_code == 200
    assert client.post(f"/v1/users/{muted.id}:mute", headers=reader.auth).status_code == 200

    def only_friend() -> list[dict[str, Any]] | None:
        entries = _entries(client, reader)
        return entries if [a["id"] for e in entries for a in e["actors"]] == [friend.id] else None

    (entry,) = eventually(only_friend)
    assert entry["actor_count"] == "1"
    # Later activity of the blocked and the muted does not show either.
    _post(client, muted, f"@{reader.handle} सुनो")
    _post(client, blocked, f"@{reader.handle} सुनो")
    _post(client, friend, f"@{reader.handle} देखो")
    eventually(lambda: len(_entries(client, reader)) == 2)
    entries = _entries(client, reader)
    assert {a["id"] for e in entries for a in e["actors"]} == {friend.id}
    assert _unread(client, reader) == 2


def test_pages_are_cursor_paged(client: httpx.Client) -> None:
    author = register(client)
    posts = [_post(client, author, f"पोस्ट {i}") for i in range(3)]
    fan = register(client)
    for post in posts:
        assert client.post(f"/v1/posts/{post['id']}:like", headers=fan.auth).status_code == 200
    _settles(client, author, 3)
    first = client.get("/v1/notifications", headers=author.auth, params={"page_size": 2}).json()
    assert len(first["notifications"]) == 2 and first["next_page_token"]
    second = client.get(
        "/v1/notifications", headers=author.auth, params={"page_size": 2, "page_token": first["next_page_token"]}
    ).json()
    assert len(second["notifications"]) == 1 and second["next_page_token"] == ""
    seen = [e["post_id"] for e in first["notifications"] + second["notifications"]]
    assert seen == [p["id"] for p in reversed(posts)]


def test_bad_requests_are_named(client: httpx.Client) -> None:
    who = register(client)
    assert client.get("/v1/notifications").status_code == 401
    bad = client.get("/v1/notifications", headers=who.auth, params={"page_token": "nonsense"})
    assert bad.status_code == 400 and "page_token" in violations(bad)
    bad = client.post("/v1/notifications:markRead", headers=who.auth, json={"up_to_id": "-1"})
    assert bad.status_code == 400 and "up_to_id" in violations(bad)


class EventStream:
    """Reads server-sent events from an open `GET /v1/notifications:stream`."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next_event(self) -> tuple[str, dict[str, Any]]:
        """The next event's id and data (keep-alive comments are skipped)."""
        event_id, data = "", ""
        for line in self.lines:
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                return event_id, json.loads(data)
        raise AssertionError("the stream ended")


def test_live_stream_delivers_new_notifications_and_resumes(client: httpx.Client, platform: Platform) -> None:
    author, fan = register(client, display_name="Author"), register(client, display_name="Fan")
    first, second, third = (_post(client, author, f"पोस्ट {i}") for i in range(3))
    probe = client.get("/v1/notifications:stream", headers=author.auth, params={"after_id": "x"})
    assert probe.status_code == 400 and "after_id" in violations(probe)
    assert client.get("/v1/notifications:stream").status_code == 401

    with httpx.Client(base_url=platform.base_url, timeout=60) as streaming:
        with streaming.stream("GET", "/v1/notifications:stream", headers=author.auth) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = EventStream(response)
            assert client.post(f"/v1/posts/{first['id']}:like", headers=fan.auth).status_code == 200
            event_id, data = events.next_event()
        assert data["notification"]["kind"] == "like" and data["notification"]["post_id"] == first["id"]
        assert data["notification"]["summary"] == "Fan liked your post" and data["unread_count"] == "1"
        assert event_id == data["notification"]["id"] == data["event_id"]

        # Offline meanwhile: the reconnect with Last-Event-ID gets what it missed, oldest first.
        assert client.post(f"/v1/posts/{second['id']}:like", headers=fan.auth).status_code == 200
        assert client.post(f"/v1/posts/{third['id']}:like", headers=fan.auth).status_code == 200
        _settles(client, author, 3)
        resumed = {**author.auth, "Last-Event-ID": event_id}
        with streaming.stream("GET", "/v1/notifications:stream", headers=resumed) as response:
            events = EventStream(response)
            missed = [events.next_event()[1]["notification"]["post_id"] for _ in range(2)]
    assert missed == [second["id"], third["id"]]


def test_push_devices_over_http(client: httpx.Client) -> None:
    who = register(client)
    missing = client.post("/v1/notifications/devices", headers=who.auth, json={"token": "fcm-token"})
    assert missing.status_code == 400 and "platform" in violations(missing)
    # The test platform has no SNS applications: registering says so (SNS itself is tested
    # against moto in tests/integration/test_push_sns.py).
    off = client.post("/v1/notifications/devices", headers=who.auth, json={"platform": "android", "token": "t"})
    assert off.status_code == 400 and reason(off) == "PUSH_NOT_CONFIGURED"
    assert client.delete("/v1/notifications/devices/12345", headers=who.auth).status_code == 404
