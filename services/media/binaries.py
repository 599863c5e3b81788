"""Where ffmpeg and ffprobe come from: the system's when installed, else Python packages.

A machine with only Python still processes audio and video: imageio-ffmpeg ships a static
ffmpeg (libx264, AAC, libvpx, Opus), and since it has no ffprobe, probing runs
`python -m services.media.avprobe` (PyAV, FFmpeg's libraries) in its own process. Both
come with the `local` extra; the container image installs Debian's ffmpeg instead.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys

_INSTALL = "install ffmpeg (apt-get install ffmpeg) or Koo's `local` extra (pip install 'koo[local]')"


class MissingTool(RuntimeError):
    """Neither the configured binary nor its packaged stand-in is installed."""


def ffmpeg_command(configured: str = "ffmpeg") -> str:
    """The ffmpeg to run: `configured` (a name on the PATH or a path), else imageio-ffmpeg's."""
    found = shutil.which(configured)
    if found:
        return found
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        raise MissingTool(f"ffmpeg ({configured!r}) was not found: {_INSTALL}")
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def ffprobe_command(configured: str = "ffprobe") -> tuple[str, ...]:
    """The ffprobe to run (as argv): `configured`, else PyAV's stand-in."""
    found = shutil.which(configured)
    if found:
        return (found,)
    if importlib.util.find_spec("av") is None:
        raise MissingTool(f"ffprobe ({configured!r}) was not found: {_INSTALL}")
    return (sys.executable, "-m", "services.media.avprobe")
