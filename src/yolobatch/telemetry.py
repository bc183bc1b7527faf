"""What a process tells its operators besides its logs: the Temporal runtime's metrics and Core logs, a
Prometheus endpoint, and (optionally) OpenTelemetry traces.

One `Runtime` per process, installed as Temporal's default before the first client connects:
- the Core (Rust) logs are forwarded into Python logging, so they come out through `yolobatch.logs` like
  everything else instead of as a second, differently formatted stream on stderr;
- with `metrics_port` set, Core serves its Prometheus metrics on a loopback port of its own, and our
  endpoint on `metrics_host:metrics_port` serves them together with the process's (CPU, memory, open
  files) and, where the API runs, the read model's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from yolobatch.logs import get_logger
from yolobatch.settings import Settings

CORE_LOGGER = "temporalio.core"
log = get_logger(__name__)


class TelemetryError(RuntimeError):
    """A telemetry setting that cannot be honoured (port taken, extra not installed)."""


def install_runtime(*, core_metrics_address: str | None = None) -> Runtime:
    """Make a runtime that forwards Core logs (and serves Core metrics on `core_metrics_address`) the default
    for every client made after this. Units in the names, seconds for durations, `_total` on counters: the
    Prometheus conventions, not Core's defaults."""
    level = "INFO" if logging.getLogger().isEnabledFor(logging.DEBUG) else "WARN"
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level=level, other_level="ERROR"),
                forwarding=LogForwardingConfig(
                    logger=logging.getLogger(CORE_LOGGER),
                    append_target_to_name=False,
                    prepend_target_on_message=False,
                    append_log_fields_to_message=False,  # kept as fields by yolobatch.logs
                ),
            ),
            metrics=PrometheusConfig(
                bind_address=core_metrics_address,
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            )
            if core_metrics_address
            else None,
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    return runtime


@dataclass
class MetricsEndpoint:
    """`GET /metrics` on its own port: our registry's metrics, then Core's, fetched at scrape time."""

    host: str
    port: int
    registry: CollectorRegistry
    core_url: str | None = None
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = endpoint.scrape()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a scrape every 15 s is not news

        try:
            self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as exc:
            raise TelemetryError(f"cannot serve metrics on {self.host}:{self.port}: {exc.strerror}") from None
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True).start()

    def scrape(self) -> bytes:
        body = generate_latest(self.registry)
        if self.core_url:
            try:
                with urllib.request.urlopen(self.core_url, timeout=5) as response:
                    body += response.read()
            except OSError as exc:
                log.warning("temporal core metrics unavailable", error=str(exc))
        return body

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextlib.contextmanager
def process_telemetry(settings: Settings, *, read_model: Collector | None = None) -> Iterator[str | None]:
    """For a long-running process (`up`, `api`, `worker`): the runtime, and the metrics endpoint when
    `metrics_port` is set (yields its URL, else None). Call before the process's first Temporal client."""
    if settings.metrics_port is None:
        install_runtime()
        yield None
        return
    from yolobatch.engine.devserver import free_port

    core = f"127.0.0.1:{free_port()}"
    install_runtime(core_metrics_address=core)
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    if read_model is not None:
        registry.register(read_model)
    endpoint = MetricsEndpoint(
        settings.metrics_host, settings.metrics_port, registry, f"http://{core}/metrics"
    )
    endpoint.start()
    try:
        yield endpoint.url
    finally:
        endpoint.stop()


def traced(client: Client, settings: Settings) -> Client:
    """`client`, with spans for what it starts and what the workers built on it run, when `otel_tracing`."""
    interceptors = tracing_interceptors(settings)
    if not interceptors:
        return client
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *interceptors]
    return Client(**config)


def tracing_interceptors(settings: Settings) -> list[Any]:
    """With `otel_tracing`, the Temporal SDK's OpenTelemetry interceptor (client and worker side), exporting
    to the OTLP endpoint of the standard OTEL_EXPORTER_OTLP_* variables unless the process already has a
    tracer provider (e.g. under `opentelemetry-instrument`)."""
    if not settings.otel_tracing:
        return []
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError:
        raise TelemetryError(
            "YOLOBATCH_OTEL_TRACING needs the otel extra: pip install 'yolobatch[otel]'"
        ) from None
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        name = os.environ.get("OTEL_SERVICE_NAME", "yolobatch")
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    return [TracingInterceptor()]
