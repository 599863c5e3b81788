"""gRPC face of the media service: proto <-> domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

from google.protobuf.timestamp_pb2 import Timestamp
from grpc.aio import ServicerContext

from koo.media.v1 import media_service_pb2 as pb
from koo.media.v1 import media_service_pb2_grpc as pb_grpc
from services.kit.context import current_workload, require_caller
from services.kit.errors import InvalidArgument
from services.media.domain import MediaDomain, UploadMeta
from services.media.limits import KIND_PROTO, Status
from services.media.store import MediaRow

_STATUSES = {
    Status.PROCESSING: pb.MEDIA_STATUS_PROCESSING,
    Status.READY: pb.MEDIA_STATUS_READY,
    Status.FAILED: pb.MEDIA_STATUS_FAILED,
}


def content_path(media_id: int) -> str:
    """The gateway path that serves a media item's bytes (it streams them or redirects to S3)."""
    return f"/v1/media/{media_id}/content"


def media_pb(row: MediaRow) -> pb.Media:
    created = Timestamp()
    created.FromDatetime(row.created_at)
    ready = row.status is Status.READY
    # URLs only once there is something to fetch; a processing item has no served bytes yet.
    url = content_path(row.id) if ready else ""
    thumbnail_url = f"{content_path(row.id)}?rendition=thumbnail" if ready and row.thumbnail_key else ""
    return pb.Media(
        id=row.id,
        owner_id=row.owner_id,
        kind=KIND_PROTO[row.kind],
        status=_STATUSES[row.status],
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        duration_ms=row.duration_ms,
        url=url,
        thumbnail_url=thumbnail_url,
        failure_reason=row.failure_reason,
        created_at=created,
    )


# Services that read media to hydrate posts they already decided a reader may see.
HYDRATORS = frozenset({"post"})


def _viewer() -> int | None:
    """Whose eyes a read is for; None for a hydrating service (see MediaDomain._readable)."""
    if current_workload() in HYDRATORS:
        return None
    return require_caller().user_id


class MediaServicer(pb_grpc.MediaServiceServicer):
    def __init__(self, domain: MediaDomain) -> None:
        self.domain = domain

    async def UploadMedia(
        self, request_iterator: AsyncIterator[pb.UploadMediaRequest], context: ServicerContext
    ) -> pb.UploadMediaResponse:
        caller = require_caller()
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument("metadata", message="the first message of an upload must be its metadata")
        meta = first.metadata

        async def chunks() -> AsyncIterator[bytes]:
            async for message in messages:
                if message.WhichOneof("part") == "metadata":
                    raise InvalidArgument("metadata", message="metadata may only be sent once, first")
                yield message.chunk

        row = await self.domain.upload(
            owner_id=caller.user_id,
            meta=UploadMeta(
                content_type=meta.content_type,
                filename=meta.filename,
                request_id=meta.request_id,
                declared_size=meta.declared_size,
            ),
            chunks=chunks(),
        )
        return pb.UploadMediaResponse(media=media_pb(row))

    async def GetMedia(self, request: pb.GetMediaRequest, context: ServicerContext) -> pb.GetMediaResponse:
        return pb.GetMediaResponse(
            media=media_pb(await self.domain.get(media_id=request.media_id, viewer_id=_viewer()))
        )

    async def BatchGetMedia(
        self, request: pb.BatchGetMediaRequest, context: ServicerContext
    ) -> pb.BatchGetMediaResponse:
        rows = await self.domain.batch_get(media_ids=list(request.media_ids), viewer_id=_viewer())
        return pb.BatchGetMediaResponse(media=[media_pb(r) for r in rows])

    async def GetMediaContent(  # type: ignore[override]
        self, request: pb.GetMediaContentRequest, context: ServicerContext
    ) -> AsyncIterator[pb.GetMediaContentResponse]:
        content = await self.domain.content(media_id=request.media_id, rendition=request.rendition, viewer_id=_viewer())
        if content.redirect_url:
            yield pb.GetMediaContentResponse(
                content_type=content.content_type, size_bytes=content.size, redirect_url=content.redirect_url
            )
            return
        assert content.chunks is not None
        first = True
        async for data in content.chunks:
            if first:
                yield pb.GetMediaContentResponse(content_type=content.content_type, size_bytes=content.size, data=data)
                first = False
            else:
                yield pb.GetMediaContentResponse(data=data)
