"""The sentence an entry of the notification list reads as."""

from __future__ import annotations

from services.feed.notifications import FOLLOW, LIKE, MENTION, MODERATION, REPLY, REPOST, summary


def test_one_two_and_many_people() -> None:
    assert summary(LIKE, ["Asha"], 1) == "Asha liked your post"
    assert summary(LIKE, ["Asha", "Ravi"], 2) == "Asha and Ravi liked your post"
    assert summary(LIKE, ["Asha", "Ravi", "Meera"], 13) == "Asha and 12 others liked your post"
    assert summary(FOLLOW, ["Asha"], 2) == "Asha and 1 other followed you"


def test_every_kind_has_its_verb() -> None:
    assert summary(REPLY, ["रवि"], 1) == "रवि replied to your post"
    assert summary(REPOST, ["Asha"], 1) == "Asha re-kooed your post"
    assert summary(MENTION, ["Asha"], 1) == "Asha mentioned you"
    assert summary(LIKE, [], 1) == "Someone liked your post"


def test_moderation_names_post_or_account() -> None:
    assert "acted on your post" in summary(MODERATION, [], 0, post_id=5)
    assert "acted on your account" in summary(MODERATION, [], 0)
