"""A protoc plugin that runs grpc_tools' bundled generators for buf.

buf cannot reach remote plugins here and there is no system protoc, but grpcio-tools ships
protoc with the `python`, `pyi` and `grpc_python` generators built in. buf hands us a
CodeGeneratorRequest; we replay it through grpc_tools.protoc with --descriptor_set_in and
hand the files back as a CodeGeneratorResponse.

Usage (buf.gen.yaml): local: ["python", "tools/protoc_plugin.py", "python" | "grpc_python"]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def main() -> int:
    target = sys.argv[1]
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        descriptors = descriptor_pb2.FileDescriptorSet(file=list(request.proto_file))
        (tmp_path / "in.pb").write_bytes(descriptors.SerializeToString())
        out = tmp_path / "out"
        out.mkdir()
        args = ["protoc", f"--descriptor_set_in={tmp_path / 'in.pb'}", f"--{target}_out={out}"]
        code = protoc.main([*args, *request.file_to_generate])
        if code != 0:
            response.error = f"grpc_tools.protoc --{target}_out failed with exit code {code}"
        else:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    item = response.file.add()
                    item.name = str(path.relative_to(out))
                    item.content = path.read_text(encoding="utf-8")
    sys.stdout.buffer.write(response.SerializeToString())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
