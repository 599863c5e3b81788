"""ffprobe's JSON answer from PyAV, for machines without an ffprobe binary.

`python -m services.media.avprobe [-protocol_whitelist file] [-f DEMUXER] -i FILE [...]`
prints what `ffprobe -show_entries format=format_name,duration:stream=codec_type,
codec_name,width,height:stream_disposition=attached_pic -of json` prints for the fields
av.probe reads, and exits 1 with the reason on stderr when FFmpeg cannot read the file.
It runs as its own process, like ffprobe: a decoder crash on hostile input ends this
process, not the service, and av.run's timeout still applies.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import av


def describe(path: str, demuxer: str) -> dict[str, Any]:
    with av.open(path, format=demuxer or None, options={"protocol_whitelist": "file"}) as container:
        streams = []
        for stream in container.streams:
            context = stream.codec_context
            entry: dict[str, Any] = {
                "codec_type": stream.type,
                # The codec's own name (`mp3`), as ffprobe says it, not the decoder's (`mp3float`).
                "codec_name": context.codec.canonical_name if context is not None else "",
                "disposition": {"attached_pic": int(bool(stream.disposition & av.stream.Disposition.attached_pic))},
            }
            if isinstance(context, av.VideoCodecContext):
                entry["width"], entry["height"] = context.width, context.height
            streams.append(entry)
        duration = container.duration
        return {
            "streams": streams,
            "format": {
                "format_name": container.format.name,
                "duration": f"{duration / av.time_base:.6f}" if duration else "N/A",
            },
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="avprobe", add_help=False)
    parser.add_argument("-f", dest="demuxer", default="")
    parser.add_argument("-i", dest="path", required=True)
    args, _ignored = parser.parse_known_args(argv)  # ffprobe's output options: the answer is fixed
    try:
        answer = describe(args.path, args.demuxer)
    except (av.FFmpegError, OSError, ValueError) as exc:
        sys.stderr.write(f"{args.path}: {exc}\n")
        return 1
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
