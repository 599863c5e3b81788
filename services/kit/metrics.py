"""OpenTelemetry metrics: consumer lag and dead-letter depth per stream and group.

Every event consumer of the process refreshes its group's figures itself (every 15 s,
`StreamConsumer.stats`); the gauges below read them when the reader collects, so an export
never waits on Redis. Exported over OTLP when `KOO_OTLP_ENDPOINT` is set (or to the reader
a test gives); the thresholds to alert on are in docs/reliability.md.

| instrument | unit | meaning |
|---|---|---|
| `koo.events.consumer.lag` | {event} | entries not yet delivered to the group |
| `koo.events.consumer.pending` | {event} | delivered, not yet acknowledged |
| `koo.events.consumer.oldest_unacked_age` | s | age of the oldest unacknowledged entry |
| `koo.events.dead_letters` | {event} | entries in the group's dead-letter stream |
| `koo.events.consumer.waiting` | 1 | 1 while the consumer rides out a dependency outage |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

from services.kit.events import LIVE_CONSUMERS, ConsumerStats

_provider: MeterProvider | None = None


def setup_metrics(service: str, otlp_endpoint: str = "", *, reader: MetricReader | None = None) -> MeterProvider | None:
    """Install the meter provider and the event gauges (when metrics have somewhere to go)."""
    global _provider
    if _provider is not None:
        return _provider
    if reader is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlp_endpoint, insecure=True))
    if reader is None:
        return None
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({SERVICE_NAME: f"koo-{service}"}))
    metrics.set_meter_provider(provider)
    _provider = provider
    register_event_gauges(provider.get_meter("koo.events"))
    return provider


def _observe(value: Callable[[ConsumerStats], float]) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        seen: set[tuple[str, str]] = set()
        for consumer in list(LIVE_CONSUMERS):
            key = (consumer.stream, consumer.group)
            if key in seen:  # several consumers of one group report the same figures
                continue
            seen.add(key)
            yield Observation(value(consumer.stats), {"stream": consumer.stream, "group": consumer.group})

    return callback


def register_event_gauges(meter: metrics.Meter) -> None:
    meter.create_observable_gauge(
        "koo.events.consumer.lag", [_observe(lambda s: s.lag)], unit="{event}", description="entries not yet delivered"
    )
    meter.create_observable_gauge(
        "koo.events.consumer.pending",
        [_observe(lambda s: s.pending)],
        unit="{event}",
        description="entries delivered, not yet acknowledged",
    )
    meter.create_observable_gauge(
        "koo.events.consumer.oldest_unacked_age",
        [_observe(lambda s: s.oldest_unacked_seconds)],
        unit="s",
        description="age of the oldest unacknowledged entry",
    )
    meter.create_observable_gauge(
        "koo.events.dead_letters",
        [_observe(lambda s: s.dead_letters)],
        unit="{event}",
        description="entries parked in the group's dead-letter stream",
    )
    meter.create_observable_gauge(
        "koo.events.consumer.waiting",
        [_observe(lambda s: 1 if s.waiting_for else 0)],
        unit="1",
        description="1 while the consumer waits out a dependency outage",
    )


def shutdown_metrics() -> None:
    if _provider is not None:
        _provider.shutdown()
