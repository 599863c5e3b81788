"""Search latency through the gateway on a seeded platform, one request in flight.

    python -m tests.load.search_probe --data-dir <koo up's data dir> [--calls 60]

Acts as one seeded user (token minted with the platform's key), sends
`GET /v1/search/posts?q=...&page_size=20` for four query classes (common Indic words, the
same typed in Latin letters, two-word queries, English words), one warm-up call per
query, then `--calls` calls per class, and prints p50/p99/max per class as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import urllib.parse
import urllib.request
from pathlib import Path

from koo_cli.benchkit.population import read_population
from koo_cli.benchkit.runtime import find_runtime
from koo_cli.benchkit.tokens import mint, signer_for

CLASSES: dict[str, list[str]] = {
    "common Indic": ["क्रिकेट", "भारत", "কলকাতা", "சென்னை", "ಕನ್ನಡ", "पुणे", "హైదరాబాద్", "ਪੰਜਾਬ"],
    "transliterated": ["cricket", "bharat", "kolkata", "chennai", "kannada", "pune", "hyderabad", "punjab"],
    "two words": ["मौसम सुहाना", "chai baarish", "book history", "ফুটবল খেলা"],
    "English": ["monsoon", "startups", "fitness", "recipe"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--graph", default=None)
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    runtime = find_runtime(args.data_dir, need_backends=False)
    signer = signer_for(runtime.settings)
    if signer is None:
        parser.error(f"no signing key under {args.data_dir}/keys")
    _, users = read_population(args.data_dir, args.graph)
    token = mint(signer, users[0][0], ttl_seconds=3600)
    url = runtime.gateway_url()

    def call(q: str) -> float:
        query = urllib.parse.urlencode({"q": q, "page_size": 20})
        req = urllib.request.Request(f"{url}/v1/search/posts?{query}", headers={"Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        return (time.perf_counter() - started) * 1000

    for queries in CLASSES.values():
        for q in queries:
            call(q)
    rng = random.Random(1)
    report: dict[str, dict[str, float]] = {}
    for name, queries in CLASSES.items():
        lat = sorted(call(rng.choice(queries)) for _ in range(args.calls))
        report[name] = {
            "p50_ms": round(statistics.median(lat), 1),
            "p99_ms": round(lat[max(0, int(0.99 * len(lat)) - 1)], 1),
            "max_ms": round(lat[-1], 1),
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
