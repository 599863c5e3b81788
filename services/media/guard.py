"""The checks an upload must pass while it streams: type from the first bytes, size limits.

Pure and synchronous, so the REST gateway can run the very same checks on the body it
is relaying and answer 400 itself, before the media service ends the stream: a grpc.aio
client whose write is pending when the server rejects may see INTERNAL instead of the
server's status (grpc/grpc#36066).
"""

from __future__ import annotations

from services.kit.errors import ErrorReason
from services.media.limits import ANY_MAX_BYTES, Rejected, max_bytes, too_large, unsupported_type
from services.media.sniff import SNIFF_BYTES, Sniffed, sniff


class UploadGuard:
    """Feed every chunk in order; `Rejected` is raised as soon as a rule is broken."""

    def __init__(self, declared_size: int = 0) -> None:
        if declared_size > ANY_MAX_BYTES:
            raise too_large(None)
        self.declared_size = declared_size
        self.size = 0
        self.sniffed: Sniffed | None = None
        self._head = bytearray()
        self._limit = ANY_MAX_BYTES

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.sniffed is None:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._judge()
        if self.size > self._limit:
            raise too_large(self.sniffed.kind if self.sniffed else None)

    def finish(self) -> Sniffed:
        """At the end of the stream: what the file is."""
        if self.size == 0:
            raise Rejected("the upload is empty", reason=ErrorReason.MEDIA_EMPTY)
        sniffed = self.sniffed or self._judge()
        if self.size > self._limit:
            raise too_large(sniffed.kind)
        if self.declared_size and self.size != self.declared_size:
            # A client that gave up half-way and closed the stream cleanly: never store a
            # truncated file as if it were whole.
            raise Rejected(
                f"the upload ended after {self.size} of the {self.declared_size} bytes declared",
                reason=ErrorReason.MEDIA_TRUNCATED,
            )
        return sniffed

    def _judge(self) -> Sniffed:
        sniffed = sniff(bytes(self._head))
        if sniffed is None:
            raise unsupported_type()
        self.sniffed = sniffed
        self._limit = max_bytes(sniffed.kind)
        if self.declared_size > self._limit:
            raise too_large(sniffed.kind)
        return sniffed
