"""ffprobe and ffmpeg as asyncio subprocesses, with timeouts.

Uploads are hostile input to a large C decoder, so every call pins the demuxer the sniffer
chose (`-f`), allows only local files (`-protocol_whitelist file`: no playlists reaching
out to URLs or other files) and is killed when it overruns its time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.media.binaries import ffmpeg_command, ffprobe_command

log = logging.getLogger("koo.media.av")

# What the contract's formats carry. Anything else is refused before a decoder sees it.
VIDEO_CODECS = {"h264", "hevc", "mpeg4", "vp8", "vp9", "av1"}
AUDIO_CODECS = {"aac", "mp3", "opus", "vorbis", "flac", "alac"} | {
    f"pcm_{f}" for f in ("u8", "s16le", "s24le", "s32le", "f32le", "f64le", "alaw", "mulaw")
}
# Renditions: what every phone and browser plays.
VIDEO_MAX_SIDE = 1280
AUDIO_BITRATE = "128k"


class AvError(Exception):
    """ffprobe/ffmpeg could not read or convert the file."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class AvTimeout(AvError):
    """The process ran longer than allowed and was killed."""


@dataclass(frozen=True, slots=True)
class Probe:
    format_name: str
    duration_ms: int | None
    video_codec: str
    audio_codec: str
    width: int
    height: int

    @property
    def has_video(self) -> bool:
        return bool(self.video_codec)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codec)


async def run(args: list[str], *, max_runtime: float) -> bytes:
    """Run a command; its stdout, or AvError with the tail of stderr."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), max_runtime)
    except TimeoutError:
        await _kill(proc)
        raise AvTimeout(f"{Path(args[0]).name} ran longer than {max_runtime:.0f} s") from None
    except asyncio.CancelledError:
        # Never leave an ffmpeg running after its caller gave up (shutdown, lost client).
        await _kill(proc)
        raise
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace")[-2000:]
        raise AvError(f"{Path(args[0]).name} exited with {proc.returncode}", stderr=tail)
    return stdout


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def _input(path: Path, demuxer: str) -> list[str]:
    forced = ["-f", demuxer] if demuxer else []
    return ["-protocol_whitelist", "file", *forced, "-i", str(path)]


async def probe(
    path: Path, *, demuxer: str = "", ffprobe: Sequence[str] | None = None, max_runtime: float = 30.0
) -> Probe:
    """What the file holds; `ffprobe` is the command (default: binaries.ffprobe_command())."""
    args = [
        *(ffprobe or ffprobe_command()),
        "-v",
        "error",
        "-hide_banner",
        *_input(path, demuxer),
        "-show_entries",
        "format=format_name,duration:stream=codec_type,codec_name,width,height:stream_disposition=attached_pic",
        "-of",
        "json",
    ]
    out = await run(args, max_runtime=max_runtime)
    try:
        data: dict[str, Any] = json.loads(out or b"{}")
    except json.JSONDecodeError as exc:
        raise AvError("ffprobe answered something other than JSON") from exc
    video: dict[str, Any] = {}
    audio: dict[str, Any] = {}
    for stream in data.get("streams", []):
        kind = stream.get("codec_type")
        # Cover art in MP3/M4A is a "video" stream of one picture; it does not make a video.
        if kind == "video" and not video and not stream.get("disposition", {}).get("attached_pic"):
            video = stream
        elif kind == "audio" and not audio:
            audio = stream
    fmt = data.get("format", {})
    return Probe(
        format_name=str(fmt.get("format_name", "")),
        duration_ms=_ms(fmt.get("duration")),
        video_codec=str(video.get("codec_name", "")),
        audio_codec=str(audio.get("codec_name", "")),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
    )


def _ms(value: object) -> int | None:
    # Streams recorded live (browser WebM) often carry no duration: "N/A" or absent.
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return round(seconds * 1000) if seconds > 0 else None


async def transcode_video(
    src: Path, dest: Path, *, demuxer: str, max_seconds: float, ffmpeg: str | None = None, max_runtime: float = 300.0
) -> None:
    """H.264/AAC MP4, at most 1280 px a side, moov atom first so playback starts at once."""
    scale = (
        f"scale='min({VIDEO_MAX_SIDE},iw)':'min({VIDEO_MAX_SIDE},ih)'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2"
    )
    await run(
        [
            ffmpeg or ffmpeg_command(),
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            *_input(src, demuxer),
            # Bounds the work on files whose header hides their real length.
            "-t",
            f"{max_seconds:.3f}",
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            # Phones write the place of recording into MP4 metadata: drop all of it.
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            "-vf",
            scale,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            AUDIO_BITRATE,
            "-ac",
            "2",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(dest),
        ],
        max_runtime=max_runtime,
    )


async def transcode_audio(
    src: Path, dest: Path, *, demuxer: str, max_seconds: float, ffmpeg: str | None = None, max_runtime: float = 300.0
) -> None:
    """AAC in an MP4 (M4A) container."""
    await run(
        [
            ffmpeg or ffmpeg_command(),
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            *_input(src, demuxer),
            "-t",
            f"{max_seconds:.3f}",
            "-map",
            "0:a:0",
            "-vn",
            "-map_metadata",
            "-1",
            "-c:a",
            "aac",
            "-b:a",
            AUDIO_BITRATE,
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(dest),
        ],
        max_runtime=max_runtime,
    )


async def poster(
    video: Path, dest: Path, *, at_seconds: float, max_side: int, ffmpeg: str | None = None, max_runtime: float = 60.0
) -> None:
    """One JPEG frame of a (transcoded) video, at most `max_side` px a side."""
    await run(
        [
            ffmpeg or ffmpeg_command(),
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-ss",
            f"{at_seconds:.3f}",
            *_input(video, "mov"),
            "-frames:v",
            "1",
            "-vf",
            f"scale={max_side}:{max_side}:force_original_aspect_ratio=decrease",
            "-q:v",
            "4",
            "-f",
            "image2",
            "-c:v",
            "mjpeg",
            str(dest),
        ],
        max_runtime=max_runtime,
    )
