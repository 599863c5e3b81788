"""OpenTelemetry: one tracer provider per process; OTLP export only when configured."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

_provider: TracerProvider | None = None
_instrumented = False


def setup_tracing(service: str, otlp_endpoint: str = "", *, exporter: SpanExporter | None = None) -> TracerProvider:
    """Install the global tracer provider and instrument gRPC, Redis and SQL.

    Only when spans have somewhere to go (`otlp_endpoint` set, or an `exporter` given, as
    tests do): instrumentation builds spans for every call and statement, which profiling
    showed costs real CPU per request for nothing when no exporter is configured. Without
    it, log lines still carry the request id (services.kit.logs).
    """
    global _provider, _instrumented
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"koo-{service}"}))
    processor: SpanProcessor | None = None
    if exporter is not None:
        processor = BatchSpanProcessor(exporter, schedule_delay_millis=100)
    elif otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True))
    trace.set_tracer_provider(provider)
    _provider = provider
    if processor is None:
        return provider
    provider.add_span_processor(processor)
    _instrumented = True

    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    GrpcAioInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient().instrument()  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument()
    return provider


def instrument_engine(engine: object) -> None:
    """Trace SQL statements of an AsyncEngine (when tracing is exporting)."""
    if not _instrumented:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    sync_engine = getattr(engine, "sync_engine", engine)
    SQLAlchemyInstrumentor().instrument(engine=sync_engine)


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.shutdown()
