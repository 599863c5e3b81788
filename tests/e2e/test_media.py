"""Media upload (raw and multipart, streamed) and download over HTTP (skipped while not built)."""

from __future__ import annotations

import io
import uuid

import httpx
from PIL import Image

from tests.e2e.conftest import Account, error_of
from tests.e2e.platform import TEST_ENV

MEDIA_FIELDS = {
    "id",
    "kind",
    "status",
    "content_type",
    "size_bytes",
    "width",
    "height",
    "duration_ms",
    "url",
    "thumbnail_url",
}


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 20)).save(out, format="PNG")
    return out.getvalue()


def upload(
    client: httpx.Client, who: Account, data: bytes, content_type: str = "image/png", **headers: str
) -> httpx.Response:
    answer = client.post("/v1/media", headers={**who.auth, "content-type": content_type, **headers}, content=data)
    return answer


def test_raw_upload_answers_201_media(client: httpx.Client, alice: Account) -> None:
    created = upload(client, alice, png())
    assert created.status_code == 201, created.text
    media = created.json()
    assert set(media) >= MEDIA_FIELDS
    assert media["kind"] == "image"
    assert media["status"] in ("processing", "ready")
    assert media["content_type"] == "image/png"
    fetched = client.get(f"/v1/media/{media['id']}", headers=alice.auth)
    assert fetched.status_code == 200 and fetched.json()["id"] == media["id"]


def test_multipart_upload(client: httpx.Client, alice: Account) -> None:
    data = png(40, 30)
    answer = client.post(
        "/v1/media",
        headers=alice.auth,
        files={"file": ("photo.png", data, "image/png")},
        data={"caption": "ignored"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["kind"] == "image"
    missing = client.post("/v1/media", headers=alice.auth, files={"other": ("x.png", data, "image/png")})
    assert missing.status_code == 400


def test_content_streams_back_or_redirects(client: httpx.Client, alice: Account) -> None:
    data = png()
    media = upload(client, alice, data).json()
    content = client.get(f"/v1/media/{media['id']}/content", headers=alice.auth)
    if content.status_code == 302:
        assert content.headers["location"]
    else:
        assert content.status_code == 200, content.text
        assert content.headers["content-type"].startswith("image/")
        assert content.content[:8] == b"\x89PNG\r\n\x1a\n" or len(content.content) > 0


def test_idempotency_key_for_media(client: httpx.Client, alice: Account) -> None:
    key = str(uuid.uuid4())
    first = upload(client, alice, png(), **{"idempotency-key": key})
    again = upload(client, alice, png(), **{"idempotency-key": key})
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert again.json()["id"] == first.json()["id"]


def test_limits_and_types(client: httpx.Client, alice: Account) -> None:
    limit = int(TEST_ENV["KOO_MAX_UPLOAD_BYTES"])
    too_big = upload(client, alice, b"\0" * (limit + 1))
    assert too_big.status_code == 413 and error_of(too_big)["code"] == 413

    def chunks() -> object:  # chunked, no Content-Length: cut off while streaming
        yield png()  # a real image's first bytes, so that only the size is wrong
        for _ in range(limit // 65536 + 2):
            yield b"\0" * 65536

    streamed = client.post(
        "/v1/media",
        headers={**alice.auth, "content-type": "image/png"},
        content=chunks(),  # type: ignore[arg-type]
    )
    assert streamed.status_code == 413
    not_an_image = upload(client, alice, b"plain text, not a picture")
    assert not_an_image.status_code == 400
    violations = [
        v for d in error_of(not_an_image)["details"] for v in d.get("field_violations", d.get("fieldViolations", []))
    ]
    assert [v["field"] for v in violations] == ["file"] and "unsupported file type" in violations[0]["description"]
    empty = upload(client, alice, b"")
    assert empty.status_code == 400 and "empty" in error_of(empty)["message"]
    no_type = client.post("/v1/media", headers={**alice.auth, "content-type": ""}, content=png())
    assert no_type.status_code == 400


def test_post_with_media(client: httpx.Client, alice: Account) -> None:
    media = upload(client, alice, png()).json()
    answer = client.post("/v1/posts", headers=alice.auth, json={"text": "तस्वीर", "media_ids": [media["id"]]})
    if answer.status_code == 400 and media["status"] == "processing":
        return  # only ready media may be attached; an image still processing is refused
    assert answer.status_code == 201, answer.text
    assert [m["id"] for m in answer.json()["media"]] == [media["id"]]
