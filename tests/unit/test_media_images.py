"""Image cleaning with Pillow: metadata gone, orientation applied, thumbnails, bombs refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from services.kit.errors import ErrorReason
from services.media import images
from services.media.limits import Rejected
from services.media.sniff import GIF, JPEG, PNG, WEBP, sniff
from tests.media_files import GPS, GPS_IFD, MAKE, ORIENTATION, animated_gif, exif_of, jpeg_with_gps, png_bytes


def clean(tmp_path: Path, data: bytes) -> images.CleanImage:
    src = tmp_path / "upload"
    src.write_bytes(data)
    sniffed = sniff(data)
    assert sniffed is not None
    return images.clean_image(src, sniffed, tmp_path)


def test_gps_and_all_exif_are_removed(tmp_path: Path) -> None:
    data = jpeg_with_gps()
    assert exif_of(data).get_ifd(GPS_IFD) and exif_of(data)[MAKE] == "KooCam"
    out = clean(tmp_path, data).path.read_bytes()
    assert len(exif_of(out)) == 0
    assert b"Exif" not in out and b"KooCam" not in out
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and "exif" not in img.info


@pytest.mark.parametrize(("orientation", "size"), [(1, (64, 48)), (3, (64, 48)), (6, (48, 64)), (8, (48, 64))])
def test_orientation_is_applied_to_the_pixels(tmp_path: Path, orientation: int, size: tuple[int, int]) -> None:
    result = clean(tmp_path, jpeg_with_gps((64, 48), orientation=orientation))
    assert (result.width, result.height) == size
    with Image.open(result.path) as img:
        assert img.size == size and ORIENTATION not in img.getexif()
        if orientation == 6:
            # Rotated 90 degrees clockwise for display: the red left half is now on top.
            top, bottom = img.getpixel((24, 2)), img.getpixel((24, 61))
            assert isinstance(top, tuple) and isinstance(bottom, tuple)
            assert top[0] > 200 and top[2] < 60
            assert bottom[2] > 200 and bottom[0] < 60


def test_png_keeps_alpha_and_gets_a_white_backed_jpeg_thumbnail(tmp_path: Path) -> None:
    result = clean(tmp_path, png_bytes((1000, 500)))
    assert result.content_type == "image/png" and (result.width, result.height) == (1000, 500)
    with Image.open(result.path) as img:
        assert img.mode == "RGBA"
    with Image.open(result.thumbnail_path) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (images.THUMBNAIL_MAX_SIDE, 160)
        pixel = thumb.getpixel((10, 10))
        assert isinstance(pixel, tuple) and pixel[0] > 100  # green at half alpha over white


def test_webp_and_animated_gif(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[MAKE] = "KooCam"
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, format="WEBP", exif=exif)
    assert b"KooCam" in out.getvalue()
    webp = clean(tmp_path, out.getvalue())
    assert webp.content_type == WEBP.content_type and b"KooCam" not in webp.path.read_bytes()

    gif = clean(tmp_path, animated_gif(frames=4))
    with Image.open(gif.path) as img:
        assert img.format == "GIF" and getattr(img, "n_frames", 1) == 4
    assert b"secret" not in gif.path.read_bytes()


def test_huge_dimensions_are_refused_before_decoding(tmp_path: Path) -> None:
    # 1-bit 8000x8000 compresses to almost nothing but claims 64 megapixels.
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")
    with pytest.raises(Rejected) as info:
        clean(tmp_path, out.getvalue())
    assert info.value.reason == ErrorReason.MEDIA_TOO_LARGE and "megapixels" in info.value.message


@pytest.mark.parametrize("sniffed", [JPEG, PNG, GIF])
def test_a_valid_signature_over_junk_is_refused(tmp_path: Path, sniffed: object) -> None:
    heads = {JPEG: b"\xff\xd8\xff\xe0", PNG: b"\x89PNG\r\n\x1a\n", GIF: b"GIF89a"}
    with pytest.raises(Rejected) as info:
        clean(tmp_path, heads[sniffed] + b"\x00junk" * 100)  # type: ignore[index]
    assert info.value.reason == ErrorReason.MEDIA_TYPE_UNSUPPORTED
