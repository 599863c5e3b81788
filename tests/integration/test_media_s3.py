"""The S3 storage backend against moto's S3 server (the closest thing to S3 that runs here).

moto serves the S3 REST API over HTTP on a local port, so boto3 does real requests:
uploads (single and multipart), SSE-KMS headers, ranged managed downloads and presigned
URLs fetched with a plain HTTP client.
"""

from __future__ import annotations

import asyncio
import io
import os
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_asyncio
from PIL import Image

from koo.media.v1 import media_service_pb2 as pb
from koo.media.v1 import media_service_pb2_grpc as pb_grpc
from services.kit.server import RunningServer, start_server
from services.media import __main__ as media_main
from services.media.settings import MediaSettings
from services.media.storage.s3 import S3Storage
from tests.clients import new_account
from tests.harness import Stack, base_settings, free_port
from tests.media_files import GPS_IFD, exif_of, jpeg_with_gps

moto_server = pytest.importorskip("moto.server")

REGION = "ap-south-1"
MB = 1024 * 1024


class Moto:
    def __init__(self, endpoint: str, bucket: str, kms_key_arn: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.kms_key_arn = kms_key_arn
        self.s3: Any = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)

    def storage(self, **kwargs: Any) -> S3Storage:
        return S3Storage(
            bucket=self.bucket, region=REGION, endpoint_url=self.endpoint, kms_key_id=self.kms_key_arn, **kwargs
        )


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        bucket = f"koo-media-{uuid.uuid4().hex[:8]}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        kms = boto3.client("kms", endpoint_url=endpoint, region_name=REGION)
        key_arn = kms.create_key(Description="koo media")["KeyMetadata"]["Arn"]
        yield Moto(endpoint, bucket, key_arn)
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def http_get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


async def read_all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def test_put_get_presigned_url_and_sse_kms(moto: Moto, tmp_path: Path) -> None:
    storage = moto.storage(url_ttl=120)
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"\xff\xd8\xff" + os.urandom(50_000))
    await storage.put_file("1/original.jpg", src, content_type="image/jpeg")

    head = moto.s3.head_object(Bucket=moto.bucket, Key="1/original.jpg")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == moto.kms_key_arn
    assert head["ContentType"] == "image/jpeg"

    blob = await storage.open("1/original.jpg")
    assert blob.size == src.stat().st_size and await read_all(blob.chunks) == src.read_bytes()

    url = await storage.signed_url("1/original.jpg")
    assert url and url.startswith(moto.endpoint) and "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    status, content_type, body = await asyncio.to_thread(http_get, url)
    assert (status, content_type, body) == (200, "image/jpeg", src.read_bytes())

    fetched = tmp_path / "fetched"
    await storage.fetch("1/original.jpg", fetched)
    assert fetched.read_bytes() == src.read_bytes()

    await storage.delete("1/original.jpg")
    await storage.delete("1/original.jpg")  # already gone: no error
    with pytest.raises(FileNotFoundError):
        await storage.open("1/original.jpg")
    with pytest.raises(FileNotFoundError):
        await storage.fetch("1/original.jpg", fetched)
    await storage.close()


async def test_large_files_go_up_in_parts_with_the_kms_key(moto: Moto, tmp_path: Path) -> None:
    # S3's smallest part is 5 MB; a 12 MB file at a 5 MB threshold goes up in three parts.
    storage = moto.storage(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    src = tmp_path / "video.mp4"
    src.write_bytes(os.urandom(12 * MB))
    await storage.put_file("2/video.mp4", src, content_type="video/mp4")
    head = moto.s3.head_object(Bucket=moto.bucket, Key="2/video.mp4")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == moto.kms_key_arn
    assert head["ContentLength"] == 12 * MB
    fetched = tmp_path / "back.mp4"
    await storage.fetch("2/video.mp4", fetched)
    assert fetched.read_bytes() == src.read_bytes()
    await storage.close()


async def test_without_a_kms_key_no_encryption_header_is_sent(moto: Moto, tmp_path: Path) -> None:
    storage = S3Storage(bucket=moto.bucket, region=REGION, endpoint_url=moto.endpoint)
    src = tmp_path / "a.bin"
    src.write_bytes(b"abc")
    await storage.put_file("3/a", src, content_type="audio/mp4")
    head = moto.s3.head_object(Bucket=moto.bucket, Key="3/a")
    assert head.get("ServerSideEncryption") != "aws:kms" and "SSEKMSKeyId" not in head
    await storage.close()


@pytest_asyncio.fixture(loop_scope="session")
async def s3_media(stack: Stack, moto: Moto, database_url: str, redis_url: str, data_dir: Path) -> AsyncIterator[str]:
    """A second media service on the same database, storing in moto's S3 (no worker involved)."""
    wanted = {
        **base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports=stack.ports),
        "port": free_port(),
        "media_storage": "s3",
        "s3_bucket": moto.bucket,
        "s3_endpoint_url": moto.endpoint,
        "s3_region": REGION,
        "s3_kms_key_id": moto.kms_key_arn,
    }
    settings = MediaSettings(**{k: v for k, v in wanted.items() if k in MediaSettings.model_fields})
    running: RunningServer = await start_server(settings, name="media", register=media_main.make_register(settings))
    try:
        yield f"127.0.0.1:{running.port}"
    finally:
        await running.stop(grace=0.5)


async def test_media_service_on_s3_answers_content_with_a_signed_redirect(
    stack: Stack, s3_media: str, moto: Moto
) -> None:
    who = await new_account(stack.channel("user"))
    async with stack.connect(s3_media) as channel:
        stub = pb_grpc.MediaServiceStub(channel)

        async def requests() -> AsyncIterator[pb.UploadMediaRequest]:
            yield pb.UploadMediaRequest(metadata=pb.UploadMetadata(content_type="image/jpeg"))
            yield pb.UploadMediaRequest(chunk=jpeg_with_gps((300, 200)))

        media = (await stub.UploadMedia(requests(), metadata=who.auth)).media
        assert media.status == pb.MEDIA_STATUS_READY
        # The public URL is the gateway's path whatever the store; it redirects from there.
        assert media.url == f"/v1/media/{media.id}/content"

        for rendition, size in (("", (300, 200)), ("thumbnail", (300, 200))):
            parts = [
                p
                async for p in stub.GetMediaContent(
                    pb.GetMediaContentRequest(media_id=media.id, rendition=rendition), metadata=who.auth
                )
            ]
            assert len(parts) == 1 and parts[0].redirect_url and not parts[0].data
            assert parts[0].content_type == "image/jpeg" and parts[0].size_bytes > 0
            status, content_type, body = await asyncio.to_thread(http_get, parts[0].redirect_url)
            assert status == 200 and content_type == "image/jpeg" and len(body) == parts[0].size_bytes
            with Image.open(io.BytesIO(body)) as img:
                assert img.size == size
            assert not exif_of(body).get_ifd(GPS_IFD)

    keys = {o["Key"] for o in moto.s3.list_objects_v2(Bucket=moto.bucket, Prefix=f"{media.id}/")["Contents"]}
    assert keys == {f"{media.id}/original.jpg", f"{media.id}/thumbnail.jpg"}
    head = moto.s3.head_object(Bucket=moto.bucket, Key=f"{media.id}/original.jpg")
    assert head["ServerSideEncryption"] == "aws:kms"
