from _honch_core import (
    CompressionUnavailableError as CompressionUnavailableError,
    Honch as Honch,
    HonchError as HonchError,
    InvalidArgumentError as InvalidArgumentError,
    NotInitializedError as NotInitializedError,
    OfflineError as OfflineError,
    RateLimitedError as RateLimitedError,
    RejectedError as RejectedError,
    ServerError as ServerError,
    StorageError as StorageError,
    TransportError as TransportError,
    __version__ as __version__,
)

__all__ = [
    "Honch",
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
    "__version__",
]
