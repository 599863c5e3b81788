"""First load of the web app's home feed in Chromium, on a local platform.

    python -m tests.load.webapp_first_load [--runs 7] [--posts 40]

Method: a fresh platform started as `koo up` starts it (tests/e2e/platform.py); a reader
who follows an author with `--posts` posts; then, `--runs` times, a new browser context
(empty cache) holding only the reader's refresh cookie opens `/` and waits for the first
post of the feed. The figure is `performance.now()` at that moment: milliseconds from the
start of navigation to a rendered feed, which includes fetching the page and every
module, the refresh call, the user's strings and the first feed page. Prints each run and
the median. Chromium from the system (`apt-get install chromium`), never downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.e2e.platform import running_platform

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]
PASSWORD = "first-load-password"


def _account(http: httpx.Client, handle: str) -> str:
    created = http.post(
        "/v1/users", json={"handle": handle, "password": PASSWORD, "display_name": handle, "languages": ["hi"]}
    )
    created.raise_for_status()
    session = http.post("/v1/sessions", json={"handle": handle, "password": PASSWORD})
    session.raise_for_status()
    return str(session.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    suffix = str(int(time.time()))
    with (
        tempfile.TemporaryDirectory(prefix="koo-first-load-") as tmp,
        running_platform(Path(tmp)) as platform,
        httpx.Client(base_url=platform.base_url, timeout=30) as http,
    ):
        author = _account(http, f"author_{suffix}")
        reader = _account(http, f"reader_{suffix}")
        author_id = http.get("/v1/users/me", headers={"authorization": f"Bearer {author}"}).json()["id"]
        http.post(f"/v1/users/{author_id}:follow", headers={"authorization": f"Bearer {reader}"}).raise_for_status()
        for n in range(args.posts):
            http.post(
                "/v1/posts", json={"text": f"नमस्ते #भारत {n}"}, headers={"authorization": f"Bearer {author}"}
            ).raise_for_status()
        time.sleep(2)  # fanout
        results: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
            for run in range(args.runs):
                signed = http.post(
                    "/v1/sessions",
                    json={"handle": f"reader_{suffix}", "password": PASSWORD},
                    headers={"koo-refresh-cookie": "1"},
                )
                token = signed.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
                context = browser.new_context(locale="hi-IN")
                context.add_cookies(
                    [
                        {
                            "name": "koo_refresh",
                            "value": token,
                            "domain": "127.0.0.1",
                            "path": "/v1/sessions:refresh",
                            "secure": True,
                            "httpOnly": True,
                            "sameSite": "Strict",
                        }
                    ]
                )
                page = context.new_page()
                page.goto(f"{platform.base_url}/")
                page.wait_for_selector("article.post", timeout=30_000)
                elapsed = float(page.evaluate("performance.now()"))
                results.append(elapsed)
                print(f"run {run + 1}: home feed rendered after {elapsed:.0f} ms")
                context.close()
            browser.close()
    print(f"median {statistics.median(results):.0f} ms, best {min(results):.0f} ms, worst {max(results):.0f} ms")


if __name__ == "__main__":
    main()
