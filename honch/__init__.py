"""honch: device analytics for MicroPython boards and CPython.

The client and its errors are implemented in the native module ``_honch_core`` (Rust);
this package only re-exports them, so ``import honch`` costs almost nothing.
"""

try:
    import _honch_core
except ImportError:
    raise ImportError(
        "honch needs the _honch_core native module: build the firmware with "
        "USER_C_MODULES pointing at honch (see the README), or pip install honch on CPython"
    )

from _honch_core import (
    Honch,
    HonchError,
    InvalidArgumentError,
    StorageError,
    TransportError,
    OfflineError,
    RateLimitedError,
    ServerError,
    RejectedError,
    CompressionUnavailableError,
    NotInitializedError,
    __version__,
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
