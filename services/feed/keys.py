"""Redis key names of the feed, in one place (a prefix lets tests run side by side)."""

from __future__ import annotations

from dataclasses import dataclass

from services.kit.readcache import CacheKeys


@dataclass(frozen=True, slots=True)
class FeedKeys:
    prefix: str = "koo"

    def home(self, user_id: int) -> str:
        """The home timeline: a sorted set of post ids scored by id."""
        return f"{self.prefix}:tl:home:{user_id}"

    def user(self, author_id: int) -> str:
        """An author's own timeline (top-level posts and re-koos): a sorted set like `home`."""
        return f"{self.prefix}:tl:user:{author_id}"

    def graph(self, user_id: int) -> str:
        """A reader's cached social graph (the user service forgets it too: one name, in kit)."""
        return CacheKeys(self.prefix).graph(user_id)

    def celebrity(self, author_id: int) -> str:
        """A celebrity's cached recent post refs."""
        return f"{self.prefix}:feed:celeb:{author_id}"

    def trend_bucket(self, language: str, hour: int) -> str:
        """Hashtag counts of one hour (unix hours) in one language (`all`: every language)."""
        return f"{self.prefix}:trend:{language}:{hour}"

    def trend_forms(self, hour: int) -> str:
        """Hashtag key -> the form first written in that hour (what trends show)."""
        return f"{self.prefix}:trend:forms:{hour}"

    def trend_ranking(self, language: str, hour: int, window: int) -> str:
        """The summed window, reused briefly by readers."""
        return f"{self.prefix}:trend:sum:{language}:{hour}:{window}"

    def applied(self, subject: str, effect: str) -> str:
        """Marks a non-idempotent effect as applied (redelivery applies it once)."""
        return f"{self.prefix}:feed:applied:{effect}:{subject}"
