import honch
import _honch_core
from check import eq, true

CLASSES = (
    ("HonchError", Exception, 12),
    ("InvalidArgumentError", "HonchError", 1),
    ("StorageError", "HonchError", 3),
    ("TransportError", "HonchError", 4),
    ("OfflineError", "TransportError", 15),
    ("RateLimitedError", "TransportError", 5),
    ("ServerError", "TransportError", 6),
    ("RejectedError", "HonchError", 7),
    ("CompressionUnavailableError", "HonchError", 14),
    ("NotInitializedError", "HonchError", 8),
)


def test_hierarchy_and_class_status():
    for name, parent, status in CLASSES:
        cls = getattr(honch, name)
        true(cls is getattr(_honch_core, name), name + " is re-exported")
        base = parent if parent is Exception else getattr(honch, parent)
        true(issubclass(cls, base), "%s derives %s" % (name, base))
        true(issubclass(cls, Exception), name + " is an Exception")
        eq(cls.status, status, name + ".status")


def test_instances_carry_status_and_message():
    for name, _, status in CLASSES:
        e = getattr(honch, name)("some text")
        eq(e.status, status, name + "().status")
        eq(str(e), "some text")
        eq(e.args, ("some text",))


def test_error_constants():
    expected = {
        "ERROR_INVALID_ARGUMENT": 1,
        "ERROR_IO": 3,
        "ERROR_TRANSPORT": 4,
        "ERROR_RATE_LIMITED": 5,
        "ERROR_SERVER": 6,
        "ERROR_REJECTED": 7,
        "ERROR_NOT_INITIALIZED": 8,
        "ERROR_QUEUE_FULL": 10,
        "ERROR_TIMEOUT": 11,
        "ERROR_BUSY": 13,
        "ERROR_NOT_SUPPORTED": 14,
        "ERROR_OFFLINE": 15,
    }
    for name in expected:
        eq(getattr(_honch_core, name), expected[name], name)


def test_versions_agree():
    true(isinstance(honch.__version__, str) and honch.__version__, "version is a str")
    eq(_honch_core.__version__, honch.__version__)
    eq(_honch_core.SDK_VERSION, honch.__version__)


def test_platform_names_the_runtime():
    import sys

    eq(_honch_core.SDK_PLATFORM, "micropython" if sys.implementation.name == "micropython" else "cpython")


def test_all_lists_the_public_names():
    for name in honch.__all__:
        true(hasattr(honch, name), name)
    eq(len(honch.__all__), 12)
