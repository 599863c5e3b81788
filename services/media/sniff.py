"""Judges an upload's type from its first bytes (magic numbers), never from its name or header.

Only the formats of the contract are recognised. Containers that can carry either sound or
pictures (ISO BMFF/MP4, WebM) leave the kind open; ffprobe decides it from the streams.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.media.limits import Kind

# Enough for every signature below, including WebM's DocType inside the EBML header.
SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the bytes are. `demuxer` is the ffmpeg input format to force (audio/video only)."""

    content_type: str
    kind: Kind | None
    ext: str
    demuxer: str = ""


JPEG = Sniffed("image/jpeg", Kind.IMAGE, "jpg")
PNG = Sniffed("image/png", Kind.IMAGE, "png")
GIF = Sniffed("image/gif", Kind.IMAGE, "gif")
WEBP = Sniffed("image/webp", Kind.IMAGE, "webp")
MP3 = Sniffed("audio/mpeg", Kind.AUDIO, "mp3", "mp3")
AAC = Sniffed("audio/aac", Kind.AUDIO, "aac", "aac")
WAV = Sniffed("audio/wav", Kind.AUDIO, "wav", "wav")
OGG = Sniffed("audio/ogg", Kind.AUDIO, "ogg", "ogg")
M4A = Sniffed("audio/mp4", Kind.AUDIO, "m4a", "mov")
MP4 = Sniffed("video/mp4", None, "mp4", "mov")
WEBM = Sniffed("video/webm", None, "webm", "matroska")

# ISO BMFF major/compatible brands of plain MP4 and M4A. HEIF/AVIF (`heic`, `mif1`, `avif`)
# and QuickTime (`qt  `) share the box layout but are not in the contract.
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
_M4A_BRANDS = {b"M4A ", b"M4B "}


def sniff(head: bytes) -> Sniffed | None:
    """The type of a file starting with `head`, or None when it is not one Koo accepts."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: Matroska and WebM differ only in the DocType string.
        return WEBM if b"webm" in head[:64] else None
    if head.startswith(b"OggS"):
        # Ogg carries Opus or Vorbis sound (or Theora video, which the contract leaves out);
        # the first page's packet names the codec.
        return OGG if (b"OpusHead" in head[:64] or b"\x01vorbis" in head[:64]) else None
    if head.startswith(b"ID3"):
        return MP3
    if len(head) >= 2 and head[0] == 0xFF:
        # Frame sync: ADTS AAC is 0xFFF0/0xFFF8 with layer bits 00; MPEG audio layer III
        # is 0xFFE2..0xFFFB with layer bits 01.
        second = head[1]
        if second & 0xF6 == 0xF0:
            return AAC
        if second & 0xE0 == 0xE0 and (second >> 1) & 0x03 == 0x01:
            return MP3
    return None


def _iso_bmff(head: bytes) -> Sniffed | None:
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head), 64), 4)}
    if major in _M4A_BRANDS:
        return M4A
    if major in _MP4_BRANDS or (compatible & _MP4_BRANDS and major not in {b"qt  ", b"heic", b"mif1", b"avif"}):
        return MP4
    return None
