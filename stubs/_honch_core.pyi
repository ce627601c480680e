"""Type stubs for _honch_core, the native module of the honch SDK (Rust; MicroPython user
module and CPython extension)."""

from typing import Any, Callable, Final, Mapping, TypedDict, TypeVar, final

from typing_extensions import Buffer, disjoint_base

_T = TypeVar("_T")

__all__ = [
    "Honch",
    "Client",
    "HonchError",
    "InvalidArgumentError",
    "StorageError",
    "TransportError",
    "OfflineError",
    "RateLimitedError",
    "ServerError",
    "RejectedError",
    "CompressionUnavailableError",
    "NotInitializedError",
    "ERROR_INVALID_ARGUMENT",
    "ERROR_IO",
    "ERROR_TRANSPORT",
    "ERROR_RATE_LIMITED",
    "ERROR_SERVER",
    "ERROR_REJECTED",
    "ERROR_NOT_INITIALIZED",
    "ERROR_QUEUE_FULL",
    "ERROR_TIMEOUT",
    "ERROR_BUSY",
    "ERROR_NOT_SUPPORTED",
    "ERROR_OFFLINE",
    "__version__",
    "SDK_VERSION",
    "SDK_PLATFORM",
]

__version__: Final[str]
SDK_VERSION: Final[str]
SDK_PLATFORM: Final[str]

ERROR_INVALID_ARGUMENT: Final[int]
ERROR_IO: Final[int]
ERROR_TRANSPORT: Final[int]
ERROR_RATE_LIMITED: Final[int]
ERROR_SERVER: Final[int]
ERROR_REJECTED: Final[int]
ERROR_NOT_INITIALIZED: Final[int]
ERROR_QUEUE_FULL: Final[int]
ERROR_TIMEOUT: Final[int]
ERROR_BUSY: Final[int]
ERROR_NOT_SUPPORTED: Final[int]
ERROR_OFFLINE: Final[int]

class HonchError(Exception):
    """Base of every error the SDK raises on purpose; ``status`` is the ERROR_* code."""

    status: int

class InvalidArgumentError(HonchError): ...
class StorageError(HonchError): ...
class TransportError(HonchError): ...
class OfflineError(TransportError): ...
class RateLimitedError(TransportError): ...
class ServerError(TransportError): ...
class RejectedError(HonchError): ...
class CompressionUnavailableError(HonchError): ...
class NotInitializedError(HonchError): ...

class _LastError(TypedDict):
    status: str
    reason: str
    http: int
    os_error: int
    message: str | None
    component: str | None

class _QueueStats(TypedDict):
    depth: int
    bytes_used: int
    bytes_capacity: int
    capacity_dropped_events: int
    oversized_rejected_events: int
    dead_lettered_events: int
    high_watermark_depth: int
    high_watermark_bytes: int
    max_queued_events: int

# Any object exporting a contiguous buffer (bytes, bytearray, memoryview, array.array) is
# sent as its bytes; subclasses of the built-in types count as their base type.
_PropertyValue = None | bool | int | float | str | Buffer | list[Any] | tuple[Any, ...] | Mapping[str, Any]

@disjoint_base
class Honch:
    """The device-analytics client. Keyword arguments only; see the README for each."""

    def __new__(
        cls,
        *args: Any,
        api_key: str = ...,
        device_id: str = ...,
        device_model: str = ...,
        firmware_version: str = ...,
        event_buffer: Buffer = ...,
        endpoint_url: str | None = ...,
        environment: str | None = ...,
        batch_size: int | None = ...,
        max_queued_events: int | None = ...,
        max_event_bytes: int | None = ...,
        transport_timeout_ms: int | None = ...,
        flush_interval_seconds: int | None = ...,
        flush_min_interval_ms: int | None = ...,
        flush_event_threshold: int | None = ...,
        flush_retry_initial_ms: int | None = ...,
        flush_retry_max_ms: int | None = ...,
        battery_low_threshold: int | None = ...,
        connectivity_callback: Callable[[], bool] | None = ...,
        ca_certs: str | bytes | bytearray | memoryview | None = ...,
        verify_tls: bool | None = ...,
        **kwargs: Any,
    ) -> Honch: ...
    def track(self, event: str, properties: Mapping[str, _PropertyValue] | None = None) -> None: ...
    def identify(self, distinct_id: str, traits: Mapping[str, _PropertyValue] | None = None) -> None: ...
    def set_property(self, key: str, value: _PropertyValue = None) -> None: ...
    def connectivity_changed(self, connected: bool) -> None: ...
    def connected(self) -> None: ...
    def disconnected(self) -> None: ...
    def session_start(self, name: str | None = None) -> None: ...
    def session_end(self) -> None: ...
    def reset(self) -> None: ...
    def tick(self) -> None: ...
    def flush(self) -> None: ...
    def shutdown(self) -> None: ...
    def report_log_error(self, message: str, *, component: str | None = None) -> None: ...
    def last_error(self) -> _LastError: ...
    def run(self, function: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T: ...
    def install_error_hook(self) -> bool: ...
    def uninstall_error_hook(self) -> bool: ...
    def get_device_id(self) -> str | None: ...
    def queue_stats(self) -> _QueueStats: ...

@final
class Client(Honch):
    """The reference C module's low-level surface: a Honch built from a config dict, for the
    published honch-micropython wrapper."""

    def __new__(cls, config: dict[str, Any]) -> Client: ...
    def report_log_error(self, component: str | None, message: str) -> None: ...  # type: ignore[override]
    def report_crash(self, report: Mapping[str, str | None]) -> None: ...
