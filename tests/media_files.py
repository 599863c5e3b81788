"""Media fixtures made by the tests themselves (Pillow, ffmpeg): no binary blobs in the repo."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image, ImageDraw

from services.media.binaries import ffmpeg_command

# EXIF tags (TIFF/EXIF numbering).
ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825
# Somewhere in New Delhi.
GPS = {1: "N", 2: (28.0, 36.0, 50.0), 3: "E", 4: (77.0, 12.0, 32.0)}


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    """A JPEG whose left half is red and right half blue, carrying camera make and GPS EXIF."""
    img = Image.new("RGB", size, (0, 0, 255))
    ImageDraw.Draw(img).rectangle((0, 0, size[0] // 2 - 1, size[1]), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[MAKE] = "KooCam"
    exif[GPS_IFD] = GPS
    if orientation is not None:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (40, 30), mode: str = "RGBA") -> bytes:
    img = Image.new(mode, size, (0, 128, 0, 128) if mode == "RGBA" else (0, 128, 0))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 100, 0)).save(out, format=fmt)
    return out.getvalue()


def animated_gif(frames: int = 3, size: tuple[int, int] = (20, 20)) -> bytes:
    images = [Image.new("RGB", size, (i * 60 % 256, 255 - i * 60 % 256, 0)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=80, loop=0, comment=b"secret")
    return out.getvalue()


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as img:
        exif: Image.Exif = img.getexif()
        return exif


async def ffmpeg(*args: str, max_runtime: float = 120.0) -> None:
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_command(), "-nostdin", "-hide_banner", "-v", "error", "-y", *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), max_runtime)
    assert proc.returncode == 0, err.decode(errors="replace")


async def video_mp4(path: Path, *, seconds: float = 3, size: str = "320x240", location: bool = True) -> bytes:
    """H.264/AAC MP4 of a test pattern and a tone; with a recording place in its metadata."""
    meta = ["-metadata", "location=+28.6139+077.2090/"] if location else []
    await ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        *meta, "-f", "mp4", str(path),
    )  # fmt: skip
    return await asyncio.to_thread(path.read_bytes)


async def video_webm(path: Path, *, seconds: float = 1, size: str = "160x120") -> bytes:
    await ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate=15:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
        "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "200k", "-c:a", "libopus", "-shortest",
        "-f", "webm", str(path),
    )  # fmt: skip
    return await asyncio.to_thread(path.read_bytes)


async def audio(path: Path, *, seconds: float, codec: str = "libopus", fmt: str = "ogg") -> bytes:
    """A tone; Ogg/Opus at a low bitrate keeps a 70 s file small."""
    await ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=523:duration={seconds}",
        "-c:a", codec, "-b:a", "24k", "-f", fmt, str(path),
    )  # fmt: skip
    return await asyncio.to_thread(path.read_bytes)
