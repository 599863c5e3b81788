"""gRPC face of reports and moderation (UserService's trust and safety calls)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from grpc.aio import ServicerContext

from koo.user.v1 import trust_safety_pb2 as tpb
from services.kit.context import require_caller
from services.kit.paging import page_size
from services.user import trust_store as ts
from services.user.trust_safety import SEVERITY, TrustSafety


def _ts(when: datetime | None) -> Timestamp | None:
    if when is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


def report_pb(row: ts.ReportRow) -> tpb.Report:
    return tpb.Report(
        id=row.id,
        post_id=row.post_id,
        user_id=row.user_id,
        reason=row.reason,  # type: ignore[arg-type]
        note=row.note,
        status=row.status,  # type: ignore[arg-type]
        create_time=_ts(row.created_at),
        resolve_time=_ts(row.resolved_at),
    )


_APPEAL = {
    ts.NOT_APPEALABLE: tpb.APPEAL_STATUS_UNSPECIFIED,
    ts.NOT_APPEALED: tpb.APPEAL_STATUS_NOT_APPEALED,
    ts.APPEAL_PENDING: tpb.APPEAL_STATUS_PENDING,
    ts.APPEAL_UPHELD: tpb.APPEAL_STATUS_UPHELD,
    ts.APPEAL_REVERSED: tpb.APPEAL_STATUS_REVERSED,
}


def action_pb(row: ts.ActionRow) -> tpb.ModerationAction:
    return tpb.ModerationAction(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        post_id=row.post_id,
        user_id=row.user_id,
        policy=row.policy,  # type: ignore[arg-type]
        reason=row.reason,
        create_time=_ts(row.created_at),
        suspended_until=_ts(row.suspended_until),
        appeal_status=_APPEAL[row.appeal_status],
        appeal_note=row.appeal_note,
    )


def queue_item_pb(row: ts.QueueRow, action: ts.ActionRow | None) -> tpb.ModerationQueueItem:
    return tpb.ModerationQueueItem(
        kind=row.kind,  # type: ignore[arg-type]
        post_id=row.post_id,
        user_id=row.user_id,
        severity=row.severity,
        report_count=row.report_count,
        reasons=sorted(row.reasons, key=lambda r: (-SEVERITY.get(r, 0), r)),  # type: ignore[arg-type]
        waiting_since=_ts(row.waiting_since),
        action=action_pb(action) if action else None,
        notes=row.notes,
    )


class TrustSafetyRpcs:
    """Mixed into UserServicer; `trust` is the domain."""

    trust: TrustSafety

    async def CreateReport(
        self, request: tpb.CreateReportRequest, context: ServicerContext
    ) -> tpb.CreateReportResponse:
        caller = require_caller()
        row = await self.trust.report(
            reporter_id=caller.user_id,
            post_id=request.post_id,
            user_id=request.user_id,
            reason=request.reason,
            note=request.note,
        )
        return tpb.CreateReportResponse(report=report_pb(row))

    async def ListReports(self, request: tpb.ListReportsRequest, context: ServicerContext) -> tpb.ListReportsResponse:
        caller = require_caller()
        page = await self.trust.reports(
            reporter_id=caller.user_id, size=page_size(request.page_size), page_token=request.page_token
        )
        return tpb.ListReportsResponse(reports=[report_pb(r) for r in page.items], next_page_token=page.next_page_token)

    async def ListModerationActions(
        self, request: tpb.ListModerationActionsRequest, context: ServicerContext
    ) -> tpb.ListModerationActionsResponse:
        caller = require_caller()
        page = await self.trust.actions_against(
            user_id=caller.user_id, size=page_size(request.page_size), page_token=request.page_token
        )
        return tpb.ListModerationActionsResponse(
            actions=[action_pb(a) for a in page.items], next_page_token=page.next_page_token
        )

    async def AppealModerationAction(
        self, request: tpb.AppealModerationActionRequest, context: ServicerContext
    ) -> tpb.AppealModerationActionResponse:
        caller = require_caller()
        row = await self.trust.appeal(user_id=caller.user_id, action_id=request.action_id, note=request.note)
        return tpb.AppealModerationActionResponse(action=action_pb(row))

    async def ListModerationQueue(
        self, request: tpb.ListModerationQueueRequest, context: ServicerContext
    ) -> tpb.ListModerationQueueResponse:
        caller = require_caller()
        page = await self.trust.queue(
            moderator_id=caller.user_id, size=page_size(request.page_size), page_token=request.page_token
        )
        return tpb.ListModerationQueueResponse(
            items=[queue_item_pb(r, a) for r, a in page.items], next_page_token=page.next_page_token
        )

    async def RemovePost(self, request: tpb.RemovePostRequest, context: ServicerContext) -> tpb.RemovePostResponse:
        caller = require_caller()
        row = await self.trust.remove_post(
            moderator_id=caller.user_id, post_id=request.post_id, policy=request.policy, reason=request.reason
        )
        return tpb.RemovePostResponse(action=action_pb(row))

    async def RestorePost(self, request: tpb.RestorePostRequest, context: ServicerContext) -> tpb.RestorePostResponse:
        caller = require_caller()
        row = await self.trust.restore_post(moderator_id=caller.user_id, post_id=request.post_id, reason=request.reason)
        return tpb.RestorePostResponse(action=action_pb(row))

    async def SuspendUser(self, request: tpb.SuspendUserRequest, context: ServicerContext) -> tpb.SuspendUserResponse:
        caller = require_caller()
        row = await self.trust.suspend(
            moderator_id=caller.user_id,
            user_id=request.user_id,
            policy=request.policy,
            reason=request.reason,
            hours=request.duration_hours,
        )
        return tpb.SuspendUserResponse(action=action_pb(row))

    async def LiftSuspension(
        self, request: tpb.LiftSuspensionRequest, context: ServicerContext
    ) -> tpb.LiftSuspensionResponse:
        caller = require_caller()
        row = await self.trust.lift(moderator_id=caller.user_id, user_id=request.user_id, reason=request.reason)
        return tpb.LiftSuspensionResponse(action=action_pb(row))

    async def DismissReports(
        self, request: tpb.DismissReportsRequest, context: ServicerContext
    ) -> tpb.DismissReportsResponse:
        caller = require_caller()
        row = await self.trust.dismiss(
            moderator_id=caller.user_id, post_id=request.post_id, user_id=request.user_id, reason=request.reason
        )
        return tpb.DismissReportsResponse(action=action_pb(row))

    async def DecideAppeal(
        self, request: tpb.DecideAppealRequest, context: ServicerContext
    ) -> tpb.DecideAppealResponse:
        caller = require_caller()
        row = await self.trust.decide_appeal(
            moderator_id=caller.user_id, action_id=request.action_id, reverse=request.reverse, reason=request.reason
        )
        return tpb.DecideAppealResponse(action=action_pb(row))

    async def ListAuditEntries(
        self, request: tpb.ListAuditEntriesRequest, context: ServicerContext
    ) -> tpb.ListAuditEntriesResponse:
        caller = require_caller()
        page = await self.trust.audit_log(
            moderator_id=caller.user_id, size=page_size(request.page_size), page_token=request.page_token
        )
        return tpb.ListAuditEntriesResponse(
            entries=[
                tpb.AuditEntry(
                    id=e.id,
                    create_time=_ts(e.created_at),
                    actor_id=e.actor_id,
                    actor=e.actor,
                    action=e.action,
                    target=e.target,
                    reason=e.reason,
                )
                for e in page.items
            ],
            next_page_token=page.next_page_token,
        )
