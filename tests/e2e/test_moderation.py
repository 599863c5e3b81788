"""Reports, moderation, suspensions, appeals, the audit log and the compliance report,
over HTTP against the platform as `koo up` runs it; moderators are made with the CLI.

Removal and suspension act through events (feeds, search, trends), so reads are awaited
with a deadline; nothing here measures how fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, Account, error_of, reason, register, violations
from tests.e2e.platform import Platform
from tests.e2e.test_feeds_search import eventually


def koo(platform: Platform, *args: str) -> str:
    """Run the `koo` command against the platform's database."""
    done = subprocess.run(
        [sys.executable, "-m", "koo_cli.main", *args],
        env={**platform.env, "KOO_OPERATOR": "e2e"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.fixture
def moderator(client: httpx.Client, platform: Platform) -> Account:
    account = register(client, display_name="Moderator")
    assert "now a moderator" in koo(platform, "moderator", "grant", account.handle, "--reason", "e2e")
    return account


def _post(client: httpx.Client, who: Account, text: str, **extra: str) -> dict[str, Any]:
    answer = client.post("/v1/posts", headers=who.auth, json={"text": text, **extra})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _report(client: httpx.Client, who: Account, **body: Any) -> httpx.Response:
    answer = client.post("/v1/reports", headers=who.auth, json=body)
    return answer


def test_reports_one_per_reporter_per_target_and_their_status(client: httpx.Client) -> None:
    author, reporter = register(client), register(client)
    post = _post(client, author, "बुरी बात")
    made = _report(client, reporter, post_id=post["id"], reason="abuse", note="गाली दी")
    assert made.status_code == 201, made.text
    report = made.json()
    assert (report["post_id"], report["user_id"], report["reason"], report["status"]) == (
        post["id"],
        author.id,
        "abuse",
        "open",
    )
    again = _report(client, reporter, post_id=post["id"], reason="spam")
    assert again.status_code == 409 and reason(again) == "ALREADY_REPORTED"
    account = _report(client, reporter, user_id=author.id, reason="impersonation")
    assert account.status_code == 201 and account.json()["post_id"] == "0"
    mine = client.get("/v1/reports", headers=reporter.auth).json()
    assert [r["id"] for r in mine["reports"]] == [account.json()["id"], report["id"]]
    assert client.get("/v1/reports", headers=author.auth).json()["reports"] == []


def test_bad_reports_are_named(client: httpx.Client) -> None:
    author, reporter = register(client), register(client)
    post = _post(client, author, "ठीक है")
    assert "reason" in violations(_report(client, reporter, post_id=post["id"]))
    assert "reason" in violations(_report(client, reporter, post_id=post["id"], reason="boring"))
    both = _report(client, reporter, post_id=post["id"], user_id=author.id, reason="spam")
    assert both.status_code == 400 and "post_id" in violations(both)
    assert _report(client, reporter, reason="spam").status_code == 400
    assert _report(client, reporter, post_id="99999999", reason="spam").status_code == 404
    assert _report(client, author, post_id=post["id"], reason="spam").status_code == 400
    long_note = _report(client, reporter, post_id=post["id"], reason="other", note="x" * 1001)
    assert long_note.status_code == 400 and "note" in violations(long_note)
    assert client.post("/v1/reports", json={"user_id": author.id, "reason": "spam"}).status_code == 401


def test_non_moderators_get_403_on_every_moderation_call(client: httpx.Client) -> None:
    someone, other = register(client), register(client)
    post = _post(client, other, "कुछ")
    calls = [
        ("GET", "/v1/moderation/queue", None),
        ("GET", "/v1/moderation/audit", None),
        ("POST", f"/v1/moderation/posts/{post['id']}:remove", {"policy": "spam", "reason": "x"}),
        ("POST", f"/v1/moderation/posts/{post['id']}:restore", {"reason": "x"}),
        ("POST", f"/v1/moderation/users/{other.id}:suspend", {"policy": "spam", "reason": "x"}),
        ("POST", f"/v1/moderation/users/{other.id}:liftSuspension", {"reason": "x"}),
        ("POST", "/v1/moderation/reports:dismiss", {"post_id": post["id"], "reason": "x"}),
        ("POST", "/v1/moderation/actions/1:decideAppeal", {"reverse": True, "reason": "x"}),
    ]
    for method, path, body in calls:
        answer = client.request(method, path, headers=someone.auth, json=body)
        assert answer.status_code == 403, (path, answer.text)
        assert reason(answer) == "NOT_MODERATOR"
        assert client.request(method, path, json=body).status_code == 401
    # The post is untouched.
    assert client.get(f"/v1/posts/{post['id']}", headers=someone.auth).status_code == 200


def test_queue_is_gravest_first_then_oldest(client: httpx.Client, moderator: Account) -> None:
    author = register(client)
    spam, threat, abuse = (_post(client, author, t) for t in ("खरीदो", "धमकी", "गाली"))
    reporters = [register(client) for _ in range(2)]
    assert _report(client, reporters[0], post_id=spam["id"], reason="spam").status_code == 201
    assert _report(client, reporters[0], post_id=abuse["id"], reason="abuse").status_code == 201
    assert _report(client, reporters[0], post_id=threat["id"], reason="violence").status_code == 201
    assert _report(client, reporters[1], post_id=abuse["id"], reason="hate", note="जाति पर").status_code == 201
    items = []
    token = ""
    while True:
        page = client.get(
            "/v1/moderation/queue", headers=moderator.auth, params={"page_size": 2, "page_token": token}
        ).json()
        items += page["items"]
        token = page["next_page_token"]
        if not token:
            break
    mine = [i for i in items if i["post_id"] in (spam["id"], threat["id"], abuse["id"])]
    assert [i["post_id"] for i in mine] == [threat["id"], abuse["id"], spam["id"]]
    assert mine[1]["report_count"] == "2" and mine[1]["reasons"] == ["hate", "abuse"] and mine[1]["severity"] == 4
    assert mine[1]["notes"] == ["जाति पर"] and mine[1]["user_id"] == author.id
    severities = [i["severity"] for i in items]
    assert severities == sorted(severities, reverse=True)


def test_removed_post_is_gone_from_every_read_path(client: httpx.Client, moderator: Account) -> None:
    author, follower, reporter = register(client), register(client), register(client)
    assert client.post(f"/v1/users/{author.id}:follow", headers=follower.auth).status_code == 200
    word = f"घृणा{uuid.uuid4().hex[:8]}"
    tag = f"नफरत{uuid.uuid4().hex[:6]}"
    parent = _post(client, follower, "मूल पोस्ट")
    post = _post(client, author, f"{word} #{tag}", language="hi")
    reply = _post(client, author, f"{word} जवाब", reply_to_id=parent["id"])
    liked = client.post(f"/v1/posts/{post['id']}:like", headers=follower.auth)
    assert liked.status_code == 200
    repost = _post(client, follower, "", repost_of_id=post["id"])

    def everywhere(post_id: str) -> dict[str, bool]:
        home = client.get("/v1/feed/home", headers=follower.auth).json()["posts"]
        timeline = client.get(f"/v1/users/{author.id}/posts", headers=follower.auth).json()["posts"]
        found = client.get("/v1/search/posts", headers=follower.auth, params={"q": word}).json()["posts"]
        tags = client.get("/v1/trends/hashtags", headers=follower.auth, params={"language": "hi", "limit": 50})
        return {
            "home": any(post_id in (p["id"], p["repost_of_id"]) for p in home),
            "timeline": any(p["id"] == post_id for p in timeline),
            "search": any(p["id"] == post_id for p in found),
            "trend": any(h["tag"] == tag for h in tags.json()["hashtags"]),
        }

    eventually(lambda: all(everywhere(post["id"]).values()))
    eventually(lambda: any(p["id"] == reply["id"] for p in _replies(client, follower, parent["id"])))
    assert _report(client, reporter, post_id=post["id"], reason="hate", note="नफरत").status_code == 201

    removed = client.post(
        f"/v1/moderation/posts/{post['id']}:remove",
        headers=moderator.auth,
        json={"policy": "hate", "reason": "hate speech against a community"},
    )
    assert removed.status_code == 200, removed.text
    action = removed.json()
    assert (action["kind"], action["user_id"], action["appeal_status"]) == ("remove_post", author.id, "not_appealed")
    assert (
        client.post(
            f"/v1/moderation/posts/{reply['id']}:remove",
            headers=moderator.auth,
            json={"policy": "hate", "reason": "same"},
        ).status_code
        == 200
    )

    # Direct reads answer 404 at once, for everyone including the author.
    for who in (follower, author, moderator):
        assert client.get(f"/v1/posts/{post['id']}", headers=who.auth).status_code == 404
        assert client.get(f"/v1/posts/{reply['id']}", headers=who.auth).status_code == 404
    assert client.get(f"/v1/posts/{repost['id']}", headers=follower.auth).status_code == 404
    batch = client.get("/v1/posts:batchGet", headers=follower.auth, params={"post_ids": [post["id"], reply["id"]]})
    assert batch.status_code == 200 and batch.json()["posts"] == []
    assert client.get(f"/v1/posts/{post['id']}/replies", headers=follower.auth).status_code == 404
    assert client.post(f"/v1/posts/{post['id']}:like", headers=reporter.auth).status_code == 404
    assert (
        client.post("/v1/posts", headers=reporter.auth, json={"text": "x", "reply_to_id": post["id"]}).status_code
        == 404
    )
    assert all(p["id"] != reply["id"] for p in _replies(client, follower, parent["id"]))
    # Derived reads follow within seconds.
    eventually(lambda: not any(everywhere(post["id"]).values()))
    assert client.get(f"/v1/posts/{parent['id']}", headers=follower.auth).json()["reply_count"] == "0"
    # The like it got is no longer notified; the author is told instead.
    entries = client.get("/v1/notifications", headers=author.auth).json()["notifications"]
    assert not any(e["kind"] in ("like", "repost") for e in entries)
    eventually(lambda: any(e["kind"] == "moderation" for e in _notifications(client, author)))
    # The reporter sees the outcome; the author sees what and why.
    assert client.get("/v1/reports", headers=reporter.auth).json()["reports"][0]["status"] == "actioned"
    told = client.get("/v1/moderationActions", headers=author.auth).json()["actions"]
    assert {(a["post_id"], a["policy"]) for a in told} == {(post["id"], "hate"), (reply["id"], "hate")}
    assert any(a["reason"] == "hate speech against a community" for a in told)


def _replies(client: httpx.Client, who: Account, post_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/posts/{post_id}/replies", headers=who.auth).json()["posts"])


def _notifications(client: httpx.Client, who: Account) -> list[dict[str, Any]]:
    return list(client.get("/v1/notifications", headers=who.auth).json()["notifications"])


def test_appeal_once_returns_to_the_queue_and_reversal_restores(client: httpx.Client, moderator: Account) -> None:
    author, reader = register(client), register(client)
    post = _post(client, author, "मेरी राय")
    action = client.post(
        f"/v1/moderation/posts/{post['id']}:remove",
        headers=moderator.auth,
        json={"policy": "misinformation", "reason": "false claim"},
    ).json()
    assert client.get(f"/v1/posts/{post['id']}", headers=reader.auth).status_code == 404
    stranger = client.post(f"/v1/moderationActions/{action['id']}:appeal", headers=reader.auth, json={"note": "x"})
    assert stranger.status_code == 404
    empty = client.post(f"/v1/moderationActions/{action['id']}:appeal", headers=author.auth, json={"note": " "})
    assert empty.status_code == 400 and "note" in violations(empty)
    appealed = client.post(
        f"/v1/moderationActions/{action['id']}:appeal", headers=author.auth, json={"note": "यह सच है, स्रोत देखें"}
    )
    assert appealed.status_code == 200 and appealed.json()["appeal_status"] == "pending"
    twice = client.post(f"/v1/moderationActions/{action['id']}:appeal", headers=author.auth, json={"note": "फिर"})
    assert twice.status_code == 400 and reason(twice) == "ALREADY_APPEALED"
    queue = client.get("/v1/moderation/queue", headers=moderator.auth, params={"page_size": 100}).json()["items"]
    (item,) = [i for i in queue if i["kind"] == "appeal" and i["action"]["id"] == action["id"]]
    assert item["notes"] == ["यह सच है, स्रोत देखें"] and item["post_id"] == post["id"]

    decided = client.post(
        f"/v1/moderation/actions/{action['id']}:decideAppeal",
        headers=moderator.auth,
        json={"reverse": True, "reason": "source checks out"},
    )
    assert decided.status_code == 200 and decided.json()["appeal_status"] == "reversed"
    assert client.get(f"/v1/posts/{post['id']}", headers=reader.auth).status_code == 200
    again = client.post(
        f"/v1/moderation/actions/{action['id']}:decideAppeal", headers=moderator.auth, json={"reason": "x"}
    )
    assert again.status_code == 400 and reason(again) == "NO_PENDING_APPEAL"
    eventually(
        lambda: any(
            p["id"] == post["id"]
            for p in client.get(f"/v1/users/{author.id}/posts", headers=reader.auth).json()["posts"]
        )
    )


def test_suspension_ends_sessions_hides_posts_and_refuses_sign_in(client: httpx.Client, moderator: Account) -> None:
    target, reader = register(client), register(client)
    post = _post(client, target, "मैं यहाँ हूँ")
    assert client.get("/v1/users/me", headers=target.auth).status_code == 200
    suspended = client.post(
        f"/v1/moderation/users/{target.id}:suspend",
        headers=moderator.auth,
        json={"policy": "abuse", "reason": "repeated harassment", "duration_hours": 48},
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["kind"] == "suspend_user" and suspended.json()["suspended_until"]
    # The access token issued before stops working on every call.
    for path in ("/v1/users/me", "/v1/feed/home", "/v1/notifications"):
        answer = client.get(path, headers=target.auth)
        assert answer.status_code == 401 and reason(answer) == "ACCOUNT_SUSPENDED", (path, answer.text)
    assert client.post("/v1/posts", headers=target.auth, json={"text": "फिर से"}).status_code == 401
    refreshed = client.post("/v1/sessions:refresh", json={"refresh_token": target.refresh_token})
    assert refreshed.status_code in (401, 403)
    signin = client.post("/v1/sessions", json={"handle": target.handle, "password": PASSWORD})
    assert signin.status_code == 403 and reason(signin) == "ACCOUNT_SUSPENDED"
    assert "suspended until" in error_of(signin)["message"] and "repeated harassment" in error_of(signin)["message"]
    wrong = client.post("/v1/sessions", json={"handle": target.handle, "password": "not the password"})
    assert wrong.status_code == 401  # a suspension is told only to the holder
    # Their posts are hidden.
    eventually(lambda: client.get(f"/v1/posts/{post['id']}", headers=reader.auth).status_code == 404)
    assert client.get(f"/v1/users/{target.id}/posts", headers=reader.auth).json()["posts"] == []

    lifted = client.post(
        f"/v1/moderation/users/{target.id}:liftSuspension", headers=moderator.auth, json={"reason": "served"}
    )
    assert lifted.status_code == 200 and lifted.json()["kind"] == "lift_suspension"
    twice = client.post(
        f"/v1/moderation/users/{target.id}:liftSuspension", headers=moderator.auth, json={"reason": "again"}
    )
    assert twice.status_code == 400 and reason(twice) == "NOT_SUSPENDED"
    signin = client.post("/v1/sessions", json={"handle": target.handle, "password": PASSWORD})
    assert signin.status_code == 200
    fresh = {"authorization": f"Bearer {signin.json()['access_token']}"}
    assert client.get("/v1/users/me", headers=fresh).status_code == 200
    eventually(lambda: client.get(f"/v1/posts/{post['id']}", headers=reader.auth).status_code == 200)


def test_bad_moderation_requests_are_named(client: httpx.Client, moderator: Account) -> None:
    someone = register(client)
    post = _post(client, someone, "ठीक")
    no_reason = client.post(
        f"/v1/moderation/posts/{post['id']}:remove", headers=moderator.auth, json={"policy": "spam"}
    )
    assert no_reason.status_code == 400 and "reason" in violations(no_reason)
    no_policy = client.post(f"/v1/moderation/posts/{post['id']}:remove", headers=moderator.auth, json={"reason": "x"})
    assert no_policy.status_code == 400 and "policy" in violations(no_policy)
    missing = client.post(
        "/v1/moderation/posts/99999999:remove", headers=moderator.auth, json={"policy": "spam", "reason": "x"}
    )
    assert missing.status_code == 404
    hours = client.post(
        f"/v1/moderation/users/{someone.id}:suspend",
        headers=moderator.auth,
        json={"policy": "spam", "reason": "x", "duration_hours": -1},
    )
    assert hours.status_code == 400 and "duration_hours" in violations(hours)
    not_removed = client.post(
        f"/v1/moderation/posts/{post['id']}:restore", headers=moderator.auth, json={"reason": "x"}
    )
    assert not_removed.status_code == 200  # nothing to restore: unchanged
    nothing = client.post(
        "/v1/moderation/reports:dismiss", headers=moderator.auth, json={"post_id": post["id"], "reason": "x"}
    )
    assert nothing.status_code == 400 and reason(nothing) == "NO_OPEN_REPORTS"


def test_dismissal_audit_log_and_compliance_report(
    client: httpx.Client, moderator: Account, platform: Platform
) -> None:
    month = datetime.now(UTC).strftime("%Y-%m")
    before = json.loads(koo(platform, "report", "compliance", "--month", month, "--format", "json"))
    author, reporter = register(client), register(client)
    post = _post(client, author, "शायद ठीक")
    assert _report(client, reporter, post_id=post["id"], reason="spam").status_code == 201
    assert _report(client, reporter, user_id=author.id, reason="illegal").status_code == 201
    dismissed = client.post(
        "/v1/moderation/reports:dismiss", headers=moderator.auth, json={"post_id": post["id"], "reason": "not spam"}
    )
    assert dismissed.status_code == 200 and dismissed.json()["kind"] == "dismiss_reports"
    assert client.get("/v1/reports", headers=reporter.auth).json()["reports"][1]["status"] == "dismissed"
    assert (
        client.post(
            f"/v1/moderation/users/{author.id}:suspend",
            headers=moderator.auth,
            json={"policy": "illegal", "reason": "unlawful content"},
        ).status_code
        == 200
    )

    audit = client.get("/v1/moderation/audit", headers=moderator.auth, params={"page_size": 100}).json()["entries"]
    lines = [(e["action"], e["target"], e["actor"], e["reason"]) for e in audit]
    assert ("user.suspend", f"user:{author.id}", f"user:{moderator.id}", "unlawful content") in lines
    assert ("reports.dismiss", f"post:{post['id']}", f"user:{moderator.id}", "not spam") in lines
    assert any(a == "moderator.grant" and r == "e2e" and actor == "cli:e2e" for a, _, actor, r in lines)

    after = json.loads(koo(platform, "report", "compliance", "--month", month, "--format", "json"))
    assert after["complaints_received"] - before["complaints_received"] == 2
    assert after["complaints_by_reason"]["spam"] - before["complaints_by_reason"]["spam"] == 1
    assert (
        after["complaints_by_reason"]["illegal_under_indian_law"]
        - before["complaints_by_reason"]["illegal_under_indian_law"]
        == 1
    )
    assert after["actions_taken"]["suspend_user"] - before["actions_taken"]["suspend_user"] == 1
    assert after["actions_taken"]["dismiss_reports"] - before["actions_taken"]["dismiss_reports"] == 1
    assert after["complaints_resolved"]["dismissed"] - before["complaints_resolved"]["dismissed"] == 1
    assert after["median_seconds_to_action"] is not None
    table = koo(platform, "report", "compliance", "--month", month)
    assert "complaints received" in table and "median time to action" in table
    bad = subprocess.run(
        [sys.executable, "-m", "koo_cli.main", "report", "compliance", "--month", "November"],
        env=platform.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "YYYY-MM" in bad.stderr


def test_audit_log_cannot_be_changed(platform: Platform, moderator: Account) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    from services.kit.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(platform.env["KOO_DATABASE_URL"]))
    try:
        for statement in (
            "UPDATE koo_user.audit_log SET reason = 'forged'",
            "DELETE FROM koo_user.audit_log",
            "TRUNCATE koo_user.audit_log",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_moderator_role_is_not_granted_through_the_api(client: httpx.Client) -> None:
    someone = register(client)
    for attempt in (
        client.patch("/v1/users/me", headers=someone.auth, json={"moderator": True}),
        client.post("/v1/moderators", headers=someone.auth, json={"user_id": someone.id}),
    ):
        assert attempt.status_code in (400, 404, 405)
    assert client.get("/v1/moderation/queue", headers=someone.auth).status_code == 403
