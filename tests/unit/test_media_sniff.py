"""The upload type comes from the bytes: signatures of every accepted format, and look-alikes refused."""

from __future__ import annotations

import pytest

from services.media import sniff as s
from services.media.limits import Kind
from tests.media_files import animated_gif, image_bytes, jpeg_with_gps, png_bytes


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (jpeg_with_gps(), s.JPEG),
        (png_bytes(), s.PNG),
        (animated_gif(), s.GIF),
        (image_bytes("WEBP"), s.WEBP),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", s.WAV),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", s.MP3),
        (b"\xff\xfb\x90\x64\x00", s.MP3),
        (b"\xff\xf3\x90\x64\x00", s.MP3),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", s.AAC),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom", s.M4A),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", s.MP4),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", s.MP4),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87", s.WEBM),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead\x01\x01", s.OGG),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x1e\x01vorbis\x00", s.OGG),
    ],
)
def test_accepted_formats_are_recognised(head: bytes, expected: s.Sniffed) -> None:
    assert s.sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"hello, this is text pretending to be a PNG",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"%PDF-1.7\n",
        b"PK\x03\x04zip",
        b"MZ\x90\x00",
        b"#EXTM3U\n#EXT-X-VERSION:3\n",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIF photo
        b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",  # QuickTime
        b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska",  # MKV
        b"OggS\x00\x02" + b"\x00" * 22 + b"\x80theora",  # Ogg video
        b"RIFF\x24\x00\x00\x00AVI LIST",
    ],
)
def test_other_bytes_are_refused(head: bytes) -> None:
    assert s.sniff(head) is None


def test_containers_leave_the_kind_to_ffprobe_but_images_and_audio_do_not() -> None:
    assert s.MP4.kind is None and s.WEBM.kind is None
    assert s.JPEG.kind is Kind.IMAGE and s.M4A.kind is Kind.AUDIO and s.OGG.kind is Kind.AUDIO
