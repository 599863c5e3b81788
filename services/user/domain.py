"""User rules: accounts, credentials, sessions, follows, blocks. Knows nothing of gRPC."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from koo.events.v1 import events_pb2 as events_pb
from services.kit.auth import TokenSigner
from services.kit.blocks import BlockSets
from services.kit.errors import AlreadyExists, ErrorReason, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from services.kit.events import add_event
from services.kit.ids import Snowflake
from services.kit.paging import decode_token, encode_token
from services.kit.revocation import SessionRevocations
from services.kit.text import TextError, check_languages, clean_text
from services.user import store
from services.user.handles import HANDLE_RE, is_reserved, skeleton
from services.user.hashing import HashGate
from services.user.passwords import password_problem
from services.user.signin_guard import SignInGuard
from services.user.store import UserRow
from services.user.trust_safety import refuse_if_suspended

MAX_DISPLAY_NAME = 50
MAX_BIO = 160
MAX_BATCH = 500
_BAD_CREDENTIALS = "the handle or password is wrong"


# Marks that imitate the verified badge, which only Koo grants.
_BADGE_LOOKALIKES = frozenset("\u2713\u2714\u2705\u2611\U0001f5f8\U0001f5f9\u2611\u221a\U0001f197")


def check_handle(handle: str) -> str:
    if not HANDLE_RE.match(handle):
        raise InvalidArgument("handle", message="handle must be 3-30 characters of a-z, 0-9 and _")
    if is_reserved(handle):
        raise InvalidArgument("handle", message=f"the handle {handle!r} is reserved")
    return handle


def check_display_name(value: str) -> str:
    try:
        name = clean_text(value, max_graphemes=MAX_DISPLAY_NAME)
    except TextError as exc:
        raise InvalidArgument("display_name", message=f"display_name {exc}") from None
    if any(ch in _BADGE_LOOKALIKES for ch in name):
        raise InvalidArgument(
            "display_name", message="display_name must not hold a check mark (it imitates the verified badge)"
        )
    return name


def check_bio(value: str) -> str:
    try:
        return clean_text(value, max_graphemes=MAX_BIO, allow_empty=True)
    except TextError as exc:
        raise InvalidArgument("bio", message=f"bio {exc}") from None


@dataclass(frozen=True, slots=True)
class Session:
    access_token: str
    refresh_token: str
    expires_in: int
    user: UserRow


@dataclass(frozen=True, slots=True)
class Page:
    users: list[UserRow]
    next_page_token: str


class UserDomain:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ids: Snowflake,
        signer: TokenSigner,
        hasher: PasswordHasher,
        access_ttl: int,
        refresh_ttl: int,
        gate: HashGate | None = None,
        guard: SignInGuard | None = None,
        revocations: SessionRevocations | None = None,
        refresh_grace: float = 30.0,
        block_sets: BlockSets | None = None,
        graph_changed: Callable[[list[int]], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.gate = gate or HashGate(concurrency=2, queue=16, wait=2.0)
        self.guard = guard
        self.revocations = revocations
        # Other services' cached block sets, dropped when a block changes (kit/blocks.py).
        self.block_sets = block_sets or BlockSets(None, None)
        # A rotated refresh token presented again this soon is a client's retry (two tabs,
        # a network retry), not a stolen copy: it gets a sibling session in the same family.
        self.refresh_grace = timedelta(seconds=refresh_grace)
        # Told right after a follow, block or mute commits (the feed's cached reader graphs
        # go at once); the feed worker does it again from the event.
        self.graph_changed = graph_changed
        self.ids = ids
        self.signer = signer
        self.hasher = hasher
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Verified against for unknown handles, so both failures take the same time.
        self._dummy_hash = hasher.hash(secrets.token_hex(16))

    # Accounts ---------------------------------------------------------------------

    async def register(self, *, handle: str, password: str, display_name: str, languages: list[str]) -> UserRow:
        violations: dict[str, str] = {}
        for check in (
            lambda: check_handle(handle),
            lambda: check_display_name(display_name),
            lambda: check_languages(languages),
        ):
            try:
                check()
            except InvalidArgument as exc:
                violations.update(exc.violations)
        problem = password_problem(password, handle=handle)
        if problem:
            violations["password"] = problem
        if violations:
            raise InvalidArgument(violations)
        password_hash = await self.gate.run(self.hasher.hash, password)
        async with self.engine.begin() as db:
            user = await store.insert_user(
                db,
                user_id=self.ids.next_id(),
                handle=handle,
                handle_skeleton=skeleton(handle),
                display_name=check_display_name(display_name),
                languages=check_languages(languages),
                password_hash=password_hash,
            )
            if user is None:
                raise AlreadyExists(
                    f"the handle {handle!r} is taken, or looks like one that is", reason=ErrorReason.HANDLE_TAKEN
                )
            await add_event(db, schema=store.SCHEMA, event=events_pb.UserCreated(user=_profile(user)))
        return user

    async def login(self, *, handle: str, password: str, client_ip: str = "") -> Session:
        async with self.engine.connect() as db:
            found = await store.credentials_by_handle(db, handle=handle)
        if found is None:
            await self.gate.run(_verify, self.hasher, self._dummy_hash, password)
            raise Unauthenticated(_BAD_CREDENTIALS, reason=ErrorReason.BAD_CREDENTIALS)
        user, password_hash = found
        # Counted before the check (atomically), keyed by the account the database found.
        if self.guard is not None:
            await self.guard.attempt(user.id, client_ip or "unknown")
        if not await self.gate.run(_verify, self.hasher, password_hash, password):
            raise Unauthenticated(_BAD_CREDENTIALS, reason=ErrorReason.BAD_CREDENTIALS)
        if self.guard is not None:
            await self.guard.succeeded(user.id, client_ip or "unknown")
        async with self.engine.begin() as db:
            # Only after the password: a suspension is not told to whoever guesses a handle.
            await refuse_if_suspended(db, user_id=user.id)
            if self.hasher.check_needs_rehash(password_hash):
                new_hash = await self.gate.run(self.hasher.hash, password)
                await store.update_password_hash(db, user_id=user.id, password_hash=new_hash)
            return await self._issue(db, user=user, family_id=uuid.uuid4().hex)

    async def refresh(self, *, refresh_token: str) -> Session:
        if not refresh_token:
            raise InvalidArgument("refresh_token", message="refresh_token is required")
        token_hash = _hash_token(refresh_token)
        async with self.engine.begin() as db:
            row = await store.refresh_token_for_update(db, token_hash=token_hash)
            if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
                raise Unauthenticated("the refresh token is not valid", reason=ErrorReason.REFRESH_TOKEN_INVALID)
            if row.rotated_at is not None and datetime.now(UTC) - row.rotated_at >= self.refresh_grace:
                # Reuse of a rotated token: someone holds a copy. End the whole sign-in.
                await store.revoke_family(db, family_id=row.family_id)
                reused = True
            else:
                # First use, or a retry within the grace window (then a sibling session).
                reused = False
                await refuse_if_suspended(db, user_id=row.user_id)
                if row.rotated_at is None:
                    await store.mark_rotated(db, token_hash=token_hash)
                users = await store.users_by_ids(db, user_ids=[row.user_id])
                session = await self._issue(db, user=users[row.user_id], family_id=row.family_id)
        if reused:
            await self._revoke_access(row.family_id)
            raise Unauthenticated("the refresh token was already used", reason=ErrorReason.REFRESH_TOKEN_REUSED)
        return session

    async def logout(self, *, session_id: str) -> None:
        async with self.engine.begin() as db:
            await store.revoke_family(db, family_id=session_id)
        await self._revoke_access(session_id)

    async def _revoke_access(self, session_id: str) -> None:
        """Access tokens of the session stop working now, not when they expire."""
        if self.revocations is not None:
            await self.revocations.revoke(session_id, seconds=self.access_ttl + 60)

    async def _issue(self, db: object, *, user: UserRow, family_id: str) -> Session:
        refresh_token = secrets.token_urlsafe(32)
        await store.insert_refresh_token(
            db,  # type: ignore[arg-type]
            token_hash=_hash_token(refresh_token),
            family_id=family_id,
            user_id=user.id,
            expires_at=datetime.now(UTC) + timedelta(seconds=self.refresh_ttl),
        )
        access = self.signer.sign(user_id=user.id, session_id=family_id, ttl_seconds=self.access_ttl)
        return Session(access_token=access, refresh_token=refresh_token, expires_in=self.access_ttl, user=user)

    # Reads ------------------------------------------------------------------------

    async def get(self, *, user_id: int) -> UserRow:
        async with self.engine.connect() as db:
            users = await store.users_by_ids(db, user_ids=[user_id])
        if user_id not in users:
            raise NotFound(f"no user has the id {user_id}", reason=ErrorReason.USER_NOT_FOUND)
        return users[user_id]

    async def get_by_handle(self, *, handle: str) -> UserRow:
        async with self.engine.connect() as db:
            user = await store.user_by_handle(db, handle=handle.lstrip("@"))
        if user is None:
            raise NotFound(f"no user has the handle {handle!r}", reason=ErrorReason.USER_NOT_FOUND)
        return user

    async def batch_get(self, *, user_ids: list[int]) -> list[UserRow]:
        if len(user_ids) > MAX_BATCH:
            raise InvalidArgument("user_ids", message=f"user_ids holds more than {MAX_BATCH} ids")
        async with self.engine.connect() as db:
            users = await store.users_by_ids(db, user_ids=user_ids)
        return [users[i] for i in dict.fromkeys(user_ids) if i in users]

    async def followed_by(self, *, viewer_id: int | None, user_ids: list[int]) -> set[int]:
        """Which of `user_ids` the viewer follows."""
        if viewer_id is None or not user_ids:
            return set()
        async with self.engine.connect() as db:
            return await store.following_set(db, follower_id=viewer_id, followee_ids=user_ids)

    async def viewer_flags(self, *, viewer_id: int, user_id: int) -> tuple[bool, bool, bool]:
        """(follows, blocks, mutes) from the viewer towards one user."""
        async with self.engine.connect() as db:
            return await store.viewer_flags(db, viewer_id=viewer_id, user_id=user_id)

    async def resolve_handles(self, *, handles: list[str]) -> list[UserRow]:
        if len(handles) > 100:
            raise InvalidArgument("handles", message="handles holds more than 100 entries")
        valid = [h.lstrip("@") for h in handles if HANDLE_RE.match(h.lstrip("@"))]
        async with self.engine.connect() as db:
            return await store.users_by_handles(db, handles=valid)

    # Profile ----------------------------------------------------------------------

    async def update_profile(self, *, user_id: int, changes: dict[str, object]) -> UserRow:
        clean: dict[str, object] = {}
        if "display_name" in changes:
            clean["display_name"] = check_display_name(str(changes["display_name"]))
        if "bio" in changes:
            clean["bio"] = check_bio(str(changes["bio"]))
        if "languages" in changes:
            clean["languages"] = check_languages(list(changes["languages"]))  # type: ignore[call-overload]
        async with self.engine.begin() as db:
            user = await store.update_profile(db, user_id=user_id, changes=clean)
            if user is None:
                raise NotFound("your account no longer exists", reason=ErrorReason.USER_NOT_FOUND)
            await add_event(db, schema=store.SCHEMA, event=events_pb.UserUpdated(user=_profile(user)))
        return user

    # Graph ------------------------------------------------------------------------

    async def follow(self, *, follower_id: int, followee_id: int, languages: list[str]) -> None:
        if follower_id == followee_id:
            raise InvalidArgument("user_id", message="user_id: you cannot follow yourself")
        languages = check_languages(languages)
        async with self.engine.begin() as db:
            await store.lock_users(db, user_ids=[follower_id, followee_id])
            if not await store.users_by_ids(db, user_ids=[followee_id]):
                raise NotFound(f"no user has the id {followee_id}", reason=ErrorReason.USER_NOT_FOUND)
            if await store.is_blocked_either_way(db, a=follower_id, b=followee_id):
                raise PermissionDenied("you cannot follow this user", reason=ErrorReason.BLOCKED)
            created = await store.upsert_follow(
                db, follow_id=self.ids.next_id(), follower_id=follower_id, followee_id=followee_id, languages=languages
            )
            follow = events_pb.Follow(follower_id=follower_id, followee_id=followee_id, languages=languages)
            changed = events_pb.FollowCreated(follow=follow) if created else events_pb.FollowUpdated(follow=follow)
            await add_event(db, schema=store.SCHEMA, event=changed)
        await self._graph_changed(follower_id)

    async def unfollow(self, *, follower_id: int, followee_id: int) -> None:
        async with self.engine.begin() as db:
            await store.lock_users(db, user_ids=[follower_id, followee_id])
            if await store.delete_follow(db, follower_id=follower_id, followee_id=followee_id):
                ended = events_pb.Follow(follower_id=follower_id, followee_id=followee_id)
                await add_event(db, schema=store.SCHEMA, event=events_pb.FollowDeleted(follow=ended))
        await self._graph_changed(follower_id)

    async def block(self, *, blocker_id: int, blocked_id: int) -> None:
        if blocker_id == blocked_id:
            raise InvalidArgument("user_id", message="user_id: you cannot block yourself")
        async with self.engine.begin() as db:
            await store.lock_users(db, user_ids=[blocker_id, blocked_id])
            if not await store.users_by_ids(db, user_ids=[blocked_id]):
                raise NotFound(f"no user has the id {blocked_id}", reason=ErrorReason.USER_NOT_FOUND)
            await store.insert_block(db, blocker_id=blocker_id, blocked_id=blocked_id)
            for a, b in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
                if await store.delete_follow(db, follower_id=a, followee_id=b):
                    ended = events_pb.Follow(follower_id=a, followee_id=b)
                    await add_event(db, schema=store.SCHEMA, event=events_pb.FollowDeleted(follow=ended))
            block = events_pb.Block(blocker_id=blocker_id, blocked_id=blocked_id)
            await add_event(db, schema=store.SCHEMA, event=events_pb.BlockCreated(block=block))
        await self.block_sets.forget(blocker_id, blocked_id)
        await self._graph_changed(blocker_id, blocked_id)

    async def unblock(self, *, blocker_id: int, blocked_id: int) -> None:
        async with self.engine.begin() as db:
            if await store.delete_block(db, blocker_id=blocker_id, blocked_id=blocked_id):
                block = events_pb.Block(blocker_id=blocker_id, blocked_id=blocked_id)
                await add_event(db, schema=store.SCHEMA, event=events_pb.BlockDeleted(block=block))
        await self.block_sets.forget(blocker_id, blocked_id)
        await self._graph_changed(blocker_id, blocked_id)

    async def mute(self, *, muter_id: int, muted_id: int, on: bool) -> None:
        if muter_id == muted_id:
            raise InvalidArgument("user_id", message="user_id: you cannot mute yourself")
        async with self.engine.begin() as db:
            if on:
                if not await store.users_by_ids(db, user_ids=[muted_id]):
                    raise NotFound(f"no user has the id {muted_id}", reason=ErrorReason.USER_NOT_FOUND)
                changed = await store.insert_mute(db, muter_id=muter_id, muted_id=muted_id)
            else:
                changed = await store.delete_mute(db, muter_id=muter_id, muted_id=muted_id)
            if changed:
                mute = events_pb.Mute(muter_id=muter_id, muted_id=muted_id)
                event = events_pb.MuteCreated(mute=mute) if on else events_pb.MuteDeleted(mute=mute)
                await add_event(db, schema=store.SCHEMA, event=event)
        await self._graph_changed(muter_id)

    async def _graph_changed(self, *user_ids: int) -> None:
        if self.graph_changed is not None:
            await self.graph_changed(list(user_ids))

    async def list_follows(self, *, user_id: int, followers: bool, size: int, page_token: str) -> Page:
        kind = "followers" if followers else "following"
        cursor = decode_token(page_token, kind=kind, ints=("c",))
        if cursor is not None and cursor.get("u") != user_id:
            raise InvalidArgument("page_token", message="page_token belongs to another list")
        async with self.engine.connect() as db:
            if not await store.users_by_ids(db, user_ids=[user_id]):
                raise NotFound(f"no user has the id {user_id}", reason=ErrorReason.USER_NOT_FOUND)
            rows = await store.list_follow_page(
                db,
                user_id=user_id,
                followers=followers,
                before_follow_id=int(cursor["c"]) if cursor else None,
                limit=size + 1,
            )
        more = len(rows) > size
        rows = rows[:size]
        token = encode_token({"k": kind, "u": user_id, "c": rows[-1][0]}) if more else ""
        return Page(users=[u for _, u in rows], next_page_token=token)

    async def follower_refs(
        self, *, user_id: int, size: int, page_token: str
    ) -> tuple[list[tuple[int, list[str]]], str]:
        cursor = decode_token(page_token, kind="follower-ids", ints=("c",))
        async with self.engine.connect() as db:
            rows = await store.follower_refs(
                db, user_id=user_id, after_follower_id=int(cursor["c"]) if cursor else 0, limit=size + 1
            )
        more = len(rows) > size
        rows = rows[:size]
        token = encode_token({"k": "follower-ids", "c": rows[-1][0]}) if more else ""
        return rows, token

    async def social_graph(self, *, user_id: int) -> tuple[list[tuple[int, list[str], int]], list[int], list[int]]:
        async with self.engine.connect() as db:
            return await store.social_graph(db, user_id=user_id)

    async def blocked_either_way(self, *, user_id: int) -> list[int]:
        async with self.engine.connect() as db:
            return await store.blocked_either_way(db, user_id=user_id)

    async def relationship(self, *, a: int, b: int) -> dict[str, bool]:
        async with self.engine.connect() as db:
            return await store.relationship(db, a=a, b=b)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _profile(user: UserRow) -> events_pb.UserProfile:
    return events_pb.UserProfile(
        user_id=user.id,
        handle=user.handle,
        display_name=user.display_name,
        bio=user.bio,
        languages=user.languages,
        verified=user.verified,
    )
