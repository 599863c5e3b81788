"""Image checks and renditions with Pillow: decode, apply orientation, drop metadata, thumbnail.

Everything here is blocking CPU work; callers run it in a thread. The served original is
re-encoded from pixels, which is what guarantees no EXIF (GPS above all), XMP or comments
survive: nothing from the source's metadata is passed to the encoder except the colour
profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from services.kit.errors import ErrorReason
from services.media.limits import (
    ANIMATION_MAX_FRAMES,
    ANIMATION_MAX_PIXELS,
    IMAGE_MAX_PIXELS,
    Rejected,
    unsupported_type,
)
from services.media.sniff import Sniffed

THUMBNAIL_MAX_SIDE = 320
THUMBNAIL_CONTENT_TYPE = "image/jpeg"
# Served originals are capped so a phone's 8000 px photo is not sent to every reader.
ORIGINAL_MAX_SIDE = 4096
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


@dataclass(frozen=True, slots=True)
class CleanImage:
    width: int
    height: int
    content_type: str
    path: Path
    thumbnail_path: Path


def image_size(src: Path, sniffed: Sniffed) -> tuple[int, int, int]:
    """(width, height, frames) from the header alone (nothing decoded), for the budget."""
    fmt = _PILLOW_FORMATS[sniffed.content_type]
    try:
        with Image.open(src, formats=[fmt]) as img:
            width, height = img.size
            if width * height > IMAGE_MAX_PIXELS:
                raise Rejected(
                    f"images must be at most {IMAGE_MAX_PIXELS // 1_000_000} megapixels",
                    reason=ErrorReason.MEDIA_TOO_LARGE,
                )
            frames = getattr(img, "n_frames", 1) if fmt in ("GIF", "WEBP") else 1
            return width, height, int(frames)
    except Rejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise unsupported_type(f"not a readable {fmt} image") from exc


def clean_image(src: Path, sniffed: Sniffed, out_dir: Path) -> CleanImage:
    """Re-encode `src` without metadata (orientation applied) and make a JPEG thumbnail."""
    fmt = _PILLOW_FORMATS[sniffed.content_type]
    try:
        # `formats=` keeps Pillow to the decoder the bytes were judged to need.
        with Image.open(src, formats=[fmt]) as img:
            width, height = img.size
            if width * height > IMAGE_MAX_PIXELS:
                raise Rejected(
                    f"images must be at most {IMAGE_MAX_PIXELS // 1_000_000} megapixels",
                    reason=ErrorReason.MEDIA_TOO_LARGE,
                )
            out = out_dir / f"original.{sniffed.ext}"
            animated = getattr(img, "n_frames", 1) > 1
            first = _save_animation(img, fmt, out) if animated else _save_still(img, fmt, out)
    except Rejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Truncated or corrupt data behind a valid signature.
        raise unsupported_type(f"not a readable {fmt} image") from exc
    thumb = out_dir / "thumbnail.jpg"
    _save_thumbnail(first, thumb)
    return CleanImage(first.width, first.height, sniffed.content_type, out, thumb)


def _save_still(img: Image.Image, fmt: str, out: Path) -> Image.Image:
    img.load()
    # Rotates/flips the pixels as EXIF Orientation says, so viewers that ignore EXIF (and
    # the metadata-free copy below) show the photo upright.
    upright = ImageOps.exif_transpose(img)
    upright.thumbnail((ORIGINAL_MAX_SIDE, ORIGINAL_MAX_SIDE), Image.Resampling.LANCZOS)
    params: dict[str, object] = {}
    icc = img.info.get("icc_profile")
    if icc and fmt in ("JPEG", "PNG", "WEBP"):
        params["icc_profile"] = icc
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L"):
            # CMYK/YCCK: the source profile no longer describes the converted pixels.
            upright = upright.convert("RGB")
            params.pop("icc_profile", None)
        params.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=90)
    elif fmt == "PNG" and "transparency" in img.info:
        params["transparency"] = img.info["transparency"]
    elif fmt == "GIF":
        params.update(comment=b"")
        if "transparency" in img.info:
            params["transparency"] = img.info["transparency"]
    # A fresh info dict: Pillow encoders fall back to `info` for some fields.
    upright.info = {}
    upright.save(out, format=fmt, **params)
    return upright


def _save_animation(img: Image.Image, fmt: str, out: Path) -> Image.Image:
    n_frames = getattr(img, "n_frames", 1)
    if n_frames > ANIMATION_MAX_FRAMES or n_frames * img.width * img.height > ANIMATION_MAX_PIXELS:
        raise Rejected(
            f"animated images must have at most {ANIMATION_MAX_FRAMES} frames "
            f"and {ANIMATION_MAX_PIXELS // 1_000_000} megapixels in all",
            reason=ErrorReason.MEDIA_TOO_LARGE,
        )
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(img):
        durations.append(int(frame.info.get("duration", 100)))
        copy = frame.copy()
        # Copies carry the frame's info (comments, XMP, EXIF); keep only timing-free pixels.
        copy.info = {"transparency": frame.info["transparency"]} if "transparency" in frame.info else {}
        frames.append(copy)
    params: dict[str, object] = {"save_all": True, "append_images": frames[1:], "duration": durations}
    params["loop"] = int(img.info.get("loop", 0))
    if fmt == "GIF":
        params.update(comment=b"", disposal=2)
    else:
        params.update(quality=90)
    frames[0].save(out, format=fmt, **params)
    return frames[0]


def _save_thumbnail(img: Image.Image, out: Path) -> None:
    thumb = img.copy()
    if thumb.mode in ("RGBA", "LA", "P", "PA"):
        # JPEG has no alpha: flatten transparent images onto white, not black.
        rgba = thumb.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        thumb = background
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    thumb.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), Image.Resampling.LANCZOS)
    thumb.info = {}
    thumb.save(out, format="JPEG", quality=80, optimize=True)
