"""Findings 2 and 8: image decoding within a memory budget; media not yet in a visible
post readable by its owner only, then as the post's visibility and blocks decide."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio

from koo.media.v1 import media_service_pb2 as pb
from koo.media.v1 import media_service_pb2_grpc as pb_grpc
from services.kit.errors import Unavailable
from services.kit.server import start_server
from services.media import __main__ as media_main
from services.media.decode_budget import DecodeBudget, decode_cost
from tests.clients import error_reason, field_violations, new_account
from tests.harness import Stack, base_settings, free_port
from tests.media_files import png_bytes
from tests.security.conftest import Person, post, sign_up
from tests.security.test_headers_csrf import assert_secure_headers


def zero_png(width: int, height: int) -> bytes:
    """A valid RGBA PNG of zeros: tiny on the wire, width x height x 4 bytes decoded."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (width * 4 + 1)
    data = b"".join(raw.compress(row) for _ in range(height)) + raw.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


async def upload(api: httpx.AsyncClient, who: Person, data: bytes, content_type: str = "image/png") -> dict[str, str]:
    answer = await api.post("/v1/media", content=data, headers={**who.auth, "content-type": content_type})
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, str] = answer.json()
    return body


# 8 -----------------------------------------------------------------------------------


async def test_unposted_media_is_only_its_owners(api: httpx.AsyncClient) -> None:
    owner, other = await sign_up(api), await sign_up(api)
    media = await upload(api, owner, png_bytes())
    for path in (f"/v1/media/{media['id']}", f"/v1/media/{media['id']}/content"):
        assert (await api.get(path, headers=owner.auth)).status_code == 200
        assert (await api.get(path, headers=other.auth)).status_code == 404
    scan = await api.get(f"/v1/media:batchGet?media_ids={media['id']}", headers=other.auth)
    assert scan.status_code == 200 and scan.json().get("media", []) == []


async def test_posted_media_follows_the_post_and_blocks(api: httpx.AsyncClient) -> None:
    owner, reader, blocked = await sign_up(api), await sign_up(api), await sign_up(api)
    assert (await api.post(f"/v1/users/{blocked.id}:block", headers=owner.auth)).status_code == 200
    media = await upload(api, owner, png_bytes())
    made = await post(api, owner, "तस्वीर", media_ids=[media["id"]])
    content = f"/v1/media/{media['id']}/content"
    answer = await api.get(content, headers=reader.auth)
    for _ in range(100):  # the media service learns of the post from its event
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.1)
        answer = await api.get(content, headers=reader.auth)
    assert answer.status_code == 200
    assert_secure_headers(answer)
    assert (await api.get(content, headers=blocked.auth)).status_code == 404
    # Deleting the post makes it the owner's alone again.
    assert (await api.delete(f"/v1/posts/{made['id']}", headers=owner.auth)).status_code == 200
    for _ in range(100):
        answer = await api.get(content, headers=reader.auth)
        if answer.status_code == 404:
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 404
    assert (await api.get(content, headers=owner.auth)).status_code == 200


# 2 -----------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def small_media(stack: Stack, database_url: str, redis_url: str, data_dir: Path) -> AsyncIterator[str]:
    """A media service whose decode budget is 200 MB."""
    wanted = {
        **base_settings(database_url=database_url, redis_url=redis_url, data_dir=data_dir, ports=stack.ports),
        "port": free_port(),
        "image_decode_budget_mb": 200,
        "image_decode_wait": 0.5,
    }
    cls = media_main.SETTINGS_CLASS
    settings = cls(**{k: v for k, v in wanted.items() if k in cls.model_fields})
    running = await start_server(settings, name="media", register=media_main.make_register(settings))
    yield f"127.0.0.1:{running.port}"
    await running.stop(grace=0.5)


async def test_a_decompression_bomb_is_refused_before_decoding(stack: Stack, small_media: str) -> None:
    who = await new_account(stack.channel("user"))
    bomb = zero_png(7000, 7000)
    assert len(bomb) < 1_000_000

    async def parts() -> AsyncIterator[pb.UploadMediaRequest]:
        yield pb.UploadMediaRequest(metadata=pb.UploadMetadata(content_type="image/png"))
        yield pb.UploadMediaRequest(chunk=bomb)

    async with stack.connect(small_media) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await pb_grpc.MediaServiceStub(channel).UploadMedia(parts(), metadata=who.auth)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(info.value) == "MEDIA_TOO_LARGE"
    assert "too large to process" in field_violations(info.value)["file"]


async def test_decodes_wait_for_room_and_shed_when_it_does_not_come() -> None:
    budget = DecodeBudget(capacity_bytes=decode_cost(1000, 1000) * 2, wait=0.05)
    async with budget.reserve(decode_cost(1000, 1000)), budget.reserve(decode_cost(1000, 1000)):
        with pytest.raises(Unavailable) as info:
            async with budget.reserve(decode_cost(10, 10)):
                pass
        assert info.value.retry_after
    async with budget.reserve(decode_cost(1000, 1000) * 2):
        pass
