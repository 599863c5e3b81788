"""The REST routes, read from the `google.api.http` annotations of the contracts.

Nothing here names an RPC: a new annotated RPC gets its route, its OpenAPI operation and
its transcoding from the descriptors alone, and what else the gateway must know of it
(public, rate class, 201 Created) from its `(koo.gateway.v1.rule)` option. RPCs without
an http annotation (internal, service to service) get no route.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor

from gateway.descriptors import backend_name, contract_services, message_of, rpc_path
from gateway.templates import PathTemplate, TemplateError, compile_template
from koo.gateway.v1 import gateway_options_pb2


def gateway_rule(method: MethodDescriptor) -> gateway_options_pb2.GatewayRule:
    """The RPC's `(koo.gateway.v1.rule)` option (all defaults when it has none)."""
    rule: gateway_options_pb2.GatewayRule = method.GetOptions().Extensions[gateway_options_pb2.rule]
    return rule


class Streaming(Enum):
    """How a route talks to its RPC: unary JSON, bytes streamed in or out (media), or a
    stream of messages as server-sent events."""

    UNARY = "unary"
    UPLOAD = "upload"  # client streaming: the request body streams in
    DOWNLOAD = "download"  # server streaming of bytes (a `data` field): the response body streams out
    EVENTS = "events"  # server streaming of messages: text/event-stream, one event per message


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP binding of one RPC."""

    http_method: str
    template: PathTemplate
    method: MethodDescriptor
    body: str  # "*", a top-level field name, or "" (no body)
    response_body: str  # a top-level field of the response, or "" (the whole response)
    public: bool
    rate_class: gateway_options_pb2.RateClass.ValueType
    success_status: int
    backend: str  # which service process answers: "user", "post", ...
    rpc: str  # the gRPC method path
    streaming: Streaming

    @property
    def input(self) -> Descriptor:
        return self.method.input_type

    @property
    def output(self) -> Descriptor:
        return self.method.output_type

    @property
    def path_fields(self) -> tuple[str, ...]:
        return self.template.variables

    def field(self, dotted: str) -> FieldDescriptor | None:
        """A (possibly nested) request field by dotted path."""
        message: Descriptor | None = self.input
        found: FieldDescriptor | None = None
        for part in dotted.split("."):
            if message is None:
                return None
            found = message.fields_by_name.get(part)
            if found is None:
                return None
            message = message_of(found) if found.type == FieldDescriptor.TYPE_MESSAGE else None
        return found

    def query_fields(self) -> list[FieldDescriptor]:
        """Top-level request fields taken from the query string: all but path and body.
        Streamed uploads take none (their request is metadata made from headers, then bytes)."""
        if self.body == "*" or self.streaming is Streaming.UPLOAD:
            return []
        bound = {p.split(".")[0] for p in self.path_fields}
        return [f for f in self.input.fields if f.name not in bound and f.name != self.body]


def _pattern(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise TemplateError("an http rule without a pattern")
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    return kind.upper(), str(getattr(rule, kind))


def _streaming(method: MethodDescriptor) -> Streaming:
    client, server = method.client_streaming, method.server_streaming
    if client and server:
        raise TemplateError(f"{method.full_name}: bidirectional streams cannot be mapped to HTTP")
    if client:
        return Streaming.UPLOAD
    if server:
        data = method.output_type.fields_by_name.get("data")
        is_bytes = data is not None and data.type == data.TYPE_BYTES
        return Streaming.DOWNLOAD if is_bytes else Streaming.EVENTS
    return Streaming.UNARY


def _check_fields(route: Route) -> None:
    for variable in route.path_fields:
        found = route.field(variable)
        if found is None or found.type == FieldDescriptor.TYPE_MESSAGE or found.is_repeated:
            raise TemplateError(f"{route.rpc}: path variable {variable!r} is not a scalar request field")
    if route.body not in ("", "*") and route.input.fields_by_name.get(route.body) is None:
        raise TemplateError(f"{route.rpc}: body {route.body!r} is not a request field")
    if route.response_body and route.output.fields_by_name.get(route.response_body) is None:
        raise TemplateError(f"{route.rpc}: response_body {route.response_body!r} is not a response field")


def routes_of(service: ServiceDescriptor) -> list[Route]:
    found: list[Route] = []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue  # internal RPC: not reachable over REST
        rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
        gateway = gateway_rule(method)
        for binding in [rule, *rule.additional_bindings]:
            http_method, source = _pattern(binding)
            template = compile_template(source)
            route = Route(
                http_method=http_method,
                template=template,
                method=method,
                body=binding.body,
                response_body=binding.response_body,
                public=gateway.public,
                rate_class=gateway.rate_class,
                success_status=201 if gateway.creates and http_method == "POST" else 200,
                backend=backend_name(service),
                rpc=rpc_path(method),
                streaming=_streaming(method),
            )
            _check_fields(route)
            found.append(route)
    return found


def all_routes(services: list[ServiceDescriptor] | None = None) -> list[Route]:
    return [route for service in services or contract_services() for route in routes_of(service)]
