"""Stand-in for MicroPython's `micropython` module on CPython (see README.md)."""


def const(value):
    """MicroPython folds const() at compile time; on CPython it is the value itself."""
    return value


def mem_info(*_args):
    """MicroPython prints heap statistics; CPython has no equivalent, so this prints nothing."""
    return None
