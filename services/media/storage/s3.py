"""Media in S3 (production): SSE-KMS, multipart uploads, presigned GET URLs.

boto3 is blocking, so every network call runs in a worker thread; one client is shared
(boto3 clients are thread-safe, sessions are not). Credentials come from the default chain
(IRSA / Pod Identity in EKS, environment variables elsewhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from services.media.storage import CHUNK_SIZE, Blob


class S3Storage:
    def __init__(
        self,
        *,
        bucket: str,
        region: str = "",
        endpoint_url: str = "",
        kms_key_id: str = "",
        url_ttl: int = 300,
        multipart_threshold: int = 16 * 1024 * 1024,
        multipart_chunksize: int = 8 * 1024 * 1024,
    ) -> None:
        self.bucket = bucket
        self.kms_key_id = kms_key_id
        self.url_ttl = url_ttl
        self.client: Any = boto3.session.Session().client(
            "s3",
            region_name=region or None,
            endpoint_url=endpoint_url or None,
            config=Config(
                # SigV4 is required to read SSE-KMS objects through presigned URLs.
                signature_version="s3v4",
                # Custom endpoints (MinIO, moto) rarely have wildcard DNS for bucket hosts.
                s3={"addressing_style": "path" if endpoint_url else "virtual"},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        # Above the threshold boto3 splits the upload into parts sent in parallel and
        # retried one by one: a 100 MB video never rides on one request.
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=4,
            use_threads=True,
        )

    def _put_args(self, content_type: str) -> dict[str, str]:
        args = {"ContentType": content_type}
        if self.kms_key_id:
            # The bucket's default encryption may differ; asking per object makes the key explicit.
            args.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_id)
        return args

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.upload_file,
            str(path),
            self.bucket,
            key,
            ExtraArgs=self._put_args(content_type),
            Config=self.transfer,
        )

    async def fetch(self, key: str, dest: Path) -> None:
        try:
            await asyncio.to_thread(self.client.download_file, self.bucket, key, str(dest), Config=self.transfer)
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    async def open(self, key: str) -> Blob:
        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        return Blob(size=int(response["ContentLength"]), chunks=_read_body(response["Body"]))

    async def signed_url(self, key: str) -> str | None:
        # Signing is local computation (no request), but may read credentials from disk.
        url: str = await asyncio.to_thread(
            self.client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.url_ttl,
        )
        return url

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


async def _read_body(body: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(body.read, CHUNK_SIZE):
            yield chunk
    finally:
        body.close()
