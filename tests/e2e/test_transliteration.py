"""GET /v1/transliterations: Latin typing -> a language's script, rules plus what posts use."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import Account, reason, violations


def _candidates(client: httpx.Client, who: Account, text: str, language: str, **extra: str) -> list[dict[str, str]]:
    answer = client.get("/v1/transliterations", params={"text": text, "language": language, **extra}, headers=who.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["candidates"])


def test_latin_words_become_the_languages_script(client: httpx.Client, alice: Account) -> None:
    assert _candidates(client, alice, "namaste", "hi")[0]["text"] == "नमस्ते"
    tamil = [c["text"] for c in _candidates(client, alice, "vanakkam", "ta", max_candidates="10")]
    assert "வணக்கம்" in tamil
    bengali = [c["text"] for c in _candidates(client, alice, "namaskar", "bn", max_candidates="10")]
    assert "নমস্কার" in bengali
    kannada = [c["text"] for c in _candidates(client, alice, "kannada", "kn", max_candidates="10")]
    assert "ಕನ್ನಡ" in kannada


def test_alternatives_and_the_rest_of_the_text_kept(client: httpx.Client, alice: Account) -> None:
    found = _candidates(client, alice, "namaste, bharat!", "hi", max_candidates="5")
    assert 1 < len(found) <= 5
    assert all(c["text"].startswith("नमस्ते, ") and c["text"].endswith("!") for c in found)
    assert "नमस्ते, भारत!" in [c["text"] for c in found]
    assert len({c["text"] for c in found}) == len(found)  # no repeats
    assert _candidates(client, alice, "भारत 2024", "hi")[0]["text"] == "भारत 2024"  # nothing Latin to change


def test_the_words_posts_use_come_first(client: httpx.Client, alice: Account) -> None:
    # The rules alone read `zindagi` as ज़िन्दगि (short final i) or similar; posts write ज़िंदगी.
    posted = client.post("/v1/posts", json={"text": "ज़िंदगी ज़िंदगी है"}, headers=alice.auth)
    assert posted.status_code == 201, posted.text
    deadline = time.monotonic() + 20
    first: dict[str, str] = {}
    while time.monotonic() < deadline:
        first = _candidates(client, alice, "zindagi", "hi")[0]
        if first["source"] == "vocabulary":
            break
        time.sleep(0.3)
    assert first == {"text": "ज़िंदगी", "source": "vocabulary"}


def test_bad_requests_name_the_field(client: httpx.Client, alice: Account) -> None:
    for params, field in (
        ({"text": "namaste", "language": "xx"}, "language"),
        ({"text": "namaste", "language": "en"}, "language"),
        ({"text": "namaste"}, "language"),
        ({"text": "", "language": "hi"}, "text"),
        ({"text": "a" * 101, "language": "hi"}, "text"),
        ({"text": "namaste", "language": "hi", "max_candidates": "11"}, "max_candidates"),
    ):
        answer = client.get("/v1/transliterations", params=params, headers=alice.auth)
        assert answer.status_code == 400, (params, answer.text)
        assert field in violations(answer), (params, answer.text)
    unsigned = client.get("/v1/transliterations", params={"text": "namaste", "language": "hi"})
    assert unsigned.status_code == 401 and reason(unsigned)
