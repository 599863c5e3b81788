"""Where the gateway learns the API: the generated modules' descriptors, and proto comments.

Routes come from the `google.api.http` annotations of every service found under the
generated `koo` package (gen/), so a new annotated RPC, or a new `koo.<svc>.v1` service,
becomes routable by regenerating gen/ alone.

The generated `_pb2` modules do not keep comments, which the OpenAPI document wants as
descriptions. `koo gen` therefore also writes `gateway/descriptors.binpb`: the same files
as a FileDescriptorSet built by buf with source info. Only comments are read from it, and a
unit test fails when it no longer matches gen/ (so CI catches a forgotten `koo gen`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

DESCRIPTOR_SET = Path(__file__).with_name("descriptors.binpb")
# The root of the generated contracts: koo.<service>.v1.<name>_pb2.
CONTRACTS_PACKAGE = "koo"


def contract_files() -> list[FileDescriptor]:
    """Every generated koo.* proto file, imported (which registers it in the default pool)."""
    root = importlib.import_module(CONTRACTS_PACKAGE)
    names: set[str] = set()
    # gen/ is a tree of namespace packages (no __init__.py), which pkgutil does not walk.
    for base in root.__path__:
        folder = Path(base)
        if not folder.is_dir():
            continue  # e.g. an editable install's path hook entry
        for module_file in folder.rglob("*_pb2.py"):
            relative = module_file.relative_to(folder).with_suffix("")
            names.add(".".join((CONTRACTS_PACKAGE, *relative.parts)))
    files = [importlib.import_module(name).DESCRIPTOR for name in sorted(names)]
    return sorted(files, key=lambda f: f.name)


def contract_services() -> list[ServiceDescriptor]:
    return [service for file in contract_files() for service in file.services_by_name.values()]


def backend_name(service: ServiceDescriptor) -> str:
    """`koo.user.v1.UserService` -> `user`: the name of its process and of `KOO_USER_ADDR`."""
    parts = service.full_name.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == CONTRACTS_PACKAGE else parts[0]


def rpc_path(method: MethodDescriptor) -> str:
    """The gRPC method path, `/koo.user.v1.UserService/GetUser`."""
    return f"/{method.containing_service.full_name}/{method.name}"


def walk_messages(message: Descriptor, seen: set[str] | None = None) -> Iterator[Descriptor]:
    """A message and every message type reachable from its fields, each once."""
    seen = set() if seen is None else seen
    if message.full_name in seen:
        return
    seen.add(message.full_name)
    yield message
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            yield from walk_messages(message_of(field), seen)


@dataclass(frozen=True, slots=True)
class Comments:
    """Leading comments of proto elements by full name (`koo.user.v1.User.handle`)."""

    by_name: dict[str, str]

    def get(self, full_name: str) -> str:
        return self.by_name.get(full_name, "")


def _clean(comment: str) -> str:
    lines = [line.strip() for line in comment.strip().splitlines()]
    return "\n".join(lines)


def _file_comments(file: descriptor_pb2.FileDescriptorProto) -> dict[str, str]:
    """Map source locations (paths of field numbers) back to element names."""
    by_path = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location if loc.leading_comments}
    out: dict[str, str] = {}
    package = file.package

    def message(msg: descriptor_pb2.DescriptorProto, prefix: str, path: tuple[int, ...]) -> None:
        name = f"{prefix}.{msg.name}"
        out[name] = by_path.get(path, "")
        for i, field in enumerate(msg.field):
            out[f"{name}.{field.name}"] = by_path.get((*path, 2, i), "")
        for i, nested in enumerate(msg.nested_type):
            message(nested, name, (*path, 3, i))
        for i, enum_type in enumerate(msg.enum_type):
            enum(enum_type, name, (*path, 4, i))

    def enum(en: descriptor_pb2.EnumDescriptorProto, prefix: str, path: tuple[int, ...]) -> None:
        name = f"{prefix}.{en.name}"
        out[name] = by_path.get(path, "")
        for i, value in enumerate(en.value):
            out[f"{name}.{value.name}"] = by_path.get((*path, 2, i), "")

    # Field numbers of FileDescriptorProto: message_type 4, enum_type 5, service 6.
    for i, msg in enumerate(file.message_type):
        message(msg, package, (4, i))
    for i, en in enumerate(file.enum_type):
        enum(en, package, (5, i))
    for i, service in enumerate(file.service):
        name = f"{package}.{service.name}"
        out[name] = by_path.get((6, i), "")
        for j, method in enumerate(service.method):
            out[f"{name}.{method.name}"] = by_path.get((6, i, 2, j), "")
    return {k: _clean(v) for k, v in out.items() if v}


def load_descriptor_set(path: Path = DESCRIPTOR_SET) -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


@cache
def comments() -> Comments:
    """Comments from the committed descriptor set; none (not an error) when it is absent."""
    if not DESCRIPTOR_SET.exists():
        return Comments({})
    merged: dict[str, str] = {}
    for file in load_descriptor_set().file:
        merged.update(_file_comments(file))
    return Comments(merged)


def message_of(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field (the stubs type it as optional)."""
    message = field.message_type
    if message is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return message


def enum_of(field: FieldDescriptor) -> EnumDescriptor:
    enum = field.enum_type
    if enum is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return enum
