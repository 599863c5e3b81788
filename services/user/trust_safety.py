"""Trust and safety rules: reports, the moderation queue, actions and appeals, suspensions,
the audit log. Knows nothing of gRPC.

Every moderation call checks the moderator role first (granted only by `koo moderator
grant`), and every action writes its audit line in the same transaction as its effect.
Removing a post is the post service's write (`PostModeration`): it takes the post out of
every read and publishes the `post.deleted` every derived store already acts on (feeds,
timelines, search, trends, notifications). A suspension ends the account's refresh
tokens in the same transaction, its access tokens through the kit's revocation list, and
its posts through the `user.suspended` event the post service consumes. (The list is the
kit's SessionRevocations, which sign-out uses too; the gateway checks it on each request.)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koo.errors.v1.error_reason_pb2 import ErrorReason
from koo.events.v1 import events_pb2 as events_pb
from services.kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.kit.events import add_event
from services.kit.ids import Snowflake
from services.kit.paging import decode_token, encode_token
from services.kit.revocation import SessionRevocations
from services.kit.text import TextError, clean_text
from services.user import store
from services.user import trust_store as ts

log = logging.getLogger("koo.user.trust")

# ReportReason values (protos/koo/user/v1/trust_safety.proto) and how grave each is (1-5):
# what can hurt someone now or is unlawful goes first.
SEVERITY: dict[int, int] = {1: 1, 2: 3, 3: 4, 4: 2, 5: 2, 6: 4, 7: 5, 8: 5, 9: 1}
REMOVE_POST, RESTORE_POST, SUSPEND_USER, LIFT_SUSPENSION, DISMISS_REPORTS = 1, 2, 3, 4, 5
MAX_NOTE = 1000
MAX_REASON = 1000
MAX_SUSPENSION_HOURS = 24 * 365 * 10


class PostModeration(Protocol):
    """The post service, as moderation needs it."""

    async def author_of(self, post_id: int) -> int:
        """The live post's author (NotFound when there is no such post)."""
        ...

    async def set_removed(self, post_id: int, *, removed: bool) -> int:
        """Remove or restore a post; returns its author."""
        ...


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def _text(value: str, field: str, *, required: bool, limit: int) -> str:
    if not value.strip():
        if required:
            raise InvalidArgument(field, message=f"{field} is required")
        return ""
    try:
        return clean_text(value, max_graphemes=limit)
    except TextError as exc:
        raise InvalidArgument(field, message=f"{field} {exc}") from None


def _policy(value: int, field: str = "policy") -> int:
    if value not in SEVERITY:
        raise InvalidArgument(field, message=f"{field} must be one of the report reasons")
    return value


def _before(page_token: str, kind: str) -> int:
    cursor = decode_token(page_token, kind=kind)
    if cursor is None:
        return 0
    value = cursor.get("b")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument("page_token", message="page_token is not a token this list issued")
    return value


def _one_target(post_id: int, user_id: int) -> None:
    if post_id < 0 or user_id < 0 or (post_id > 0) == (user_id > 0):
        raise InvalidArgument(
            {"post_id": "give exactly one of post_id and user_id", "user_id": "give exactly one of post_id and user_id"}
        )


async def refuse_if_suspended(db: AsyncConnection, *, user_id: int) -> None:
    """Sign-in and refresh of a suspended account: a 403 that says until when and why."""
    found = await ts.suspension(db, user_id=user_id)
    if found is None:
        return
    until = f"until {found.until:%Y-%m-%d %H:%M} UTC" if found.until else "permanently"
    raise PermissionDenied(
        f"this account is suspended {until}: {found.reason} (moderation action {found.action_id})",
        reason=ErrorReason.ACCOUNT_SUSPENDED,
    )


class TrustSafety:
    def __init__(
        self, engine: AsyncEngine, *, ids: Snowflake, posts: PostModeration, revocations: SessionRevocations
    ) -> None:
        self.engine = engine
        self.ids = ids
        self.posts = posts
        self.revocations = revocations

    # Reports (anyone signed in) -------------------------------------------------------

    async def report(self, *, reporter_id: int, post_id: int, user_id: int, reason: int, note: str) -> ts.ReportRow:
        _one_target(post_id, user_id)
        _policy(reason, "reason")
        clean_note = _text(note, "note", required=False, limit=MAX_NOTE)
        if post_id:
            user_id = await self.posts.author_of(post_id)
        else:
            async with self.engine.connect() as db:
                if user_id not in await store.users_by_ids(db, user_ids=[user_id]):
                    raise NotFound(f"no user has the id {user_id}", reason=ErrorReason.USER_NOT_FOUND)
        if user_id == reporter_id:
            raise InvalidArgument("post_id" if post_id else "user_id", message="you cannot report yourself")
        async with self.engine.begin() as db:
            row = await ts.insert_report(
                db,
                report_id=self.ids.next_id(),
                reporter_id=reporter_id,
                post_id=post_id,
                user_id=user_id,
                reason=reason,
                severity=SEVERITY[reason],
                note=clean_note,
            )
        if row is None:
            raise AlreadyExists("you have already reported this", reason=ErrorReason.ALREADY_REPORTED)
        return row

    async def reports(self, *, reporter_id: int, size: int, page_token: str) -> Page[ts.ReportRow]:
        before = _before(page_token, "reports")
        async with self.engine.connect() as db:
            rows = await ts.reports_of(db, reporter_id=reporter_id, before_id=before, limit=size + 1)
        token = encode_token({"k": "reports", "b": rows[size - 1].id}) if len(rows) > size else ""
        return Page(rows[:size], token)

    # What the account acted on sees ---------------------------------------------------

    async def actions_against(self, *, user_id: int, size: int, page_token: str) -> Page[ts.ActionRow]:
        before = _before(page_token, "actions")
        async with self.engine.connect() as db:
            rows = await ts.actions_against(db, user_id=user_id, before_id=before, limit=size + 1)
        token = encode_token({"k": "actions", "b": rows[size - 1].id}) if len(rows) > size else ""
        return Page(rows[:size], token)

    async def appeal(self, *, user_id: int, action_id: int, note: str) -> ts.ActionRow:
        clean = _text(note, "note", required=True, limit=MAX_NOTE)
        async with self.engine.begin() as db:
            action = await ts.action_for_update(db, action_id=action_id)
            if action is None or action.user_id != user_id or action.kind == DISMISS_REPORTS:
                raise NotFound(f"no moderation action {action_id} concerns you", reason=ErrorReason.ACTION_NOT_FOUND)
            if action.appeal_status == ts.NOT_APPEALABLE:
                raise FailedPrecondition("this action cannot be appealed", reason=ErrorReason.NOT_APPEALABLE)
            if action.appeal_status != ts.NOT_APPEALED:
                raise FailedPrecondition("this action was already appealed", reason=ErrorReason.ALREADY_APPEALED)
            updated = await ts.set_appeal(db, action_id=action_id, status=ts.APPEAL_PENDING, note=clean)
            await ts.audit(
                db,
                actor_id=user_id,
                actor=f"user:{user_id}",
                action="appeal.create",
                target=_target(action),
                reason=clean,
            )
        return updated

    # Moderators -----------------------------------------------------------------------

    async def require_moderator(self, user_id: int) -> None:
        async with self.engine.connect() as db:
            if not await ts.is_moderator(db, user_id=user_id):
                raise PermissionDenied("only moderators may do this", reason=ErrorReason.NOT_MODERATOR)

    async def queue(self, *, moderator_id: int, size: int, page_token: str) -> Page[tuple[ts.QueueRow, Any]]:
        await self.require_moderator(moderator_id)
        cursor = decode_token(page_token, kind="queue")
        after: tuple[int, str, int, int, int, int] | None = None
        if cursor is not None:
            try:
                s, t, k, p, u, a = cursor["c"]
                after = (int(s), str(t), int(k), int(p), int(u), int(a))
                datetime.fromisoformat(after[1])
            except (KeyError, TypeError, ValueError):
                raise InvalidArgument("page_token", message="page_token is not a token this list issued") from None
        async with self.engine.connect() as db:
            rows = await ts.queue(db, after=after, limit=size + 1)
            actions = await ts.actions_by_id(db, action_ids=[r.action_id for r in rows if r.action_id])
        more = len(rows) > size
        rows = rows[:size]
        token = ""
        if more:
            last = rows[-1]
            token = encode_token(
                {
                    "k": "queue",
                    "c": [
                        -last.severity,
                        last.waiting_since.isoformat(),
                        last.kind,
                        last.post_id,
                        last.user_id,
                        last.action_id,
                    ],
                }
            )
        return Page([(r, actions.get(r.action_id)) for r in rows], token)

    async def remove_post(self, *, moderator_id: int, post_id: int, policy: int, reason: str) -> ts.ActionRow:
        await self.require_moderator(moderator_id)
        why = self._checked(post_id, "post_id", policy, reason)
        author = await self.posts.set_removed(post_id, removed=True)
        async with self.engine.begin() as db:
            action = await self._act(
                db, REMOVE_POST, moderator_id, post_id=post_id, user_id=author, policy=policy, reason=why
            )
        return action

    async def restore_post(self, *, moderator_id: int, post_id: int, reason: str) -> ts.ActionRow:
        await self.require_moderator(moderator_id)
        why = self._checked(post_id, "post_id", None, reason)
        author = await self.posts.set_removed(post_id, removed=False)
        async with self.engine.begin() as db:
            return await self._act(db, RESTORE_POST, moderator_id, post_id=post_id, user_id=author, reason=why)

    async def suspend(self, *, moderator_id: int, user_id: int, policy: int, reason: str, hours: int) -> ts.ActionRow:
        await self.require_moderator(moderator_id)
        why = self._checked(user_id, "user_id", policy, reason)
        if not 0 <= hours <= MAX_SUSPENSION_HOURS:
            raise InvalidArgument(
                "duration_hours", message=f"duration_hours must be 0 (permanent) to {MAX_SUSPENSION_HOURS}"
            )
        if user_id == moderator_id:
            raise InvalidArgument("user_id", message="you cannot suspend yourself")
        until = datetime.now(UTC) + timedelta(hours=hours) if hours else None
        async with self.engine.begin() as db:
            if user_id not in await store.users_by_ids(db, user_ids=[user_id]):
                raise NotFound(f"no user has the id {user_id}", reason=ErrorReason.USER_NOT_FOUND)
            action = await self._act(
                db, SUSPEND_USER, moderator_id, user_id=user_id, policy=policy, reason=why, until=until
            )
            await ts.upsert_suspension(db, user_id=user_id, until=until, reason=why, action_id=action.id)
            await ts.revoke_all_sessions(db, user_id=user_id)
            await add_event(
                db,
                schema=store.SCHEMA,
                event=events_pb.UserSuspended(user_id=user_id, action_id=action.id, until_ms=_ms(until)),
            )
        # After the commit, and before answering: the account's access tokens stop now.
        await self.revocations.revoke_account(user_id, seconds=hours * 3600 if hours else None)
        return action

    async def lift(self, *, moderator_id: int, user_id: int, reason: str) -> ts.ActionRow:
        await self.require_moderator(moderator_id)
        why = self._checked(user_id, "user_id", None, reason)
        async with self.engine.begin() as db:
            action = await self._lift(db, user_id=user_id, moderator_id=moderator_id, reason=why)
        await self.revocations.restore_account(user_id)
        return action

    async def _lift(self, db: AsyncConnection, *, user_id: int, moderator_id: int, reason: str) -> ts.ActionRow:
        if not await ts.delete_suspension(db, user_id=user_id):
            raise FailedPrecondition("this account is not suspended", reason=ErrorReason.NOT_SUSPENDED)
        action = await self._act(db, LIFT_SUSPENSION, moderator_id, user_id=user_id, reason=reason)
        await add_event(db, schema=store.SCHEMA, event=events_pb.UserUnsuspended(user_id=user_id, action_id=action.id))
        return action

    async def dismiss(self, *, moderator_id: int, post_id: int, user_id: int, reason: str) -> ts.ActionRow:
        await self.require_moderator(moderator_id)
        _one_target(post_id, user_id)
        why = _text(reason, "reason", required=True, limit=MAX_REASON)
        async with self.engine.begin() as db:
            action_id = self.ids.next_id()
            oldest = await ts.resolve_reports(
                db, post_id=post_id, user_id=user_id, status=ts.DISMISSED, action_id=action_id
            )
            if oldest is None:
                raise FailedPrecondition("there are no open reports on this", reason=ErrorReason.NO_OPEN_REPORTS)
            action = await ts.insert_action(
                db,
                action_id=action_id,
                kind=DISMISS_REPORTS,
                post_id=post_id,
                user_id=user_id if not post_id else 0,
                policy=0,
                reason=why,
                moderator_id=moderator_id,
                first_report_at=oldest,
                suspended_until=None,
                appeal_status=ts.NOT_APPEALABLE,
            )
            await ts.audit(
                db,
                actor_id=moderator_id,
                actor=f"user:{moderator_id}",
                action="reports.dismiss",
                target=f"post:{post_id}" if post_id else f"user:{user_id}",
                reason=why,
            )
        return action

    async def decide_appeal(self, *, moderator_id: int, action_id: int, reverse: bool, reason: str) -> ts.ActionRow:
        await self.require_moderator(moderator_id)
        why = _text(reason, "reason", required=True, limit=MAX_REASON)
        async with self.engine.connect() as db:
            found = await ts.actions_by_id(db, action_ids=[action_id])
        action = found.get(action_id)
        if action is None:
            raise NotFound(f"no moderation action has the id {action_id}", reason=ErrorReason.ACTION_NOT_FOUND)
        if action.appeal_status != ts.APPEAL_PENDING:
            raise FailedPrecondition("this action has no pending appeal", reason=ErrorReason.NO_PENDING_APPEAL)
        if reverse and action.kind == REMOVE_POST:
            await self.posts.set_removed(action.post_id, removed=False)
        async with self.engine.begin() as db:
            locked = await ts.action_for_update(db, action_id=action_id)
            if locked is None or locked.appeal_status != ts.APPEAL_PENDING:
                raise FailedPrecondition("this action has no pending appeal", reason=ErrorReason.NO_PENDING_APPEAL)
            if reverse and action.kind == SUSPEND_USER and await ts.suspension(db, user_id=action.user_id):
                await self._lift(db, user_id=action.user_id, moderator_id=moderator_id, reason=why)
            decided = await ts.set_appeal(
                db, action_id=action_id, status=ts.APPEAL_REVERSED if reverse else ts.APPEAL_UPHELD
            )
            await ts.audit(
                db,
                actor_id=moderator_id,
                actor=f"user:{moderator_id}",
                action="appeal.reverse" if reverse else "appeal.uphold",
                target=_target(action),
                reason=why,
                detail={"action_id": action_id},
            )
            await self._tell(db, decided)
        if reverse and action.kind == SUSPEND_USER:
            await self.revocations.restore_account(action.user_id)
        return decided

    async def audit_log(self, *, moderator_id: int, size: int, page_token: str) -> Page[ts.AuditRow]:
        await self.require_moderator(moderator_id)
        before = _before(page_token, "audit")
        async with self.engine.connect() as db:
            rows = await ts.audit_entries(db, before_id=before, limit=size + 1)
        token = encode_token({"k": "audit", "b": rows[size - 1].id}) if len(rows) > size else ""
        return Page(rows[:size], token)

    # Suspensions that run out ---------------------------------------------------------

    async def lift_lapsed(self) -> int:
        """Lift suspensions whose time is up (the account's posts come back)."""
        async with self.engine.connect() as db:
            lapsed = await ts.lapsed_suspensions(db)
        for user_id in lapsed:
            async with self.engine.begin() as db:
                try:
                    await self._lift(db, user_id=user_id, moderator_id=0, reason="the suspension ended")
                except FailedPrecondition:
                    continue
            await self.revocations.restore_account(user_id)
        return len(lapsed)

    async def run_expiry(self, *, every: float = 30.0) -> None:
        while True:
            try:
                await self.lift_lapsed()
            except Exception as exc:  # noqa: BLE001 - PostgreSQL or Redis away: next round
                log.warning("lapsed suspensions not lifted yet: %s", exc)
            await asyncio.sleep(every)

    # Helpers --------------------------------------------------------------------------

    @staticmethod
    def _checked(target: int, field: str, policy: int | None, reason: str) -> str:
        violations: dict[str, str] = {}
        if target <= 0:
            violations[field] = f"{field} must be an id"
        if policy is not None and policy not in SEVERITY:
            violations["policy"] = "policy must be one of the report reasons"
        try:
            why = _text(reason, "reason", required=True, limit=MAX_REASON)
        except InvalidArgument as exc:
            violations.update(exc.violations)
            why = ""
        if violations:
            raise InvalidArgument(violations)
        return why

    async def _act(
        self,
        db: AsyncConnection,
        kind: int,
        moderator_id: int,
        *,
        user_id: int,
        reason: str,
        post_id: int = 0,
        policy: int = 0,
        until: datetime | None = None,
    ) -> ts.ActionRow:
        """Record an action, close the reports it answers, audit it and tell its subject."""
        action_id = self.ids.next_id()
        appealable = kind in (REMOVE_POST, SUSPEND_USER)
        action = await ts.insert_action(
            db,
            action_id=action_id,
            kind=kind,
            post_id=post_id,
            user_id=user_id,
            policy=policy,
            reason=reason,
            moderator_id=moderator_id,
            first_report_at=None,
            suspended_until=until,
            appeal_status=ts.NOT_APPEALED if appealable else ts.NOT_APPEALABLE,
        )
        if appealable:
            oldest = await ts.resolve_reports(
                db, post_id=post_id, user_id=user_id, status=ts.ACTIONED, action_id=action_id
            )
            await ts.set_first_report_at(db, action_id=action_id, when=oldest)
        await ts.audit(
            db,
            actor_id=moderator_id,
            actor=f"user:{moderator_id}" if moderator_id else "system",
            action=_AUDIT_NAMES[kind],
            target=_target(action),
            reason=reason,
            detail={"action_id": action_id, "policy": policy, "until": until.isoformat() if until else None},
        )
        await self._tell(db, action)
        return action

    async def _tell(self, db: AsyncConnection, action: ts.ActionRow) -> None:
        """The account acted on hears of it (a notification; the details are in its actions list)."""
        await add_event(
            db,
            schema=store.SCHEMA,
            event=events_pb.ModerationActioned(
                action_id=action.id, user_id=action.user_id, post_id=action.post_id, kind=action.kind
            ),
        )


_AUDIT_NAMES = {
    REMOVE_POST: "post.remove",
    RESTORE_POST: "post.restore",
    SUSPEND_USER: "user.suspend",
    LIFT_SUSPENSION: "user.lift",
    DISMISS_REPORTS: "reports.dismiss",
}


def _target(action: ts.ActionRow) -> str:
    return f"post:{action.post_id}" if action.post_id else f"user:{action.user_id}"


def _ms(when: datetime | None) -> int:
    return int(when.timestamp() * 1000) if when else 0
