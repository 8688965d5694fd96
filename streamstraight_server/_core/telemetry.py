"""OpenTelemetry, when the app uses it: a span per stream and metrics, at no cost otherwise.

Nothing here imports OpenTelemetry. The client decides per stream whether telemetry is on:

- ``telemetry=False``: never;
- ``tracer_provider=`` / ``meter_provider=`` given: always, with those providers;
- ``telemetry=True``: always, with the global providers (ConfigurationError without the
  ``otel`` extra);
- ``telemetry=None`` (the default): once the app has set a global tracer or meter provider
  (itself, or an auto-instrumentation agent), with the global providers. Until ``opentelemetry``
  is imported by someone this costs a dict lookup per stream; after that (other libraries may
  import it too) two calls that read the global providers.

Only then is ``_otel`` (which imports ``opentelemetry-api``) imported. A stream then costs one
span, one event per drop, resume, data loss or stop, and a batch of metric records at its end;
nothing is recorded per chunk.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .stats import StreamCounters, WriterStats


class StreamTrace(Protocol):
    """One stream's span and the metrics recorded when it ends."""

    def event(self, name: str, attributes: dict[str, Any]) -> None: ...

    def end(
        self, stats: WriterStats, counters: StreamCounters, error: BaseException | None
    ) -> None: ...


class Telemetry(Protocol):
    def start(self, stream_id: str) -> StreamTrace: ...


#: the API's stand-ins for a provider nobody set
_PLACEHOLDERS = (
    "ProxyTracerProvider",
    "NoOpTracerProvider",
    "_ProxyMeterProvider",
    "NoOpMeterProvider",
)


def providers_configured() -> bool:
    """Whether the app set a global tracer or meter provider; imports nothing (a provider can
    only have been set through modules already imported)."""
    for module_name, getter in (
        ("opentelemetry.trace", "get_tracer_provider"),
        ("opentelemetry.metrics", "get_meter_provider"),
    ):
        module = sys.modules.get(module_name)
        if module is not None:
            provider = getattr(module, getter)()
            if type(provider).__name__ not in _PLACEHOLDERS:
                return True
    return False


class TelemetryChoice:
    """A client's telemetry setting, resolved when its first stream needs it."""

    def __init__(
        self,
        setting: bool | None,
        base_url: str,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        if setting not in (None, True, False):
            raise ConfigurationError(f"telemetry must be True, False or None, not {setting!r}")
        if setting is False and (tracer_provider is not None or meter_provider is not None):
            raise ConfigurationError(
                "telemetry=False and a tracer_provider or meter_provider were both given; "
                "drop one of them"
            )
        self._setting = setting
        self._base_url = base_url
        self._providers = (tracer_provider, meter_provider)
        self._lock = threading.Lock()
        self._telemetry: Telemetry | None = None
        if setting is True or tracer_provider is not None or meter_provider is not None:
            self._telemetry = self._build()

    def current(self) -> Telemetry | None:
        """The telemetry to use for a stream starting now, or None: a dict lookup when off."""
        telemetry = self._telemetry
        if telemetry is not None or self._setting is False:
            return telemetry
        if "opentelemetry" not in sys.modules:
            return None
        with self._lock:
            if self._telemetry is None and self._setting is None and providers_configured():
                try:
                    self._telemetry = self._build()
                except ConfigurationError:  # an opentelemetry without its API: stay off
                    self._setting = False
            return self._telemetry

    def _build(self) -> Telemetry:
        try:
            from . import _otel
        except ImportError as exc:
            raise ConfigurationError(
                "telemetry needs the opentelemetry-api package: "
                "pip install 'streamstraight-server[otel]'"
            ) from exc
        tracer_provider, meter_provider = self._providers
        return _otel.OtelTelemetry(self._base_url, tracer_provider, meter_provider)
