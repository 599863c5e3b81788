"""Time from upload to READY for short videos (media service + media-worker, real gRPC).

    KOO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    KOO_TEST_REDIS_URL=redis://127.0.0.1:6379/0 python -m tests.load.media_processing [runs]

Starts the stack in-process like the test suite, makes its fixtures with ffmpeg, and
prints the median and worst of `runs` uploads per fixture. Results go in docs/performance.md.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from koo.media.v1 import media_service_pb2 as pb
from services.kit.migrations import upgrade_all
from tests.backends import test_database, test_redis
from tests.harness import start_stack
from tests.integration.test_media import account, upload, wait_until_settled
from tests.media_files import ffmpeg, video_mp4


async def noisy_720p(path: Path) -> bytes:
    """Phone-like: 720p30 at 5 Mbit/s, with grain so the encoder cannot coast on a synthetic pattern."""
    await ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=3,noise=alls=12:allf=t",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "5M", "-maxrate", "5M", "-bufsize", "10M",
        "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-shortest", "-f", "mp4", str(path),
    )  # fmt: skip
    return await asyncio.to_thread(path.read_bytes)


async def measure(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        with test_database(data_dir) as database_url, test_redis(data_dir) as redis_url:
            upgrade_all(database_url)
            stack = await start_stack(database_url=database_url, redis_url=redis_url, data_dir=data_dir)
            try:
                who = await account(stack)
                fixtures = {
                    "3 s, 320x240 25 fps test pattern (the test fixture)": await video_mp4(data_dir / "a.mp4"),
                    "3 s, 1280x720 25 fps test pattern": await video_mp4(data_dir / "b.mp4", size="1280x720"),
                    "3 s, 1280x720 30 fps 5 Mbit/s with grain (phone-like)": await noisy_720p(data_dir / "c.mp4"),
                }
                for label, data in fixtures.items():
                    times = []
                    for _ in range(runs):
                        started = time.perf_counter()
                        media = await upload(stack, who, data)
                        media = await wait_until_settled(stack, who, media.id)
                        assert media.status == pb.MEDIA_STATUS_READY, media.failure_reason
                        times.append(time.perf_counter() - started)
                    print(
                        f"{label}: {len(data) / 1024:.0f} KiB in, {media.size_bytes / 1024:.0f} KiB out; "
                        f"upload -> READY median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
                        f"({runs} runs)"
                    )
            finally:
                await stack.close()


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
