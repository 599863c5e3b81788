"""A steady posting load and the check that nothing acknowledged was lost.

A community of users who all follow each other posts at a steady rate; every post the
platform acknowledged (201) is remembered. After the fault and the recovery, `converged`
asks the platform until every acknowledged post is readable, in every follower's home feed,
found by search, and counted in its author's `post_count` (or the deadline passes, and the
gaps are the answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

PASSWORD = "chaos-password-1"


@dataclass
class Member:
    id: str
    handle: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class Acked:
    post_id: str
    author: Member
    word: str  # a word only this post holds: search must find it


@dataclass
class Load:
    acked: list[Acked] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)  # HTTP status -> count
    errors: int = 0  # transport errors (no answer at all)

    def summary(self) -> str:
        return f"{len(self.acked)} acknowledged, refused {dict(self.refused)}, {self.errors} without answer"


def word() -> str:
    # Letters only: one token to the search analyzer, unlike any real word.
    return "zq" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


async def community(client: httpx.AsyncClient, size: int) -> list[Member]:
    """`size` users, each following every other one."""
    run = secrets.token_hex(3)
    members: list[Member] = []
    for i in range(size):
        handle = f"chaos_{run}_{i}"
        created = await client.post(
            "/v1/users", json={"handle": handle, "password": PASSWORD, "display_name": handle, "languages": ["en"]}
        )
        created.raise_for_status()
        session = await client.post("/v1/sessions", json={"handle": handle, "password": PASSWORD})
        session.raise_for_status()
        members.append(Member(created.json()["id"], handle, session.json()["access_token"]))
    for member in members:
        for other in members:
            if other is not member:
                followed = await client.post(f"/v1/users/{other.id}:follow", headers=member.auth)
                followed.raise_for_status()
    return members


async def post_steadily(
    client: httpx.AsyncClient, members: list[Member], load: Load, *, rate: float, stop: asyncio.Event
) -> None:
    """Post `rate` times a second, round the members, until `stop` is set."""
    pending: set[asyncio.Task[None]] = set()
    turn = 0
    started = time.monotonic()

    async def one(author: Member) -> None:
        secret = word()
        try:
            answer = await client.post(
                "/v1/posts",
                headers={**author.auth, "Idempotency-Key": secret},
                json={"text": f"chaos post {secret}"},
                timeout=10,
            )
        except httpx.HTTPError:
            load.errors += 1
            return
        if answer.status_code == 201:
            load.acked.append(Acked(answer.json()["id"], author, secret))
        else:
            load.refused[answer.status_code] += 1

    while not stop.is_set():
        task = asyncio.create_task(one(members[turn % len(members)]))
        pending.add(task)
        task.add_done_callback(pending.discard)
        turn += 1
        delay = started + turn / rate - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    await asyncio.gather(*pending)


async def _home_ids(client: httpx.AsyncClient, member: Member) -> set[str]:
    ids: set[str] = set()
    token = ""
    while True:
        params = {"page_size": "100", **({"page_token": token} if token else {})}
        answer = await client.get("/v1/feed/home", headers=member.auth, params=params, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        ids.update(p["id"] for p in body.get("posts", []))
        token = body.get("next_page_token", "")
        if not token:
            return ids


async def _author_post_ids(client: httpx.AsyncClient, reader: Member, author: Member) -> set[str]:
    ids: set[str] = set()
    token = ""
    while True:
        params = {"page_size": "100", **({"page_token": token} if token else {})}
        answer = await client.get(f"/v1/users/{author.id}/posts", headers=reader.auth, params=params, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        ids.update(p["id"] for p in body.get("posts", []))
        token = body.get("next_page_token", "")
        if not token:
            return ids


async def gaps(client: httpx.AsyncClient, members: list[Member], load: Load) -> dict[str, int]:
    """What is still missing, per place (an empty dict: nothing)."""
    missing: Counter[str] = Counter()
    reader = members[0]
    for item in load.acked:
        got = await client.get(f"/v1/posts/{item.post_id}", headers=reader.auth, timeout=10)
        if got.status_code != 200:
            missing["database"] += 1
    for member in members:
        home = await _home_ids(client, member)
        missing["feeds"] += sum(1 for a in load.acked if a.author is not member and a.post_id not in home)
    for item in load.acked:
        found = await client.get("/v1/search/posts", headers=reader.auth, params={"q": item.word}, timeout=10)
        if found.status_code != 200 or item.post_id not in {p["id"] for p in found.json().get("posts", [])}:
            missing["search"] += 1
    # A post may be committed and its answer lost (a process killed in between): it exists
    # without having been acknowledged. So each author's count must equal the posts the
    # database holds, and those must include every acknowledged one.
    for member in members:
        held = await _author_post_ids(client, reader, member)
        mine = {a.post_id for a in load.acked if a.author is member}
        user = await client.get(f"/v1/users/{member.id}", headers=reader.auth, timeout=10)
        if not mine <= held or user.status_code != 200 or int(user.json().get("post_count", 0)) != len(held):
            missing["counters"] += 1
    return {place: n for place, n in missing.items() if n}


async def converged(
    client: httpx.AsyncClient, members: list[Member], load: Load, *, within: float
) -> tuple[dict[str, int], float]:
    """Wait until nothing is missing; returns the last gaps and the seconds it took."""
    started = time.monotonic()
    last: dict[str, int] = {}
    while True:
        try:
            last = await gaps(client, members, load)
        except httpx.HTTPError as exc:
            last = {f"check failed: {type(exc).__name__}": 1}
        if not last or time.monotonic() - started > within:
            return last, time.monotonic() - started
        await asyncio.sleep(1)
