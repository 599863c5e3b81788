"""SearchPosts latency over a large multilingual index, through real gRPC.

    KOO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    python -m tests.load.search_bench --posts 100000 [--queries 2000] [--concurrency 1 8]

Method:
- A fresh database (like the test suite's), search schema migrated.
- N synthetic posts are bulk-loaded DIRECTLY into the search index through the backend's
  `index_posts` (batches of 1,000, the indexer's code path minus Redis Streams), not
  through CreatePost: the figure is search cost, not posting cost. Texts are the seeder's
  everyday sentences in 12 languages (koo_cli/benchkit/texts.py, by speaker weight) plus
  a few words drawn Zipf-like from a 30,000-word synthetic vocabulary per script, so
  there are very common words (in thousands of posts) and rare ones.
- The search service runs in this process on a real port; hydration goes to an
  in-process stub PostService answering BatchGetPosts from memory (one gRPC hop, no
  database), so the figure is the search service + its index + one hydration call.
- Queries, signed out (no GetSocialGraph), are a fixed mix: common words in Indic
  scripts, the same words typed in Latin letters (transliterated), two-word queries,
  rare words, and some with a language filter. Page size 20.
- Latency measured by the client per call, after 200 warm-up calls; p50/p99 per class.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import grpc
from sqlalchemy import text

from koo.post.v1 import post_service_pb2 as post_pb
from koo.post.v1 import post_service_pb2_grpc as post_grpc
from koo.search.v1 import search_service_pb2 as pb
from koo.search.v1 import search_service_pb2_grpc as pb_grpc
from koo_cli.benchkit import texts
from services.kit.channels import open_channel
from services.kit.db import create_engine
from services.kit.migrations import upgrade_all
from services.kit.server import start_server
from services.kit.text import extract_hashtags
from services.search.__main__ import make_register
from services.search.backends.postgres import PostgresSearch
from services.search.settings import SearchSettings
from services.search.store import PostDoc
from tests.backends import test_database
from tests.harness import free_port

# Letters to build synthetic words from, per script (consonant + vowel sign syllables).
_SYLLABLES = {
    "hi": ("कखगचजटडतदनपबमयरलवसह", "ािीुेो"),
    "mr": ("कखगचजटडतदनपबमयरलवसह", "ािीुेो"),
    "bn": ("কখগচজটডতদনপবমযরলসহ", "ািীুেো"),
    "as": ("কখগচজটডতদনপবমৰলসহ", "ািীুেো"),
    "ta": ("கஙசஞடணதநபமயரலவழளறன", "ாிீுூெே"),
    "te": ("కగచజటడతదనపబమయరలవసహ", "ాిీుూెే"),
    "kn": ("ಕಗಚಜಟಡತದನಪಬಮಯರಲವಸಹ", "ಾಿೀುೂೆೇ"),
    "ml": ("കഗചജടഡതദനപബമയരലവസഹ", "ാിീുൂെേ"),
    "gu": ("કગચજટડતદનપબમયરલવસહ", "ાિીુેો"),
    "pa": ("ਕਗਚਜਟਡਤਦਨਪਬਮਯਰਲਵਸਹ", "ਾਿੀੁੇੋ"),
    "or": ("କଗଚଜଟଡତଦନପବମୟରଲସହ", "ାିୀୁେୋ"),
    "en": ("bcdfghjklmnprstvz", "aeiou"),
}
VOCABULARY = 30_000

QUERIES: dict[str, list[dict[str, str]]] = {
    "common-indic": [
        {"q": "क्रिकेट"},
        {"q": "बारिश"},
        {"q": "भारत"},
        {"q": "কলকাতা"},
        {"q": "বাংলা"},
        {"q": "சென்னை"},
        {"q": "மழை"},
        {"q": "ಕನ್ನಡ"},
        {"q": "ಬೆಂಗಳೂರು"},
        {"q": "తెలుగు"},
        {"q": "ਪੰਜਾਬ"},
    ],
    "transliterated": [
        {"q": "cricket"},
        {"q": "baarish"},
        {"q": "bharat"},
        {"q": "kolkata"},
        {"q": "bangla"},
        {"q": "chennai"},
        {"q": "mazhai"},
        {"q": "kannada"},
        {"q": "bengaluru"},
        {"q": "telugu"},
        {"q": "pongal"},
        {"q": "dasara"},
    ],
    "two-words": [
        {"q": "chai baarish"},
        {"q": "ಕನ್ನಡ ಪುಸ್ತಕ"},
        {"q": "chennai mazhai"},
        {"q": "मौसम सुहाना"},
    ],
    "language-filter": [
        {"q": "bharat", "language": "hi"},
        {"q": "cricket", "language": "en"},
        {"q": "বাংলা", "language": "bn"},
        {"q": "chennai", "language": "ta"},
    ],
}


def synthetic_word(rng: random.Random, language: str) -> str:
    consonants, vowels = _SYLLABLES[language]
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))


def corpus(n: int, seed: int = 98) -> tuple[list[PostDoc], dict[str, list[str]]]:
    """`n` posts and, per language, the synthetic vocabulary (rank 0 most common)."""
    rng = random.Random(seed)
    vocab = {lang: list(dict.fromkeys(synthetic_word(rng, lang) for _ in range(VOCABULARY))) for lang in _SYLLABLES}
    zipf = [1 / (rank + 1) for rank in range(VOCABULARY)]
    docs: list[PostDoc] = []
    base_id = 1 << 40
    now_ms = int(time.time() * 1000)
    for i in range(n):
        language = texts.pick_language(rng)
        words = vocab[language]
        extra = rng.choices(words, weights=zipf[: len(words)], k=rng.randint(2, 6))
        body = texts.post_text(rng, language, url=rng.random() < 0.1) + " " + " ".join(extra)
        docs.append(
            PostDoc(
                post_id=base_id + i,
                author_id=1 + rng.randrange(20_000),
                text=body,
                language=language,
                hashtags=tuple(dict.fromkeys(extract_hashtags(body))),
                created_at_ms=now_ms - (n - i) * 1000,
            )
        )
    return docs, vocab


class StubPosts(post_grpc.PostServiceServicer):
    """BatchGetPosts from memory: hydration costs one gRPC hop, nothing more."""

    def __init__(self, docs: list[PostDoc]) -> None:
        self.posts = {d.post_id: post_pb.Post(id=d.post_id, text=d.text, language=d.language) for d in docs}

    async def BatchGetPosts(
        self, request: post_pb.BatchGetPostsRequest, context: grpc.aio.ServicerContext
    ) -> post_pb.BatchGetPostsResponse:
        return post_pb.BatchGetPostsResponse(posts=[self.posts[i] for i in request.post_ids if i in self.posts])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def load(database_url: str, docs: list[PostDoc]) -> None:
    engine = create_engine(database_url, pool_size=4)
    backend = PostgresSearch(engine)
    async with engine.connect() as db:
        present = (await db.execute(text("SELECT count(*) FROM koo_search.posts"))).scalar() or 0
    if present < len(docs):
        started = time.perf_counter()
        for start in range(0, len(docs), 1000):
            await backend.index_posts(docs[start : start + 1000])
        load_s = time.perf_counter() - started
        print(f"indexed {len(docs):,} posts in {load_s:.1f} s ({len(docs) / load_s:,.0f}/s)")
    async with engine.begin() as db:
        await db.execute(text("ANALYZE koo_search.posts"))
        size = (await db.execute(text("SELECT pg_size_pretty(pg_total_relation_size('koo_search.posts'))"))).scalar()
    await engine.dispose()
    print(f"{len(docs):,} posts in the index; posts table + indexes {size}")


async def run(args: argparse.Namespace) -> None:
    docs, vocab = corpus(args.posts)
    rare = [{"q": vocab[lang][rank]} for lang in ("hi", "ta", "bn", "kn", "te") for rank in (500, 5_000, 20_000)]
    common_synthetic = [{"q": vocab[lang][0]} for lang in ("hi", "bn", "ta")]
    mix = {**QUERIES, "rare-word": rare, "most-common-synthetic": common_synthetic}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as cleanup:
        # --database-url reuses a database loaded by an earlier run (the corpus is
        # deterministic); by default a fresh database is made and dropped.
        database_url = args.database_url or cleanup.enter_context(test_database(Path(tmp)))
        upgrade_all(database_url, ["search"])
        await load(database_url, docs)
        stub = grpc.aio.server()
        post_grpc.add_PostServiceServicer_to_server(StubPosts(docs), stub)  # type: ignore[abstract]
        stub_port = stub.add_insecure_port("127.0.0.1:0")
        await stub.start()
        settings = SearchSettings(
            env="test",
            host="127.0.0.1",
            port=free_port(),
            database_url=database_url,
            data_dir=Path(tmp),
            log_level="WARNING",
            post_addr=f"127.0.0.1:{stub_port}",
            shutdown_grace=0.5,
        )
        server = await start_server(settings, name="search", register=make_register(settings))
        channel = open_channel(f"127.0.0.1:{server.port}", timeout=30, identity=settings.workload_identity("bench"))
        stub_search = pb_grpc.SearchServiceStub(channel)
        try:
            await measure(stub_search, mix, args)
        finally:
            await channel.close()
            await server.stop(0.5)
            await stub.stop(0.5)


async def measure(
    search: pb_grpc.SearchServiceStub, mix: dict[str, list[dict[str, str]]], args: argparse.Namespace
) -> None:
    plan = [(kind, q) for kind, queries in mix.items() for q in queries]
    rng = random.Random(7)
    hits: dict[str, list[int]] = defaultdict(list)

    async def call(kind: str, fields: dict[str, str], into: dict[str, list[float]]) -> None:
        started = time.perf_counter()
        reply = await search.SearchPosts(pb.SearchPostsRequest(page_size=20, **fields))  # type: ignore[arg-type]
        into[kind].append((time.perf_counter() - started) * 1000)
        hits[kind].append(len(reply.posts))

    warm: dict[str, list[float]] = defaultdict(list)
    for _ in range(200):
        await call(*rng.choice(plan), warm)
    for concurrency in args.concurrency:
        times: dict[str, list[float]] = defaultdict(list)
        calls = [rng.choice(plan) for _ in range(args.queries)]
        queue: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
        for item in calls:
            queue.put_nowait(item)

        async def worker(
            queue: asyncio.Queue[tuple[str, dict[str, str]]] = queue, into: dict[str, list[float]] = times
        ) -> None:
            while not queue.empty():
                kind, fields = queue.get_nowait()
                await call(kind, fields, into)

        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        every = [t for ts in times.values() for t in ts]
        print(
            f"\nconcurrency {concurrency}: {len(every)} queries in {elapsed:.1f} s ({len(every) / elapsed:,.0f}/s); "
            f"all: p50 {percentile(every, 50):.1f} ms, p99 {percentile(every, 99):.1f} ms "
            f"(machine load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        for kind, ts in times.items():
            print(
                f"  {kind:22s} n={len(ts):5d}  p50 {percentile(ts, 50):6.1f} ms  p99 {percentile(ts, 99):6.1f} ms  "
                f"mean hits/page {statistics.mean(hits[kind]):.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--database-url", default="", help="reuse this database (loaded if short of posts)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
