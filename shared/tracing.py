"""Tracing with OpenTelemetry: one trace from an HTTP request through Kafka, the
dataflow and Mongo back to the API, carried between processes by W3C
``traceparent`` headers on the Kafka messages.

Configured by the standard ``OTEL_*`` variables (the exporter reads its own:
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``..._HEADERS``, ``OTEL_SERVICE_NAME``,
``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ...) and **off** unless
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_TRACES_EXPORTER`` is set. Off, the SDK is not even imported, and each call
site costs one check of ``on()``. Spans go out over OTLP/HTTP (protobuf), or to
stderr with ``OTEL_TRACES_EXPORTER=console``.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
PROTOCOLS = ("", "http/protobuf")
_tracer: Any = None
_propagator: Any = None

Headers = Sequence[tuple[str, bytes | str | None]]


def wanted(env: Mapping[str, str]) -> bool:
    """Whether ``env`` asks for traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def problem(env: Mapping[str, str]) -> str | None:
    """What in the tracing settings cannot work, or None: named at start."""
    if not wanted(env):
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if exporter not in ("otlp", "console"):
        return f"OTEL_TRACES_EXPORTER={exporter!r}: expected otlp, console or none"
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        if env.get(name, "").strip() not in PROTOCOLS:
            return f"{name}={env[name]!r}: this service exports http/protobuf only (an endpoint on port 4318)"
    return None


def start(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on for this process when the settings ask for it; ``service`` is the
    name its spans carry unless OTEL_SERVICE_NAME gives one. Returns whether it is on."""
    global _tracer, _propagator
    env = os.environ if env is None else env
    if _tracer is not None or not wanted(env):
        return _tracer is not None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    named = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": service}
    provider = TracerProvider(resource=Resource.create(named))  # OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    atexit.register(provider.shutdown)  # the spans still queued go out at exit
    _tracer = provider.get_tracer("order-service")
    _propagator = TraceContextTextMapPropagator()
    log.info("tracing on: spans of %s go to %s", named.get("service.name", env.get("OTEL_SERVICE_NAME")), exporter)
    return True


def on() -> bool:
    return _tracer is not None


def tracer() -> Any:
    return _tracer


def parent_from(headers: Headers | Mapping[str, str] | None) -> Any:
    """The context a ``traceparent`` in ``headers`` (Kafka's or HTTP's) names, or None."""
    if not headers:
        return None
    pairs: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {}
    for name, value in pairs:
        if name.lower() in (TRACEPARENT, TRACESTATE) and value is not None:
            carrier[name.lower()] = value.decode("latin-1") if isinstance(value, bytes) else value
    return _propagator.extract(carrier) if TRACEPARENT in carrier else None


def kafka_headers(context: Any = None) -> list[tuple[str, bytes]]:
    """``traceparent`` (and ``tracestate``) of ``context`` (default: the current span), as Kafka headers."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=context)
    return [(name, value.encode()) for name, value in carrier.items()]


def context_of(span: Any) -> Any:
    from opentelemetry import trace

    return trace.set_span_in_context(span)
