"""Findings 1, 7, 10, 14: handles (newline, lookalikes, reserved), text size bounds,
invisible and direction-changing characters, verified-badge lookalikes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.clients import PASSWORD
from tests.security.conftest import fresh_handle, post, sign_up


async def create_user(api: httpx.AsyncClient, handle: str, display_name: str = "परीक्षक") -> httpx.Response:
    return await api.post(
        "/v1/users", json={"handle": handle, "password": PASSWORD, "display_name": display_name, "languages": ["hi"]}
    )


def violation(answer: httpx.Response, field: str) -> str:
    for detail in answer.json()["error"]["details"]:
        for item in detail.get("fieldViolations", detail.get("field_violations", [])):
            if item["field"] == field:
                return str(item["description"])
    raise AssertionError(f"no violation for {field}: {answer.text}")


# 1 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\n\n", " ", "\t"])
async def test_a_handle_with_a_trailing_newline_does_not_register(api: httpx.AsyncClient, suffix: str) -> None:
    handle = fresh_handle()
    assert (await create_user(api, handle)).status_code == 201
    answer = await create_user(api, handle + suffix)
    assert answer.status_code == 400
    assert "handle" in violation(answer, "handle")
    assert (await api.get("/v1/handles/" + handle + "%0A", headers=(await sign_up(api)).auth)).status_code in (400, 404)


async def test_request_ids_with_a_newline_are_not_echoed(api: httpx.AsyncClient) -> None:
    answer = await api.get("/healthz", headers={"x-request-id": "abc\n"})
    assert answer.headers["x-request-id"] != "abc\n"


# 14 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("swap", [("l", "I"), ("l", "1"), ("o", "0"), ("m", "rn"), ("w", "vv")])
async def test_lookalike_handles_cannot_register(api: httpx.AsyncClient, swap: tuple[str, str]) -> None:
    plain, lookalike = swap
    stem = uuid.uuid4().hex[:8].replace("l", "a").replace("o", "b").replace("m", "c").replace("w", "d")
    original = f"{plain}x{stem}"
    assert (await create_user(api, original)).status_code == 201
    answer = await create_user(api, f"{lookalike}x{stem}")
    assert answer.status_code == 409, answer.text


@pytest.mark.parametrize(
    "handle", ["koo", "admin", "support", "official_koo", "Koo_Official", "kooadmin", "supp0rt", "K00"]
)
async def test_reserved_handles_cannot_be_taken(api: httpx.AsyncClient, handle: str) -> None:
    answer = await create_user(api, handle)
    assert answer.status_code == 400
    assert "reserved" in violation(answer, "handle")


@pytest.mark.parametrize("name", ["Alice ✔️", "Alice ✔", "Alice ✓", "Alice ☑️", "Alice ✅"])
async def test_display_names_cannot_imitate_the_verified_badge(api: httpx.AsyncClient, name: str) -> None:
    answer = await create_user(api, fresh_handle(), display_name=name)
    assert answer.status_code == 400
    assert "verified" in violation(answer, "display_name")
    who = await sign_up(api)
    patched = await api.patch("/v1/users/me", json={"display_name": name}, headers=who.auth)
    assert patched.status_code == 400


# 7 -----------------------------------------------------------------------------------


async def test_one_grapheme_of_a_hundred_thousand_marks_is_refused(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    answer = await api.post("/v1/posts", json={"text": "a" + "\u0301" * 120_000}, headers=who.auth)
    assert answer.status_code in (400, 413)
    few = await api.post("/v1/posts", json={"text": "a" + "\u0301" * 20}, headers=who.auth)
    assert few.status_code == 400 and "combining marks" in violation(few, "text")


@pytest.mark.parametrize(("field", "clusters"), [("display_name", 50), ("bio", 150)])
async def test_names_and_bios_are_bounded_in_code_points(api: httpx.AsyncClient, field: str, clusters: int) -> None:
    # Within the grapheme limit, but each cluster carries 8 marks: 9 code points each.
    who = await sign_up(api)
    heavy = ("x" + "".join(chr(0x300 + i) for i in range(8))) * clusters
    answer = await api.patch("/v1/users/me", json={field: heavy}, headers=who.auth)
    assert answer.status_code == 400, answer.text
    assert "code points" in violation(answer, field)


async def test_real_indic_text_at_the_limit_still_posts(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    text = ("स्त्री क्षत्रिय ज्ञान " * 30)[:1200]
    answer = await api.post("/v1/posts", json={"text": text}, headers=who.auth)
    assert answer.status_code in (200, 201), answer.text


# 10 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "char", ["\u202e", "\u2066", "\u200b", "\u200e", "\U000e0041", "\u3164", "\u115f", "\u00ad", "\ufeff"]
)
async def test_invisible_and_bidi_characters_are_refused(api: httpx.AsyncClient, char: str) -> None:
    who = await sign_up(api)
    answer = await api.post("/v1/posts", json={"text": f"नमस्ते {char}दुनिया"}, headers=who.auth)
    assert answer.status_code == 400, answer.text
    assert "U+" in violation(answer, "text")
    named = await api.patch("/v1/users/me", json={"display_name": f"Ravi{char}"}, headers=who.auth)
    assert named.status_code == 400


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u3164", "\u2800\u2800", "\u200d"])
async def test_names_made_only_of_invisible_characters_are_refused(api: httpx.AsyncClient, name: str) -> None:
    answer = await create_user(api, fresh_handle(), display_name=name)
    assert answer.status_code == 400


async def test_joiners_that_indic_scripts_need_are_kept(api: httpx.AsyncClient) -> None:
    who = await sign_up(api)
    # ZWNJ in Hindi (क्‌ष), ZWJ in Malayalam chillu and in an emoji sequence, the flag of Wales.
    text = "क्\u200cष ന്\u200d 👩\u200d💻 \U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
    created = await post(api, who, text)
    assert created["text"] == text
