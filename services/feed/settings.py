"""Settings of the feed service and the feed worker (one class: they must agree)."""

from __future__ import annotations

from pydantic import Field

from services.kit.settings import KitSettings


class FeedSettings(KitSettings):
    # Authors with more followers than this are not fanned out on write; their posts
    # are merged into readers' feeds at read time (KOO_FEED_CELEBRITY_THRESHOLD).
    feed_celebrity_threshold: int = Field(default=10_000, ge=0)
    # A follower who has not read their feed (nor registered or followed someone) for
    # this long gets no fanout; their timeline is rebuilt when they return.
    feed_active_window_days: float = Field(default=14.0, gt=0)
    # Entries per home timeline (sorted set).
    feed_timeline_cap: int = Field(default=800, ge=10)
    # Followers written per Redis pipeline during fanout.
    feed_fanout_batch: int = Field(default=1_000, ge=1)
    # Followers asked of the user service per page during fanout; the next page is
    # fetched while the current one is written (smaller pages overlap better).
    feed_follower_page: int = Field(default=2_000, ge=1, le=10_000)
    # How long a reader's social graph (follows, blocks, mutes) is cached. The feed worker
    # forgets it on every follow, block and mute event, so this bounds only how stale the
    # followees' follower counts (who is a celebrity) may get.
    feed_graph_cache_seconds: float = Field(default=1800.0, ge=0)
    # Posts kept per author timeline (koo:tl:user:<id>: their page and the celebrity merge),
    # and how long one lives unread before it is rebuilt from PostgreSQL.
    feed_author_timeline_cap: int = Field(default=200, ge=10)
    feed_author_timeline_hours: float = Field(default=48.0, gt=0)
    # Trending hashtags: the sliding window, and how long a computed ranking is reused.
    feed_trends_window_hours: int = Field(default=24, ge=1, le=24 * 7)
    feed_trends_cache_seconds: float = Field(default=5.0, ge=0)
    # Raise Redis's zset-max-listpack-entries to fit a whole timeline when Redis allows
    # CONFIG SET (local, tests); managed Redis gets it from its parameter group.
    feed_tune_redis: bool = True
    # Redis Cluster: write each timeline with its own call (multi-key scripts need one
    # node); a single-node or replicated Redis (the default) fans out 1,000 per call.
    feed_redis_cluster: bool = False
    # Post-event consumers per worker process (same group: they share the stream).
    feed_post_consumers: int = Field(default=2, ge=1)
    # Idle time after which a message held by a dead consumer is reclaimed.
    feed_claim_idle_ms: int = Field(default=30_000, ge=10)

    # Mobile push through Amazon SNS: the platform applications (FCM for Android, APNs for
    # iOS) of KOO_PUSH_SNS_ANDROID_APP_ARN / KOO_PUSH_SNS_IOS_APP_ARN; none set: push is off.
    # KOO_PUSH_SNS_ENDPOINT_URL points boto3 elsewhere (tests: moto's server).
    push_sns_android_app_arn: str = ""
    push_sns_ios_app_arn: str = ""
    push_sns_region: str = ""
    push_sns_endpoint_url: str = ""

    @property
    def active_window_seconds(self) -> int:
        return int(self.feed_active_window_days * 86_400)
