"""Request bodies protobuf refuses (a string field with bad UTF-8) as INVALID_ARGUMENT.

grpc-python decodes requests before any service code runs, so a body with invalid UTF-8
in a string field would surface as UNKNOWN. Every service registers its servicer through
`add_strict_servicer`: a body (or, for a client stream, a message) that does not decode
reaches the method as `Undecodable`, which is rejected naming the field (found by walking
the wire format).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message

from services.kit.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A request body that did not decode; `field` names the bad string field if found."""

    field: str


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise IndexError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def bad_utf8_field(descriptor: Descriptor | Any, data: bytes) -> str:
    """The first top-level string field whose bytes are not UTF-8 ("" if none is)."""
    pos = 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                _, pos = _varint(data, pos)
            elif wire_type == 1:
                pos += 8
            elif wire_type == 5:
                pos += 4
            elif wire_type == 2:
                size, pos = _varint(data, pos)
                chunk, pos = data[pos : pos + size], pos + size
                field = descriptor.fields_by_number.get(number)
                if field is not None and field.type == FieldDescriptor.TYPE_STRING:
                    try:
                        chunk.decode("utf-8")
                    except UnicodeDecodeError:
                        return field.name
            else:
                return ""
    except IndexError:
        return ""
    return ""


def _decoder(cls: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    def decode(data: bytes) -> Message | Undecodable:
        try:
            return cls.FromString(data)
        except DecodeError:
            return Undecodable(bad_utf8_field(cls.DESCRIPTOR, data))

    return decode


Behavior = Callable[[Any, grpc.aio.ServicerContext], Any]


def _refuse(request: object) -> None:
    if isinstance(request, Undecodable):
        if request.field:
            raise InvalidArgument(request.field, message=f"{request.field} is not valid UTF-8")
        raise InvalidArgument("request", message="the request body is not a valid message")


def _unary_in(behavior: Behavior) -> Behavior:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
        _refuse(request)
        return await behavior(request, context)

    return checked


def _unary_in_stream_out(behavior: Behavior) -> Behavior:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        _refuse(request)
        async for answer in behavior(request, context):
            yield answer

    return checked


def _stream_in(behavior: Behavior) -> Behavior:
    async def checked(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        async def decoded() -> AsyncIterator[Any]:
            async for request in requests:
                _refuse(request)
                yield request

        return await behavior(decoded(), context)

    return checked


def add_strict_servicer(server: grpc.aio.Server, servicer: object, service: ServiceDescriptor) -> None:
    """Like the generated `add_*Servicer_to_server`, with decoding checked."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in service.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        behavior = getattr(servicer, method.name)
        coding: dict[str, Any] = {
            "request_deserializer": _decoder(request_cls),
            "response_serializer": response_cls.SerializeToString,
        }
        if method.client_streaming and method.server_streaming:
            raise ValueError(f"{method.full_name}: bidirectional streams are not supported")
        if method.client_streaming:
            handler = grpc.stream_unary_rpc_method_handler(_stream_in(behavior), **coding)
        elif method.server_streaming:
            handler = grpc.unary_stream_rpc_method_handler(_unary_in_stream_out(behavior), **coding)
        else:
            handler = grpc.unary_unary_rpc_method_handler(_unary_in(behavior), **coding)
        handlers[method.name] = handler
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)
