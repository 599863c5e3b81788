"""docs/walkthrough.md, executed: its shell blocks, verbatim, against the test platform."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import Platform

WALKTHROUGH = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.S | re.M)


def test_walkthrough_runs_verbatim(platform: Platform, client: httpx.Client) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    blocks = shell_blocks(WALKTHROUGH.read_text())
    assert len(blocks) >= 7
    script = "set -euo pipefail\n" + "\n".join(blocks)
    # `koo` (the moderator and the compliance report) reaches the platform's database.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-c", script],
        env={
            **os.environ,
            "API": platform.base_url,
            "KOO_DATABASE_URL": platform.env["KOO_DATABASE_URL"],
            "PATH": path,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, f"{result.stderr}\n{output}"
    assert '"status":"ready"' in output
    assert "नमस्ते दुनिया! आज मौसम सुहाना है #भारत" in output
    assert '"hashtags":["भारत"]' in output
    assert '"like_count":"1"' in output
    assert "बिल्कुल सही! ☀️" in output
    assert "asha deletes: 403" in output
    assert "\n404\n" in output
    # Notifications, a report, a moderator's removal, and the compliance report.
    assert '{"unread_count":"2"}' in output
    assert "रवि liked your post" in output and "रवि replied to your post" in output
    assert '"unread_count":"0"' in output  # after markRead
    assert '"reason":"abuse"' in output and '"status":"open"' in output
    assert "asha reads the queue: 403" in output
    assert '"kind":"remove_post"' in output and "insults another user" in output
    assert "reply by id: 404" in output
    assert '{"posts":[],"next_page_token":""}' in output  # replies and search
    assert '"status":"actioned"' in output
    rows = [line.rsplit("  ", 1) for line in output.splitlines() if line.strip().startswith(("action:", "reason:"))]
    report = {key.strip(): value.strip() for key, value in rows}
    assert int(report["reason: abuse or harassment"]) >= 1 and int(report["action: remove post"]) >= 1


README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_walkthrough_runs_verbatim(platform: Platform, client: httpx.Client) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    text = README.read_text()
    block = shell_blocks(text[text.index("<!-- walkthrough -->") :])[0]
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block],
        env={**os.environ, "API": platform.base_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, f"{result.stderr}\n{output}"
    feed = next(line for line in output.splitlines() if line.startswith('{"posts"'))
    assert '"text":"नमस्ते #भारत"' in feed and '"hashtags":["भारत"]' in feed and '"language":"hi"' in feed
    assert '"like_count":"1"' in output
    assert "बिल्कुल सही!" in output
    assert "asha deletes: 403" in output
    assert "after delete: 404" in output
