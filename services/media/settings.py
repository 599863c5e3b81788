"""Settings of the media service and the media-worker (both read the same variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator

from services.kit.settings import KitSettings


class MediaSettings(KitSettings):
    # Where bytes live: `local` (under KOO_DATA_DIR/media) or `s3`.
    media_storage: Literal["local", "s3"] = "local"
    # Local storage root; defaults to <data_dir>/media.
    media_dir: Path | None = None
    # Scratch space for uploads in flight and transcodes; defaults to the system temp dir.
    media_tmp_dir: Path | None = None
    s3_bucket: str = ""
    # Only for S3-compatible servers (MinIO, moto in tests); AWS needs none.
    s3_endpoint_url: str = ""
    # Empty: boto3's default (AWS_REGION).
    s3_region: str = ""
    # KMS key (id, ARN or alias) for SSE-KMS on every object; empty leaves the bucket default.
    s3_kms_key_id: str = ""
    # Lifetime of presigned GET URLs, seconds.
    s3_url_ttl: int = 300
    s3_multipart_threshold: int = 16 * 1024 * 1024
    s3_multipart_chunksize: int = 8 * 1024 * 1024
    # Names on the PATH or paths; when absent, the `local` extra's stand-ins (binaries.py).
    ffmpeg_path: str = "ffmpeg"
    ffprobe_path: str = "ffprobe"
    # Seconds ffprobe may take on an upload, and ffmpeg on one transcode.
    probe_timeout: float = 30.0
    # Decoded image pixels one media process may hold at once (MB), and seconds an upload
    # waits for room before 503 + Retry-After (services/media/decode_budget.py).
    image_decode_budget_mb: int = 1024
    image_decode_wait: float = 10.0
    transcode_timeout: float = 300.0
    # How many transcodes one media-worker process runs at once.
    media_worker_concurrency: int = 1

    @property
    def media_root(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def transcode_lease(self) -> float:
        """How long a worker owns a media item it is transcoding before another may retry it."""
        return self.transcode_timeout * 2 + 60

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> MediaSettings:
        if self.media_storage == "s3" and not self.s3_bucket:
            raise ValueError("KOO_MEDIA_STORAGE=s3 needs KOO_S3_BUCKET")
        return self
