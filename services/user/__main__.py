"""`koo serve user`: the user service process."""

from __future__ import annotations

import asyncio

import grpc
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from koo.user.v1 import user_service_pb2
from services.kit.auth import TokenSigner, ensure_dev_keys
from services.kit.blocks import BlockSets
from services.kit.events import Event, StreamConsumer, run_relay
from services.kit.periodic import run_every
from services.kit.rates import parse_rate
from services.kit.readcache import ReadCache
from services.kit.revocation import SessionRevocations
from services.kit.server import Register, Resources, run_service
from services.kit.settings import load_settings
from services.kit.wire import add_strict_servicer
from services.user import store
from services.user.counters import apply_post_events
from services.user.domain import UserDomain
from services.user.hashing import HashGate
from services.user.peers import PostPeer
from services.user.reconcile import reconcile_post_counts
from services.user.servicer import UserServicer
from services.user.settings import UserSettings
from services.user.signin_guard import SignInGuard
from services.user.trust_safety import TrustSafety

SERVICE_NAME = user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name


def build_signer(settings: UserSettings) -> TokenSigner:
    path = settings.jwt_private_key_file
    if path is None:
        path, _ = ensure_dev_keys(settings.data_dir)
    return TokenSigner.from_file(path, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def build_hasher(settings: UserSettings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        hash_len=RFC_9106_LOW_MEMORY.hash_len,
        salt_len=RFC_9106_LOW_MEMORY.salt_len,
    )


SETTINGS_CLASS = UserSettings


def make_register(settings: UserSettings) -> Register:
    async def register(server: grpc.aio.Server, res: Resources) -> list[str]:
        engine, redis = res.require_engine("the user service"), res.require_redis("the user service")
        revocations = SessionRevocations(redis)
        domain = UserDomain(
            engine,
            ids=res.ids,
            signer=build_signer(settings),
            hasher=build_hasher(settings),
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
            gate=HashGate(concurrency=settings.hash_concurrency, queue=settings.hash_queue, wait=settings.hash_wait),
            guard=SignInGuard(
                redis,
                per_ip=parse_rate(settings.rate_login_failures),
                per_account=parse_rate(settings.rate_login_failures_account),
            ),
            revocations=revocations,
            refresh_grace=settings.refresh_reuse_grace,
            block_sets=BlockSets(redis, None),
            graph_changed=ReadCache(redis).forget_graphs,
        )
        trust = TrustSafety(engine, ids=res.ids, posts=PostPeer(res.channels), revocations=revocations)
        add_strict_servicer(
            server, UserServicer(domain, trust), user_service_pb2.DESCRIPTOR.services_by_name["UserService"]
        )
        res.spawn(trust.run_expiry, name="user-suspension-expiry")
        res.spawn(
            lambda: run_relay(engine, redis, schema=store.SCHEMA, retention=settings.outbox_retention),
            name="user-outbox-relay",
        )

        async def counters(events: list[Event]) -> None:
            await apply_post_events(engine, events)

        consumer = StreamConsumer(redis, topic="post", group="user-counters", handler=counters)
        res.spawn(consumer.run, name="user-post-counters")
        res.spawn(
            lambda: run_every(
                settings.reconcile_interval, lambda: reconcile_post_counts(engine, redis), name="post_count reconcile"
            ),
            name="user-reconcile",
        )
        return [SERVICE_NAME]

    return register


def main() -> None:
    settings = load_settings(SETTINGS_CLASS)
    asyncio.run(run_service(settings, name="user", register=make_register(settings)))


if __name__ == "__main__":
    main()
