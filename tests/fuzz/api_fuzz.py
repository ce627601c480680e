"""Randomized API fuzz harness for `honch` (one file, runs unchanged on MicroPython and CPython).

    <python-or-micropython> tests/fuzz/api_fuzz.py [--seed N] [--cases N] [--seconds S]
        [--start K] [--epoch E] [--heap[=KB]] [--verbose] [--log FILE] [--outcomes FILE]
        [--only K1,K2,...] [--timing]

`--only` runs just the listed cases of the range (tests/fuzz/shrink.py uses it to find the few
earlier calls a failure needs).

Case K belongs to epoch K // E. An epoch is one client (built from a random configuration on a
random event_buffer) and the E operations run on it; its random stream is derived from
(seed, epoch) only, so `--start K` reproduces case K exactly (the earlier cases of its epoch are
run again, uncounted, to rebuild the client's state). The random stream never depends on what
the SDK returned, so both runtimes run the same calls with the same values for a given seed
(`--outcomes` writes one line per case; tests/fuzz/compare.py compares two such files).

After every case the harness checks the invariants listed in tests/fuzz/README.md. A violated
invariant prints `FAIL case K [kind] ...` with the operation and a repr of its values, and the run
goes on. Last line: `N passed, M failed`; exit status 1 if M > 0.

Only 127.0.0.1 is ever contacted (port 9 or 1: nothing listens, connections are refused).
"""

import sys
import gc

try:
    import time
except ImportError:  # pragma: no cover
    time = None
try:
    import array
except ImportError:  # pragma: no cover
    array = None
try:
    import weakref  # CPython: leak check (MicroPython's GC traces cycles; it has no weakref)
except ImportError:
    weakref = None

import honch

MP = sys.implementation.name == "micropython"

try:
    BufferError
except NameError:

    class BufferError(Exception):  # MicroPython has none; never raised there
        pass

HonchError = honch.HonchError
MASK = 0xFFFFFFFF

# ---------------------------------------------------------------------------------------------
# Deterministic PRNG (xorshift32): same sequence on both runtimes.


class Rng:
    def __init__(self, seed):
        s = seed & MASK
        if s == 0:
            s = 0x9E3779B9
        self.s = s
        for _ in range(3):
            self.next()

    def next(self):
        x = self.s
        x ^= (x << 13) & MASK
        x ^= x >> 17
        x ^= (x << 5) & MASK
        self.s = x
        return x

    def below(self, n):
        # always exactly one draw, whatever n is
        r = self.next()
        if n <= 1:
            return 0
        return r % n

    def between(self, a, b):
        return a + self.below(b - a + 1)

    def chance(self, pct):
        return self.below(100) < pct

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def fork(self):
        return Rng(self.next() ^ 0x5BD1E995)

    def weighted(self, table):
        total = 0
        for w, _ in table:
            total += w
        r = self.below(total)
        for w, item in table:
            if r < w:
                return item
            r -= w
        return table[-1][1]


def mix(seed, epoch):
    h = (seed * 0x9E3779B1 + epoch * 0x85EBCA77 + 0x27D4EB2F) & MASK
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & MASK
    h ^= h >> 12
    h = (h * 0x297A2D39) & MASK
    h ^= h >> 15
    return h


# ---------------------------------------------------------------------------------------------
# User code the SDK may run: evil objects, exceptions, and the bookkeeping of what user code
# raised (an exception the user's own code raised may propagate unchanged).

ARMED = [False]  # evil methods raise only while an SDK call is running
RAISED = []  # exceptions raised by user code during the current case (identity matters)
DESC = {}  # id(obj) -> description, for objects the generic repr cannot describe


class UserBoom(Exception):
    """Raised by user code (evil methods, callbacks, run() functions)."""


class UserBase(BaseException):
    """A BaseException (not an Exception) raised by user code."""


METHOD_RAN = []  # methods of our str/int/float/list/dict subclasses that ran while armed


def boom(tag):
    if tag.startswith("Evil"):
        METHOD_RAN.append(tag)
    e = UserBoom(tag)
    RAISED.append(e)
    raise e


class StrRaises(Exception):
    def __str__(self):
        boom("__str__ of exception")

    def __repr__(self):
        boom("__repr__ of exception")


class StrNotStr(Exception):
    def __str__(self):
        return 5


class EmptyStrReprRaises(Exception):
    def __str__(self):
        return ""

    def __repr__(self):
        boom("__repr__ of exception")


class SubStr(str):
    pass


class SubInt(int):
    pass


class SubFloat(float):
    pass


class SubDict(dict):
    pass


class SubList(list):
    pass


class SubTuple(tuple):
    pass


class SubBytes(bytes):
    pass


def plain(o):
    """The plain builtin value behind one of our subclass instances."""
    try:
        return o._v
    except AttributeError:
        return o


# The evil classes keep their plain value in `_v` and use it when not armed (MicroPython's
# builtins have no `str.__hash__` & co. to fall back to).


class EvilStr(str):
    def __eq__(self, other):
        if ARMED[0]:
            boom("EvilStr.__eq__")
        return self._v == plain(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        if ARMED[0]:
            boom("EvilStr.__hash__")
        return hash(self._v)

    def __str__(self):
        if ARMED[0]:
            boom("EvilStr.__str__")
        return self._v

    def __len__(self):
        if ARMED[0]:
            boom("EvilStr.__len__")
        return len(self._v)

    def __iter__(self):
        if ARMED[0]:
            boom("EvilStr.__iter__")
        return iter(self._v)

    def encode(self, *a):
        if ARMED[0]:
            boom("EvilStr.encode")
        return self._v.encode(*a)


class EvilInt(int):
    def __index__(self):
        if ARMED[0]:
            boom("EvilInt.__index__")
        return self._v

    def __int__(self):
        if ARMED[0]:
            boom("EvilInt.__int__")
        return self._v

    def __eq__(self, other):
        if ARMED[0]:
            boom("EvilInt.__eq__")
        return self._v == plain(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        if ARMED[0]:
            boom("EvilInt.__hash__")
        return hash(self._v)

    def __str__(self):
        if ARMED[0]:
            boom("EvilInt.__str__")
        return str(self._v)

    def __bool__(self):
        if ARMED[0]:
            boom("EvilInt.__bool__")
        return self._v != 0


class EvilFloat(float):
    def __float__(self):
        if ARMED[0]:
            boom("EvilFloat.__float__")
        return self._v

    def __eq__(self, other):
        if ARMED[0]:
            boom("EvilFloat.__eq__")
        return self._v == plain(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        if ARMED[0]:
            boom("EvilFloat.__hash__")
        return hash(self._v)


class EvilList(list):
    def __len__(self):
        if ARMED[0]:
            boom("EvilList.__len__")
        return len(self._v)

    def __iter__(self):
        if ARMED[0]:
            boom("EvilList.__iter__")
        return iter(self._v)

    def __getitem__(self, i):
        if ARMED[0]:
            boom("EvilList.__getitem__")
        return self._v[i]


class EvilDict(dict):
    def __len__(self):
        if ARMED[0]:
            boom("EvilDict.__len__")
        return len(self._v)

    def __iter__(self):
        if ARMED[0]:
            boom("EvilDict.__iter__")
        return iter(self._v)

    def __getitem__(self, k):
        if ARMED[0]:
            boom("EvilDict.__getitem__")
        return self._v[k]

    def items(self):
        if ARMED[0]:
            boom("EvilDict.items")
        return self._v.items()

    def keys(self):
        if ARMED[0]:
            boom("EvilDict.keys")
        return self._v.keys()


def evil(cls, v):
    x = cls(v)
    x._v = v if cls not in (EvilList, EvilDict) else (list(v) if cls is EvilList else dict(v))
    DESC[id(x)] = "%s(%s)" % (cls.__name__, srepr(v))
    KEEP.append(x)
    return x


def sub(cls, v):
    x = cls(v)
    try:
        x._v = v
    except Exception:
        pass
    DESC[id(x)] = "%s(%s)" % (cls.__name__, srepr(v))
    KEEP.append(x)
    return x


KEEP = []  # objects described in DESC stay alive for the case (ids must stay unique)


class Opaque:
    """Not a supported value; every protocol method raises (while armed)."""

    def __eq__(self, other):
        if ARMED[0]:
            boom("Opaque.__eq__")
        return self is other

    def __hash__(self):
        if ARMED[0]:
            boom("Opaque.__hash__")
        return 7

    def __str__(self):
        if ARMED[0]:
            boom("Opaque.__str__")
        return "Opaque"

    def __repr__(self):
        if ARMED[0]:
            boom("Opaque.__repr__")
        return "Opaque()"

    def __len__(self):
        if ARMED[0]:
            boom("Opaque.__len__")
        return 3

    def __iter__(self):
        if ARMED[0]:
            boom("Opaque.__iter__")
        return iter((1, 2, 3))

    def __index__(self):
        if ARMED[0]:
            boom("Opaque.__index__")
        return 1

    def __bool__(self):
        if ARMED[0]:
            boom("Opaque.__bool__")
        return True

    def __getitem__(self, i):
        if ARMED[0]:
            boom("Opaque.__getitem__")
        return 1


class Mutator(str):
    """A str subclass key whose __eq__/__hash__/__str__ mutate a container while the SDK reads it."""

    def __hash__(self):
        if ARMED[0]:
            self.mutate()
        return hash(self._v)

    def __eq__(self, other):
        if ARMED[0]:
            self.mutate()
        return self._v == plain(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __str__(self):
        if ARMED[0]:
            self.mutate()
        return self._v

    def mutate(self):
        METHOD_RAN.append("Mutator (a str subclass key) method")
        t = self.target
        if t is None:
            return
        try:
            if isinstance(t, dict):
                t.clear()
                for i in range(40):
                    t["m%d" % i] = "x" * 40
            else:
                del t[:]
                for i in range(40):
                    t.append("y" * 40)
        except Exception:
            pass
        gc.collect()


class BoolRaises:
    def __bool__(self):
        boom("__bool__ of callback result")

    def __len__(self):
        boom("__len__ of callback result")


# ---------------------------------------------------------------------------------------------
# Values

INTS = [
    0, 1, -1, 2, 127, 128, 255, 256, -128, -129, 2**15, 2**16, 2**30, -(2**30), 2**31 - 1, 2**31,
    -(2**31), -(2**31) - 1, 2**32 - 1, 2**32, 2**40, -(2**40), 2**53 + 1, 2**62, 2**63 - 1, 2**63,
    -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -(2**64), 2**100, -(2**100),
]
FLOATS = [
    0.0, -0.0, 0.5, -1.25, 3.0, 36.6, 1e10, -1e-10, 1e300, -1e300, 1e-310, 2.0**53, 2.0**63,
    2.0**64, float("nan"), float("inf"), float("-inf"),
]
PIECES = [
    "a", "b", "z", "Q", "0", "_", "-", ".", " ", "é", "ß", "日本", "😀", "\x00", "\u200b",
    "\u3000", "\x1c", "\x0b", "\t", "\n", "\r", "$", "%s", "{}", "\\", '"', "'", "\uffff",
    "\U0010ffff", "\x7f", "\x80",
]
SURROGATE = chr(0xD800)
RESERVED = [
    "$anon_distinct_id", "$battery_level", "distinct_id", "$device_id", "$device_model",
    "$environment", "$firmware_version", "$sdk_platform", "$sdk_version", "$session_id",
    "$wifi_rssi",
]
PROMOTED = [
    "$device_id", "$device_model", "$firmware_version", "$sdk_platform", "$sdk_version",
    "$environment", "$session_id", "distinct_id",
]
STRING_WIRE = ["reset_reason", "state", "previous_version", "new_version", "session_name"]
KEYS = ["k", "mode", "count", "a", "b", "temp", "$custom", "user", "x1", "long_key_" + "k" * 40]
TYPECODES = "bBhHiIlLqQfd"
ITEMSIZE = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
            "f": 4, "d": 8}


def has_surrogate(s):
    for ch in s:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return True
    return False


def utf8len(s):
    """UTF-8 length of a str; None when it holds a lone surrogate (not valid UTF-8)."""
    if has_surrogate(s):
        return None
    try:
        return len(str.encode(s, "utf-8"))
    except Exception:
        return None


def is_blank(s):
    for ch in s:
        if ch not in " \t\n\r":
            return False
    return True


def gen_str(rng, tag=None):
    m = rng.below(20)
    if m == 0:
        return ""
    if m == 1:
        return rng.pick([" ", "\t\n", "  \r ", "\u3000", "\x0b", "\u200b"])
    if m == 2:
        # exact byte lengths around the documented limits
        n = rng.pick([127, 128, 129, 255, 256, 257, 511, 512, 513, 1024, 2000])
        unit = rng.pick(["a", "é", "日", "😀"])
        ul = utf8len(unit)
        return unit * (n // ul) + "a" * (n % ul)
    if m == 3:
        return rng.pick(KEYS + RESERVED + STRING_WIRE)
    if m == 4:
        return SURROGATE + "x" if rng.chance(50) else "ok" + SURROGATE
    if m == 5:
        return rng.pick(PIECES) * rng.between(1, 700)
    parts = []
    for _ in range(rng.between(1, 8)):
        parts.append(rng.pick(PIECES))
    return "".join(parts)


def gen_name(rng):
    """Mostly valid names, sometimes not, sometimes not a str."""
    m = rng.below(12)
    if m < 6:
        return rng.pick(["button_pressed", "recording_started", "e", "$custom", "x" * 128,
                         "日本語", "ev_" + str(rng.below(1000))])
    if m < 10:
        return gen_str(rng)
    return gen_weird_scalar(rng)


def gen_weird_scalar(rng):
    m = rng.below(14)
    if m == 0:
        return None
    if m == 1:
        return rng.pick(INTS)
    if m == 2:
        return rng.pick([True, False])
    if m == 3:
        return b"name"
    if m == 4:
        return sub(SubStr, rng.pick(["ev", "", " ", "é"]))
    if m == 5:
        return mk_evil_str(rng)
    if m == 6:
        return rng.pick(FLOATS)
    if m == 7:
        return ["ev"]
    if m == 8:
        return mk_opaque()
    if m == 9:
        return bytearray(b"ev")
    if m == 10:
        return sub(SubInt, rng.pick(INTS))
    if m == 11:
        return {"k": 1}
    if m == 12:
        return ("ev",)
    return mk_evil_int(rng)


def mk_evil_str(rng):
    return evil(EvilStr, rng.pick(["ev", "k", "", "é"]))


def mk_evil_int(rng):
    return evil(EvilInt, rng.pick([0, 1, 2**31, 2**64]))


def mk_opaque():
    v = Opaque()
    DESC[id(v)] = "Opaque()"
    KEEP.append(v)
    return v


class Gen:
    """Value generator for one case; knows the client's buffer (it may become a value)."""

    def __init__(self, rng, st):
        self.rng = rng
        self.st = st
        self.user_code = False  # a generated value runs user code when the SDK touches it
        self.keep = []  # keep described objects alive (their id() must stay unique)
        self.budget = 120 if st.heap else 600  # values left to generate in this case

    def reg(self, v, desc):
        DESC[id(v)] = desc
        self.keep.append(v)
        return v

    def scalar(self):
        rng = self.rng
        m = rng.below(24)
        if m < 2:
            return None
        if m < 4:
            return rng.pick([True, False])
        if m < 8:
            return rng.pick(INTS)
        if m < 9:
            return rng.between(-1000, 1000)
        if m < 12:
            return rng.pick(FLOATS)
        if m < 16:
            return gen_str(rng)
        if m < 20:
            return self.bytes_like()
        return self.odd()

    def bytes_like(self):
        rng = self.rng
        n = rng.pick([0, 1, 5, 100, 511, 512, 513, 1000, 4096])
        if self.st.heap and n > 600:
            n = 100
        raw = bytes([rng.below(256) for _ in range(min(n, 16))]) + bytes(max(0, n - 16))
        m = rng.below(10)
        if m < 3:
            return raw
        if m < 5:
            return bytearray(raw)
        if m < 6:
            return self.reg(memoryview(raw), "memoryview(<bytes len %d>)" % n)
        if m < 7:
            a = rng.below(n + 1)
            return self.reg(memoryview(bytearray(raw))[a:], "memoryview(bytearray(<len %d>))[%d:]" % (n, a))
        if m < 8:
            return self.reg(SubBytes(raw), "SubBytes(<len %d>)" % n)
        if m < 9 and array is not None:
            tc = rng.pick(TYPECODES)
            vals = []
            for _ in range(rng.between(0, 4)):
                vals.append(rng.below(100) if tc not in "fd" else rng.pick(FLOATS))
            return self.reg(array.array(tc, vals), "array.array(%r, %s)" % (tc, srepr(vals)))
        return self.buffer_alias()

    def buffer_alias(self):
        """The client's own event_buffer, or a view of it, as a value."""
        st = self.st
        rng = self.rng
        m = rng.below(3)
        n = st.raw_len()
        if m == 0 or st.raw is None:
            rng.below(2)
            rng.below(2)
            return self.reg(st.buf, "BUF")
        a = rng.below(n + 1)
        b = a + rng.below(n - a + 1)
        if m == 1:
            return self.reg(memoryview(st.raw)[a:b], "memoryview(RAW)[%d:%d]" % (a, b))
        return self.reg(memoryview(st.raw), "memoryview(RAW)")

    def odd(self):
        rng = self.rng
        m = rng.below(16)
        if m == 0:
            return sub(SubStr, gen_str(rng))
        if m == 1:
            return sub(SubInt, rng.pick(INTS))
        if m == 2:
            return sub(SubFloat, rng.pick(FLOATS))
        if m == 3:
            return mk_evil_str(rng)
        if m == 4:
            return mk_evil_int(rng)
        if m == 5:
            return evil(EvilFloat, rng.pick(FLOATS))
        if m == 6:
            self.user_code = True
            return mk_opaque()
        if m == 7:
            return rng.pick([{1, 2}, frozenset(), range(3), complex_or_none(), Exception("e"), len, int])
        if m == 8:
            return self.buffer_alias()
        if m == 9:
            return self.cycle()
        if m == 10:
            self.user_code = True
            v = BoolRaises()
            return self.reg(v, "BoolRaises()")
        if m == 11:
            return self.deep(rng.between(6, 11))
        if m == 12:
            return rng.pick(INTS) * (1 if rng.chance(50) else -1)
        if m == 13:
            return sub(SubTuple, (1, "a"))
        if m == 14:
            return rng.pick(STRING_WIRE)
        return (rng.pick(INTS), gen_str(rng))

    def cycle(self):
        m = self.rng.below(4)
        if m == 0:
            v = []
            v.append(v)
            return self.reg(v, "<L = []; L.append(L)>")
        if m == 1:
            v = {}
            v["self"] = v
            return self.reg(v, "<D = {}; D['self'] = D>")
        if m == 2:
            a = []
            b = {"a": a}
            a.append(b)
            return self.reg(a, "<A = []; A.append({'a': A})>")
        v = []
        w = [v, v, v]
        v.append(1)
        return self.reg(w, "<V = [1]; [V, V, V]>")

    def deep(self, n):
        """Exactly n nested containers around a scalar (n=8 is the documented maximum)."""
        v = 1
        kinds = []
        for _ in range(n):
            k = self.rng.below(3)
            kinds.append("ltd"[k])
            if k == 0:
                v = [v]
            elif k == 1:
                v = (v,)
            else:
                v = {"d": v}
        return v

    def value(self, depth=0):
        rng = self.rng
        self.budget -= 1
        if depth > 10:
            return self.scalar()
        m = rng.below(20)
        if m < 12 or depth > 9 or self.budget <= 0:
            return self.scalar()
        if m < 14:
            return [self.value(depth + 1) for _ in range(rng.between(0, 4))]
        if m < 15:
            return tuple([self.value(depth + 1) for _ in range(rng.between(0, 3))])
        if m < 17:
            return self.props(depth + 1, rng.between(0, 4))
        if m < 18:
            k = rng.below(5)
            if k == 0:
                return sub(SubList, [self.value(depth + 1)])
            if k == 1:
                return sub(SubDict, {"s": self.value(depth + 1)})
            if k == 2:
                return evil(EvilList, [self.value(depth + 1)])
            if k == 3:
                return evil(EvilDict, {"e": self.value(depth + 1)})
            return [self.scalar() for _ in range(rng.between(40, 120))]
        if m < 19:
            return self.deep(rng.between(7, 10))
        return self.odd()

    def key(self, depth):
        rng = self.rng
        m = rng.below(40)
        if m < 24:
            return rng.pick(KEYS)
        if m < 26:
            return rng.pick(RESERVED)
        if m < 27:
            return rng.pick(STRING_WIRE)
        if m < 30:
            return gen_str(rng)
        if m < 32:
            return rng.pick([1, None, b"\xffk", (1, 2), 1.5, True, 2**64])
        if m < 33:
            return sub(SubStr, rng.pick(KEYS))
        if m < 34:
            return mk_evil_str(rng)
        if m < 35:
            return "k\x00ey"
        return "k%d" % rng.below(100)

    def props(self, depth=0, n=None):
        rng = self.rng
        if n is None:
            m = rng.below(30)
            if m == 0:
                n = rng.pick([63, 64, 65, 70])
            else:
                n = rng.between(0, 5)
        d = {}
        mutator = None
        for i in range(n):
            if n > 10:
                k = "p%d" % i
            else:
                k = self.key(depth)
            d[k] = self.value(depth + 1)
            if depth == 0 and type(k) is str and k in STRING_WIRE and rng.chance(50):
                d[k] = gen_str(rng)
        if rng.chance(2):
            kname = rng.pick(KEYS) + "_mut"
            mutator = Mutator(kname)
            mutator._v = kname
            mutator.target = d
            DESC[id(mutator)] = "Mutator(%s)" % qstr(kname)
            KEEP.append(mutator)
            d[mutator] = 1
            self.st.mutating = True
        return d

    def top_props(self):
        """Argument for track/identify: None, a dict, or something else."""
        rng = self.rng
        m = rng.below(20)
        if m == 0:
            return None
        if m == 1:
            return rng.pick([[("k", 1)], "k=1", 5, b"", ()])
        if m == 2:
            return sub(SubDict, self.props())
        if m == 3:
            return evil(EvilDict, self.props())
        if m == 4:
            return {"k": self.buffer_alias()}
        if m == 5:
            return {"k": self.deep(rng.between(7, 10))}
        if m == 6:
            k = rng.pick(KEYS)  # (not in a dict display: MicroPython evaluates its value first)
            return {k: self.scalar()}
        return self.props()


def complex_or_none():
    try:
        return complex(1, 2)
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Description (for reproducers): deterministic, never runs user code, survives cycles.


def qstr(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 32 <= o < 127:
            out.append(ch)
        elif o < 256:
            out.append("\\x%02x" % o)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            out.append("\\U%08x" % o)
    out.append('"')
    return "".join(out)


def qbytes(b):
    out = ["b'"]
    for o in b:
        if 32 <= o < 127 and o != 39 and o != 92:
            out.append(chr(o))
        else:
            out.append("\\x%02x" % o)
    out.append("'")
    return "".join(out)


def compress(s, n):
    """'ab'*300 instead of 600 characters, when the text is a repetition."""
    for p in range(1, 5):
        if n % p == 0 and n // p > 4 and s[:p] * (n // p) == s:
            return True, s[:p], n // p
    return False, None, 0


def srepr(v, seen=None):
    i = id(v)
    if i in DESC:
        return DESC[i]
    t = type(v)
    if v is None or t is bool:
        return repr(v)
    if t is int:
        if v > 2**20 or v < -(2**20):
            for e in range(16, 101):
                for off in (-1, 0, 1):
                    if v == 2**e + off:
                        return "2**%d%s" % (e, ("%+d" % off) if off else "")
                    if v == -(2**e) + off:
                        return "-2**%d%s" % (e, ("%+d" % off) if off else "")
        return repr(v)
    if t is float:
        if v != v:
            return "float('nan')"
        if v == float("inf"):
            return "float('inf')"
        if v == float("-inf"):
            return "float('-inf')"
        return repr(v)
    if t is str:
        n = len(v)
        if n > 24:
            rep, unit, times = compress(v, n)
            if rep:
                return "%s*%d" % (qstr(unit), times)
            if n > 80:
                return "(%s + <%d more chars>)" % (qstr(v[:40]), n - 40)
        return qstr(v)
    if t is bytes or t is bytearray:
        b = bytes(v)
        if len(b) > 40:
            s = "%s + bytes(%d)" % (qbytes(b[:16]), len(b) - 16) if b[16:] == bytes(len(b) - 16) else "%s+<%d bytes>" % (qbytes(b[:16]), len(b) - 16)
        else:
            s = qbytes(b)
        return s if t is bytes else "bytearray(%s)" % s
    if seen is None:
        seen = []
    for s in seen:
        if s is v:
            return "<cycle>"
    if t in (list, tuple, SubList, SubTuple):
        seen.append(v)
        items = list(v)
        if len(items) > 12:
            body = ", ".join([srepr(x, seen) for x in items[:6]]) + ", <%d more>" % (len(items) - 6)
        else:
            body = ", ".join([srepr(x, seen) for x in items])
        seen.pop()
        if t is list:
            return "[" + body + "]"
        if t is tuple:
            return "(" + body + ("," if len(items) == 1 else "") + ")"
        return "%s([%s])" % (t.__name__, body)
    if t in (dict, SubDict):
        seen.append(v)
        parts = []
        items = list(v.items()) if t is dict else list(base_value(v).items())
        shown = items if len(items) <= 12 else items[:6]
        for k, x in shown:
            parts.append(srepr(k, seen) + ": " + srepr(x, seen))
        if len(items) > 12:
            parts.append("<%d more>" % (len(items) - 6))
        seen.pop()
        body = "{" + ", ".join(parts) + "}"
        return body if t is dict else "SubDict(%s)" % body
    if t is set or t is frozenset:
        return "%s(<%d items>)" % (t.__name__, len(v))
    if isinstance(v, BaseException):
        return "%s(<args %d>)" % (t.__name__, len(v.args))
    if v is len or v is int:
        return "len" if v is len else "int"
    try:
        return "<%s>" % t.__name__
    except Exception:
        return "<object>"


def sargs(args, kwargs=None):
    parts = [srepr(a) for a in args]
    if kwargs:
        for k in kwargs:
            parts.append("%s=%s" % (k, srepr(kwargs[k])))
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Oracles for simple inputs (None = no prediction). Predicted "invalid" means the call must raise
# InvalidArgumentError; predicted "ok" means it must succeed.

MAX_INT = 2**64 - 1
MIN_INT = -(2**63)


class Pred:
    def __init__(self):
        self.invalid = None  # reason
        self.unknown = False
        self.size = 0

    def bad(self, why):
        if self.invalid is None:
            self.invalid = why

    def result(self, small_limit):
        if self.unknown:
            return None
        if self.invalid is not None:
            return ("invalid", self.invalid)
        if self.size <= small_limit:
            return ("ok", None)
        return None


def base_value(v):
    """The built-in value a subclass instance holds (the SDK reads it directly: README "Event
    rules"), computed without running any of the instance's own methods while armed."""
    try:
        return v._v
    except AttributeError:
        pass
    if isinstance(v, str):
        return str(v)
    if isinstance(v, dict):
        return dict(v)
    if isinstance(v, (list, tuple)):
        return list(v)
    return v


def is_bytes_like(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return True
    return array is not None and isinstance(v, array.array)


def pred_key(p, k, top):
    if not isinstance(k, str):
        p.bad("non-str key")
        return
    k = base_value(k)
    n = utf8len(k)
    if n is None:
        p.bad("key is not valid UTF-8 (lone surrogate)")
        return
    if is_blank(k):
        p.bad("blank key")
    elif "\x00" in k:
        p.bad("NUL in key")
    elif top and k in RESERVED:
        p.bad("reserved key")
    elif k in PROMOTED:
        p.bad("promoted key at depth")
    elif n > 128:
        p.unknown = True
    p.size += n + 2


def pred_distinct_keys(p, d):
    """A dict can hold a str subclass key beside an equal plain str key (MicroPython keeps
    both); the wire cannot, so such a dict is refused (README, Event rules). Which keys a
    dict subclass really holds cannot always be seen from here (MicroPython's dict.keys()
    refuses a subclass): then a duplicate only means "no prediction"."""
    try:
        keys, exact = list(dict.keys(d)), True
    except TypeError:
        keys, exact = list(base_value(d).keys()), False
    seen = []
    for k in keys:
        if isinstance(k, str):
            text = base_value(k)
            if text in seen:
                if exact:
                    p.bad("duplicate key text")
                else:
                    p.unknown = True
                return
            seen.append(text)


def pred_value(p, v, depth):
    """depth = containers around v inside the property value."""
    if v is None or v is True or v is False:
        p.size += 2
        return
    if isinstance(v, bool):
        p.unknown = True
    elif isinstance(v, int):
        x = base_value(v)
        if type(x) is not int:
            x = int(x)
        if x < MIN_INT or x > MAX_INT:
            p.bad("int out of range")
        p.size += 10
    elif isinstance(v, float):
        x = base_value(v)
        if x != x or x in (float("inf"), float("-inf")):
            p.bad("non-finite float")
        p.size += 9
    elif isinstance(v, str):
        n = utf8len(base_value(v))
        if n is None:
            p.bad("str is not valid UTF-8 (lone surrogate)")
        elif n > 512:
            p.bad("str over 512 bytes")
        else:
            p.size += n + 3
    elif is_bytes_like(v):
        if v is CURRENT_BUF[0]:
            p.bad("the event_buffer itself")
            return
        try:
            n = len(bytes(v))
        except Exception:
            p.unknown = True
            return
        if n > 512 or type(v) is memoryview:
            p.unknown = True  # no documented byte limit; a view may alias the buffer
        p.size += n + 3
    elif isinstance(v, (list, tuple, dict)):
        if depth + 1 > 8:
            p.bad("nested deeper than 8")
            return
        p.size += 3
        if isinstance(v, dict):
            pairs = list(base_value(v).items())
            # The keys the dict really holds: equal keys may have merged when it was built.
            pred_distinct_keys(p, v)
            for k, x in pairs:
                pred_key(p, k, False)
                pred_value(p, x, depth + 1)
        else:
            for x in base_value(v):
                pred_value(p, x, depth + 1)
    else:
        p.bad("unsupported type %s" % type(v).__name__)


CURRENT_BUF = [None]


def pred_props(p, props, max_props):
    if props is None:
        return
    if not isinstance(props, dict):
        p.bad("properties not a dict")
        return
    items = list(base_value(props).items())
    if len(items) > max_props:
        p.bad("too many properties")
    pred_distinct_keys(p, props)
    for k, v in items:
        pred_key(p, k, True)
        if isinstance(k, str) and base_value(k) in STRING_WIRE and not isinstance(v, str):
            p.bad("wire-reserved key needs a str")
        pred_value(p, v, 0)


def pred_text(p, s, limit, what):
    """Text arguments take str or a subclass, nothing else (README "Event rules")."""
    if not isinstance(s, str):
        p.bad(what + " not a str")
        return
    s = base_value(s)
    n = utf8len(s)
    if n is None:
        p.bad(what + " is not valid UTF-8 (lone surrogate)")
    elif s == "" or is_blank(s):
        p.bad("blank " + what)
    elif limit is not None and n > limit:
        p.bad(what + " too long")
    elif not is_plain(s):
        p.unknown = True  # exotic whitespace / control characters: no documented rule
    else:
        p.size += n


def is_plain(s):
    for ch in s:
        o = ord(ch)
        if o < 32 or o == 0x7F or (0x80 <= o < 0xA0) or o in (0x200B, 0x3000, 0xFFFF):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Per-epoch state


class State:
    def __init__(self, heap):
        self.heap = heap
        self.client = None
        self.buf = None
        self.raw = None  # bytearray holding the bytes (None for arrays)
        self.typecode = None
        self.nbytes = 0
        self.resized = False  # the buffer's size differs from the size it had at construction
        self.ever_resized = False  # ... or did at some point (runtimes diverge from there)
        self.closed = False
        self.cfg_desc = ""
        self.ops = []  # descriptions of the epoch's cases so far (for the reproducer)
        self.last = None  # last stats
        self.max_event_bytes = 8192
        self.cb = None
        self.cb_violations = []
        self.cb_outcomes = []  # outcomes of re-entrant calls made by the callback in this case
        self.mutating = False
        self.in_call = None  # name of the SDK call running (callbacks look at it)
        self.hook_installed = False
        self.scribbled = False  # something other than the client wrote into the buffer
        self.resize_tried = False  # this case tried to resize the buffer (runtimes differ)
        self.fallback = False  # the random configuration was refused; a plain one is used
        self.ctor_outcome = None
        self.crashed = False

    def raw_len(self):
        if self.raw is not None:
            return len(self.raw)
        return len(self.buf) if self.buf is not None else 0

    def buf_bytes(self):
        if self.buf is None:
            return 0
        if self.typecode is not None:
            return len(self.buf) * ITEMSIZE[self.typecode]
        return len(self.buf)

    def resizable(self):
        return type(self.buf) is bytearray


def scribble(rng, st, desc):
    """Write random bytes into random places of the event_buffer."""
    st.scribbled = True
    n = st.raw_len()
    if n == 0:
        return
    m = rng.below(6)
    if st.typecode is not None:
        for _ in range(rng.between(1, 8)):
            i = rng.below(n)
            tc = st.typecode
            if tc in "fd":
                x = rng.pick(FLOATS)
            elif tc in "bhilq":
                x = rng.below(256) - 128
            else:
                x = rng.below(256)
            st.buf[i] = x
            desc.append("BUF[%d] = %s" % (i, srepr(x)))
        return
    raw = st.raw
    if m == 0:
        for _ in range(rng.between(1, 8)):
            i = rng.below(n)
            x = rng.below(256)
            raw[i] = x
            desc.append("RAW[%d] = %d" % (i, x))
    elif m == 1:
        i = rng.below(n) if rng.chance(70) else 0
        x = rng.pick([0, 1, 3, 4, 5, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, n, n - 4, n + 1, 64,
                      0x80000000])
        x &= MASK
        b = bytes([x & 255, (x >> 8) & 255, (x >> 16) & 255, (x >> 24) & 255])
        j = min(i, n - 4) if n >= 4 else 0
        raw[j:j + 4] = b[: len(raw[j:j + 4])]
        desc.append("RAW[%d:%d] = %s" % (j, j + 4, qbytes(b)))
    elif m == 2:
        x = rng.pick([0, 0xFF, 0x80, rng.below(256)])
        a = rng.below(n)
        b = a + rng.below(n - a + 1)
        for i in range(a, b):
            raw[i] = x
        desc.append("RAW[%d:%d] = bytes([%d]) * %d" % (a, b, x, b - a))
    elif m == 3:
        a = rng.below(n)
        b = rng.below(n)
        k = rng.below(min(n - a, n - b) + 1)
        raw[b:b + k] = bytes(raw[a:a + k])
        desc.append("RAW[%d:%d] = RAW[%d:%d]" % (b, b + k, a, a + k))
    elif m == 4:
        i = rng.below(n)
        raw[i] = raw[i] ^ (1 << rng.below(8))
        desc.append("RAW[%d] ^= bit" % i)
    else:
        for i in range(n):
            raw[i] = rng.below(256)
        desc.append("RAW[:] = <%d random bytes>" % n)


def resize(rng, st, desc):
    """Grow or shrink the bytearray event_buffer (user code: BufferError on CPython)."""
    st.resize_tried = True
    buf = st.buf
    k = rng.between(1, 64)
    m = rng.below(3)
    try:
        if m == 0:
            desc.append("BUF.extend(b'x' * %d)" % k)
            buf.extend(b"x" * k)
        elif m == 1:
            k = min(k, len(buf))
            desc.append("BUF[0:%d] = b''  # del BUF[:%d]" % (k, k))
            buf[0:k] = b""
        else:
            desc.append("BUF.extend(b'x' * %d); BUF[-%d:] = b''  # same size, may move" % (k, k))
            buf.extend(b"x" * k)
            buf[len(buf) - k:] = b""
    except BufferError as e:
        RAISED.append(e)
        raise
    if st.raw is buf:
        st.resized = len(buf) != st.nbytes  # (MicroPython; a shrink after a grow restores it)
        st.ever_resized = st.ever_resized or st.resized


# ---------------------------------------------------------------------------------------------
# Callbacks (connectivity_callback) and functions for run()

MUTATING = ["track", "identify", "set_property", "session_start", "session_end", "flush", "tick",
            "reset", "report_log_error", "connectivity_changed", "shutdown"]
READONLY = ["queue_stats", "last_error", "get_device_id"]


def call_method(c, name, g):
    if name == "track":
        return c.track("reentrant", {"k": 1})
    if name == "identify":
        return c.identify("u-re")
    if name == "set_property":
        return c.set_property("k", 1)
    if name == "session_start":
        return c.session_start("re")
    if name == "report_log_error":
        return c.report_log_error("re", component="cb")
    if name == "connectivity_changed":
        return c.connectivity_changed(g.rng.chance(50))
    return getattr(c, name)()


class Callback:
    """connectivity_callback: its own random stream (the number of polls is the SDK's business)."""

    def __init__(self, rng, st):
        self.seed = rng.next()
        self.case = 0
        self.case_calls = 0
        self.st = st
        self.calls = 0
        self.log = []

    def new_case(self, k):
        self.case = k
        self.case_calls = 0

    def poll(self):
        # a stream per (case, poll number): when the runtimes poll a different number of times,
        # the next cases still get the same callback behaviour on both
        self.calls += 1
        self.case_calls += 1
        rng = Rng(mix(mix(self.seed, self.case), self.case_calls))
        st = self.st
        m = rng.below(40)
        if m < 14:
            return True
        if m < 18:
            return False
        if m < 22:
            return rng.pick([None, 0, 1, "", "x", [], [0], 2**70, float("nan"), b""])
        if m < 23:
            self.log.append("return BoolRaises()")
            return BoolRaises()
        if m < 26:
            e = rng.pick([UserBoom("cb"), StrRaises("cb"), MemoryError("cb"), ValueError(),
                          UserBase("cb")])
            RAISED.append(e)
            self.log.append("raise %s" % type(e).__name__)
            raise e
        if m < 33:
            # re-enter the client: must be refused as busy (status 13)
            c = st.client
            name = rng.pick(MUTATING + READONLY + ["run", "run", "install_error_hook"])
            self.log.append("client.%s() from the callback" % name)
            res = "ok"
            # README "Errors": any call into the client while one of its methods runs raises
            # HonchError status 13; run(fn) does so without calling fn
            called = []
            try:
                if name == "run":
                    c.run(lambda: called.append(1))
                elif name == "install_error_hook":
                    c.install_error_hook()
                    c.uninstall_error_hook()
                else:
                    call_method(c, name, Gen(rng, st))
                if not (st.closed and name in READONLY):
                    st.cb_violations.append(("reentrant-accepted",
                                             "a re-entrant call from the connectivity callback succeeded (want HonchError status 13) | client.%s() inside %s()" % (name, st.in_call)))
            except HonchError as e:
                s = getattr(e, "status", None)
                res = outcome_str(False, e)
                if s != 13 and not (st.closed and s == 8) and not (st.heap and s == 2):
                    st.cb_violations.append(("reentrant-status",
                                             "client.%s() from the callback raised %s status %r (want 13)" % (name, type(e).__name__, s)))
            except MemoryError:
                res = "MemoryError"
                if not st.heap:
                    st.cb_violations.append(("reentrant-exc", "client.%s() from the callback raised MemoryError" % name))
            except Exception as e:
                res = outcome_str(False, e)
                st.cb_violations.append(("reentrant-exc", "re-entrant call from the connectivity callback raised %s: %s | client.%s() inside %s()" % (type(e).__name__, safe_msg(e), name, st.in_call)))
            if called:
                st.cb_violations.append(("reentrant-run", "run(fn) called from the connectivity callback called fn (want HonchError status 13 without calling fn)"))
            st.cb_outcomes.append("%s:%s" % (name, res))
            return rng.chance(80)
        if m < 35:
            self.log.append("gc.collect()")
            gc.collect()
            return True
        srng = rng.fork()  # own stream: its draws depend on the buffer's type
        if m < 37 and st.resizable():
            before = len(st.buf)
            d = []
            try:
                resize(srng, st, d)
            finally:
                self.log.extend(d)
                gc.collect()
                # make a moved-away old block reusable: allocate and fill
                fill_freed(before)
            return True
        d = []
        scribble(srng, st, d)
        self.log.extend(d)
        return True


def fill_freed(n):
    """Allocate and fill blocks of n bytes, so a block the buffer just moved away from is
    reused (a call that kept the old pointer then reads 0xa5 garbage)."""
    blocks = [bytearray(b"\xa5" * n) for _ in range(2)]
    return len(blocks)


class RunFn:
    """The function given to run(): returns, raises, or uses the client (as a main loop does)."""

    def __init__(self, rng, st):
        self.rng = rng
        self.st = st
        self.ret = None
        self.exc = None
        self.log = []
        self.calls = 0
        self.violations = []

    def __call__(self, *args, **kwargs):
        self.calls += 1
        rng = self.rng
        st = self.st
        for _ in range(rng.below(3)):
            name = rng.pick(["track", "track", "identify", "session_start", "flush", "tick",
                             "queue_stats", "report_log_error", "run"])
            self.log.append("client.%s()" % name)
            try:
                if name == "run":
                    inner = RunFn(rng.fork(), st)
                    st.client.run(inner)
                else:
                    call_method(st.client, name, Gen(rng, st))
            except BaseException as e:
                if any_is(e):
                    pass  # raised by user code (the inner fn, a callback): propagated unchanged
                elif isinstance(e, HonchError):
                    if getattr(e, "status", None) == 13:
                        self.violations.append(("busy-in-run", "client.%s() inside run(fn) raised busy (status 13): run() must not hold the client while fn runs" % name))
                elif isinstance(e, MemoryError) and st.heap:
                    pass
                else:
                    self.violations.append(("bad-exception", "a call inside run(fn) raised %s: %s | client.%s()" % (type(e).__name__, safe_msg(e), name)))
        m = rng.below(10)
        srng = rng.fork()  # own stream: its draws depend on the buffer's type
        if m == 0 and st.resizable():
            d = []
            try:
                resize(srng, st, d)
            finally:
                self.log.extend(d)
        elif m == 1:
            d = []
            scribble(srng, st, d)
            self.log.extend(d)
        elif m == 2:
            gc.collect()
        m = rng.below(10)
        if m < 4:
            self.ret = rng.pick([None, 0, "r", (1, 2), 2**70, Opaque(), self])
            self.log.append("return %s" % srepr(self.ret))
            return self.ret
        e = make_exception(rng)
        if rng.chance(20):
            e = deep_raise(e, rng.between(5, 60))
        self.exc = e
        self.log.append("raise %s" % describe_exc(e))
        RAISED.append(e)
        raise e


def deep_raise(e, n):
    """Raise e from n frames down (a long backtrace), catch it, return it."""
    def down(k):
        if k <= 0:
            raise e
        down(k - 1)
    try:
        down(n)
    except BaseException as x:
        return x
    return e


LONG_NAME_EXC = None
try:
    LONG_NAME_EXC = type("Ärger" * 40, (Exception,), {})
except Exception:  # pragma: no cover
    LONG_NAME_EXC = ValueError


def make_exception(rng):
    m = rng.below(16)
    if m == 0:
        return ValueError("boom")
    if m == 1:
        return ValueError()
    if m == 2:
        return UserBoom("user " + gen_str(rng))
    if m == 3:
        return StrRaises("str raises")
    if m == 4:
        return StrNotStr("str returns int")
    if m == 5:
        return EmptyStrReprRaises()
    if m == 6:
        return MemoryError()
    if m == 7:
        return Exception(1, None, b"x", 2**70)
    if m == 8:
        return Exception("é" * 300)
    if m == 9:
        return LONG_NAME_EXC("long class name")
    if m == 10:
        return UserBase("base")
    if m == 11:
        return KeyError(mk_opaque())
    if m == 12:
        return OSError(5, "io")  # errno 5: a plain OSError on CPython too
    if m == 13:
        x = []
        e = Exception(x)
        x.append(e)
        return e
    if m == 14:
        return honch.TransportError("user-raised honch error")
    return RuntimeError(SURROGATE + "x")


def describe_exc(e):
    t = type(e)
    if t is LONG_NAME_EXC:
        return "type('\\xc4rger'*40, (Exception,), {})('long class name')"
    if t in (ValueError, UserBoom, MemoryError, UserBase, OSError):
        return "%s(%s)" % (t.__name__, sargs(e.args))
    return "%s(<%d args>)" % (t.__name__, len(e.args))


def safe_msg(e):
    try:
        s = str(e)
        if type(s) is not str:
            return "<str() returned %s>" % type(s).__name__
        return qstr(s[:160])
    except BaseException:
        return "<str() raised>"


# ---------------------------------------------------------------------------------------------
# Client construction

ENDPOINTS = ["http://127.0.0.1:9/", "http://127.0.0.1:9", "http://127.0.0.1:9/capture/base",
             "https://127.0.0.1:9/", "http://127.0.0.1:1/"]


def make_buffer(rng, st):
    heap = st.heap
    n = rng.pick([64, 65, 100, 128, 200, 256, 300, 512, 1024, 2048, 4096, 8192])
    if heap and n > 1024:
        n = 512
    m = rng.below(12)
    fill = rng.below(4)
    if m < 8:
        b = bytearray(n)
        st.buf, st.raw, st.typecode = b, b, None
        d = "bytearray(%d)" % n
    elif m < 10:
        k = rng.below(16)
        base = bytearray(n + k)
        v = memoryview(base)[k:]
        st.buf, st.raw, st.typecode = v, base, None
        d = "memoryview(bytearray(%d))[%d:]" % (n + k, k)
    else:
        tc = rng.pick("BbhiqQd")
        cnt = (n + ITEMSIZE[tc] - 1) // ITEMSIZE[tc]
        a = array.array(tc, [0] * cnt)
        st.buf, st.raw, st.typecode = a, None, tc
        d = "array.array(%r, [0] * %d)" % (tc, cnt)
    if fill == 1 and st.raw is not None:
        for i in range(len(st.raw)):
            st.raw[i] = 0xFF
        d += "  # filled with 0xff"
    elif fill == 2 and st.raw is not None:
        for i in range(len(st.raw)):
            st.raw[i] = (i * 131 + 7) & 255
        d += "  # filled with (i*131+7)&255"
    st.nbytes = st.buf_bytes()
    return d


def base_config(st, buf):
    return {"api_key": "k", "device_id": "dev-001", "device_model": "m", "firmware_version": "1",
            "event_buffer": buf, "endpoint_url": "http://127.0.0.1:9/",
            "transport_timeout_ms": 20}


def cfg_desc(cfg, bufdesc):
    parts = []
    for k in sorted(cfg.keys()):
        if k == "event_buffer":
            parts.append("event_buffer=BUF")
        elif k == "connectivity_callback" and isinstance(cfg[k], Callback):
            parts.append("connectivity_callback=<fuzz callback>")
        elif k == "connectivity_callback" and cfg[k] is not None and callable(cfg[k]):
            parts.append("connectivity_callback=<fuzz callback>")
        else:
            parts.append("%s=%s" % (k, srepr(cfg[k])))
    return "BUF = %s; c = honch.Honch(%s)" % (bufdesc, ", ".join(parts))


def new_client(rng, st):
    """The epoch's client, from a random (mostly valid) configuration."""
    bufdesc = make_buffer(rng, st)
    cfg = base_config(st, st.buf)
    cfg["endpoint_url"] = rng.pick(ENDPOINTS)
    cfg["transport_timeout_ms"] = rng.pick([1, 5, 20, 50])
    if rng.chance(50):
        cfg["device_id"] = rng.pick(["dev-001", "d", "é" * 20, "x" * 64, "dev 01"])
    if rng.chance(30):
        cfg["device_model"] = rng.pick(["ActionCam X1", "日本", "m" * 100])
    if rng.chance(20):
        cfg["environment"] = rng.pick(["staging", "", "é", "e" * 60])
    if rng.chance(40):
        cfg["batch_size"] = rng.pick([1, 2, 3, 20, 50, 60, 0, -1])
    if rng.chance(40):
        cfg["max_queued_events"] = rng.pick([1, 2, 3, 5, 10, 1000, 100000])
    if rng.chance(40):
        cfg["max_event_bytes"] = rng.pick([40, 100, 120, 150, 200, 300, 1000, 8192, 100000])
    if rng.chance(40):
        cfg["flush_min_interval_ms"] = rng.pick([0, 1, 15000, 0xFFFFFFFF])
    if rng.chance(40):
        cfg["flush_event_threshold"] = rng.pick([0, 1, 2, 20])
    if rng.chance(30):
        cfg["flush_interval_seconds"] = rng.pick([0, 1, 120])
    if rng.chance(30):
        cfg["flush_retry_initial_ms"] = rng.pick([0, 1, 10, 1000])
    if rng.chance(30):
        cfg["flush_retry_max_ms"] = rng.pick([0, 1, 100, 300000])
    if rng.chance(10):
        cfg["battery_low_threshold"] = rng.pick([0, 1, 15, 100])
    if rng.chance(10):
        cfg["verify_tls"] = rng.pick([True, False])
    cb = None
    if rng.chance(60):
        cb = Callback(rng.fork(), st)
        cfg["connectivity_callback"] = cb.poll
    elif rng.chance(10):
        cfg["connectivity_callback"] = None
    st.cb = cb
    st.max_event_bytes = cfg.get("max_event_bytes", 8192)
    desc = cfg_desc(cfg, bufdesc)
    c = None
    err = None
    try:
        c = honch.Honch(**cfg)
    except MemoryError as e:
        err = e
    except HonchError as e:
        err = e
    st.ctor_outcome = "ok" if c is not None else outcome_str(False, err)
    if c is None:
        # e.g. a buffer type one runtime refuses: fall back to a plain bytearray
        st.fallback = True
        b = bytearray(st.nbytes if st.nbytes >= 64 else 256)
        st.buf, st.raw, st.typecode = b, b, None
        st.nbytes = len(b)
        cfg["event_buffer"] = b
        desc += "  # raised %s: %s; fallback: BUF = bytearray(%d)" % (type(err).__name__, safe_msg(err), len(b))
        try:
            c = honch.Honch(**cfg)
        except MemoryError:
            c = None
        except HonchError as e:
            desc += "; fallback raised %s: %s" % (type(e).__name__, safe_msg(e))
            cfg = base_config(st, b)
            try:
                c = honch.Honch(**cfg)
            except MemoryError:
                c = None
            except HonchError as e:
                if not (st.heap and getattr(e, "status", None) == 2):
                    raise
                c = None
            st.max_event_bytes = 8192
            st.cb = None
    st.client = c
    st.cfg_desc = desc
    return c


# Constructor fuzz: each key gets a value from a curated list of (value, valid?) or a random value.
def v_ok(x):
    return (x, True)


def v_bad(x):
    return (x, False)


def v_unk(x):
    return (x, None)


def ctor_choices(rng, g, st):
    small = bytearray(63)
    return {
        "api_key": [v_ok("k"), v_unk("é" * 10), v_bad(""), v_bad("   "), v_bad(None), v_bad(5),
                    v_bad(b"k"), v_unk(sub(SubStr, "k")), v_unk(mk_evil_str(rng)), v_ok("k" * 300)],
        "device_id": [v_ok("dev-001"), v_bad(""), v_bad(" \t"), v_bad(7), v_unk("d" * 300),
                      v_unk(SURROGATE)],
        "device_model": [v_ok("m"), v_bad(""), v_bad(None), v_unk("\u3000"), v_unk("m" * 2000)],
        "firmware_version": [v_ok("1.2.3"), v_bad(""), v_bad(1.0), v_unk("v" * 2000)],
        "event_buffer": [v_ok(bytearray(64)), v_ok(bytearray(100)), v_bad(bytearray(63)),
                         v_bad(bytearray(0)), v_bad(b"x" * 100), v_bad("x" * 100), v_bad(None),
                         v_ok(memoryview(bytearray(100))), v_bad(memoryview(small)),
                         v_bad(memoryview(b"x" * 100)), v_unk(array.array("B", [0] * 100)),
                         v_unk(array.array("i", [0] * 16)), v_unk(array.array("i", [0] * 30)),
                         v_bad(100), v_unk(st.buf)],
        "endpoint_url": [v_ok("http://127.0.0.1:9/"), v_ok("https://127.0.0.1:9"), v_ok(""),
                         v_ok("  "), v_bad("ftp://127.0.0.1/"), v_bad("127.0.0.1:9"),
                         v_bad("http://user@127.0.0.1:9/"), v_bad("http://127.0.0.1:9/?q=1"),
                         v_bad("http://127.0.0.1:9/#f"), v_unk("http://127.0.0.1:99999/"),
                         v_unk("http://127.0.0.1:0/"), v_bad(9), v_unk("http://"),
                         v_unk("http://127.0.0.1:9/" + "p" * 3000), v_unk("HTTP://127.0.0.1:9/"),
                         v_unk("http://127.0.0.1:9/é"), v_unk("http://127.0.0.1:-1/"),
                         v_unk("http://[127.0.0.1]:9/"), v_unk("http://127.0.0.1:9\x00/")],
        "environment": [v_ok("staging"), v_ok(""), v_bad(3), v_unk("e" * 3000)],
        "batch_size": [v_ok(1), v_ok(0), v_ok(-5), v_ok(50), v_ok(51), v_bad(True), v_bad(1.0),
                       v_bad("20"), v_unk(2**70), v_unk(-(2**70)), v_unk(sub(SubInt, 5)),
                       v_unk(mk_evil_int(rng)), v_ok(None)],
        "max_queued_events": [v_ok(1), v_bad(0), v_bad(-1), v_ok(2**31 - 1), v_unk(2**32),
                              v_unk(2**64), v_bad(False), v_unk(None)],
        "max_event_bytes": [v_unk(1), v_bad(0), v_bad(-1), v_ok(100000), v_unk(2**64)],
        "transport_timeout_ms": [v_ok(1), v_ok(20), v_ok(10**9), v_bad(0), v_bad(-1), v_unk(2**40),
                                 v_bad(0.5)],
        "flush_interval_seconds": [v_ok(0), v_ok(1), v_unk(-1), v_unk(2**40)],
        "flush_min_interval_ms": [v_ok(0), v_ok(0xFFFFFFFF), v_unk(2**32), v_unk(-1)],
        "flush_event_threshold": [v_ok(0), v_ok(1), v_unk(-1), v_unk(2**40)],
        "flush_retry_initial_ms": [v_ok(0), v_ok(10), v_unk(-1), v_unk(2**40)],
        "flush_retry_max_ms": [v_ok(0), v_ok(10), v_unk(-1), v_unk(2**40)],
        "battery_low_threshold": [v_ok(0), v_ok(15), v_unk(101), v_unk(-1), v_unk(2**40)],
        "connectivity_callback": [v_ok(None), v_ok(lambda: True), v_bad(5), v_bad("cb"),
                                  v_unk(Opaque)],
        "ca_certs": [v_bad(5), v_bad(""), v_bad(b""), v_bad(b"\x30\x03\x02\x01\x00"),
                     v_bad("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                     v_unk(None), v_unk(bytearray(b"x"))],
        "verify_tls": [v_ok(True), v_ok(False), v_bad(1), v_unk(None), v_bad("yes")],
        "platform": [v_ok(None), v_bad("unix"), v_bad(1)],
        "transport": [v_ok(None), v_bad(object())],
        "battery_callback": [v_ok(None), v_bad(lambda: 50)],
        "auto_properties_callback": [v_ok(None), v_bad(lambda: {})],
        "queue_size": [v_bad(10)],
        "": [v_bad(1)],
    }


REQUIRED = ["api_key", "device_id", "device_model", "firmware_version", "event_buffer"]


# ---------------------------------------------------------------------------------------------
# Cases


class Op:
    def __init__(self, name):
        self.name = name
        self.call = None  # () -> result
        self.desc = ""
        self.pred = None  # None, ("ok", x), ("invalid", reason), ("notinit", x)
        self.added = None  # (lo, hi) events the call adds when it returns normally
        self.allow = ()  # extra allowed exception classes
        self.user_code = False
        self.on_ok = None  # check(result) -> problem or None
        self.on_exc = None  # check(exc) -> problem or None
        self.client_op = True
        self.pre = []  # descriptions of what happened before the call (scribbles)
        self.is_reset = False
        self.may_resize = False
        self.check_stats = True


def mk_op(rng, st, g):
    c = st.client
    name = rng.weighted([
        (30, "track"), (6, "identify"), (5, "set_property"), (5, "session_start"),
        (3, "session_end"), (5, "report_log_error"), (5, "connectivity_changed"),
        (2, "connected"), (6, "tick"), (4, "flush"), (2, "reset"), (2, "queue_stats"),
        (2, "last_error"), (1, "get_device_id"), (7, "run"), (3, "error_hook"), (5, "ctor"),
        (2, "bad_call"), (1, "shutdown"), (1, "twin"), (1, "resize"), (1, "gc"),
        (2, "track_boundary"),
    ])
    op = Op(name)
    small = min(st.max_event_bytes, st.nbytes) // 2 - 60
    if small > 300:
        small = 300
    if name == "track":
        ev = gen_name(rng)
        props = g.top_props() if rng.chance(90) else None
        omit = props is None and rng.chance(50)
        op.call = (lambda: c.track(ev)) if omit else (lambda: c.track(ev, props))
        op.desc = "c.track(%s)" % (sargs((ev,)) if omit else sargs((ev, props)))
        p = Pred()
        pred_text(p, ev, 128, "event name")
        pred_props(p, props, 64)
        op.pred = p.result(small)
        op.added = (1, 1)
    elif name == "track_boundary":
        # one value at a documented boundary: the answer is known exactly
        kind = rng.below(5)
        if kind == 0:
            v = rng.pick([2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 2**63, 0])
        elif kind == 1:
            n = rng.pick([7, 8, 9, 10])
            v = g.deep(n)
        elif kind == 2:
            n = rng.pick([511, 512, 513])
            v = rng.pick(["a", "é"]) * (n // 2) + "a" * (n % 2) if rng.chance(50) else "a" * n
        elif kind == 3:
            v = rng.pick([float("nan"), float("inf"), 1e308, -0.0])
        else:
            v = rng.pick([True, None, b"", bytearray(3), (), [], {}])
        props = {"k": v}
        op.call = lambda: c.track("boundary", props)
        op.desc = "c.track('boundary', %s)" % sargs((props,))
        p = Pred()
        pred_props(p, props, 64)
        op.pred = p.result(max(small, 0) if kind != 2 else 10**6)
        if kind == 2 and st.nbytes >= 1200 and st.max_event_bytes >= 1200:
            op.pred = p.result(10**6)
        elif kind == 2:
            op.pred = op.pred if (op.pred and op.pred[0] == "invalid") else None
        op.added = (1, 1)
    elif name == "identify":
        did = gen_name(rng) if rng.chance(70) else gen_str(rng)
        traits = g.top_props() if rng.chance(60) else None
        op.call = lambda: c.identify(did, traits)
        op.desc = "c.identify(%s)" % sargs((did, traits))
        p = Pred()
        pred_text(p, did, 256, "distinct_id")
        pred_props(p, traits, 63)
        op.pred = p.result(small)
        op.added = (1, 1)
    elif name == "set_property":
        k = g.key(0) if rng.chance(80) else gen_weird_scalar(rng)
        v = g.value(1)
        op.call = lambda: c.set_property(k, v)
        op.desc = "c.set_property(%s)" % sargs((k, v))
        p = Pred()
        pred_text(p, k, None, "key")
        if type(k) is str and p.invalid is None:
            pred_props(p, {k: v}, 64)
        else:
            pred_value(p, v, 0)
        op.pred = p.result(small)
        op.added = (1, 1)
    elif name == "session_start":
        m = rng.below(4)
        nm = None if m == 0 else (gen_str(rng) if m < 3 else gen_weird_scalar(rng))
        omit = nm is None and rng.chance(50)
        op.call = (lambda: c.session_start()) if omit else (lambda: c.session_start(nm))
        op.desc = "c.session_start(%s)" % ("" if omit else sargs((nm,)))
        if nm is None:
            op.pred = ("ok", None)
        elif not isinstance(nm, str):
            op.pred = ("invalid", "session name not a str")
        else:
            n = utf8len(base_value(nm))
            if n is None:
                op.pred = ("invalid", "session name is not valid UTF-8 (lone surrogate)")
            elif n <= 64 and is_plain(base_value(nm)):
                op.pred = ("ok", None)
        op.added = (1, 2)
    elif name == "session_end":
        op.call = c.session_end
        op.desc = "c.session_end()"
        op.pred = ("ok", None)
        op.added = (0, 1)
    elif name == "report_log_error":
        msg = gen_str(rng) if rng.chance(80) else gen_weird_scalar(rng)
        m = rng.below(4)
        comp = None if m == 0 else (rng.pick(["honch", "net", "", "c" * 40, "é" * 20]) if m < 3 else gen_weird_scalar(rng))
        omit = comp is None and rng.chance(50)
        op.call = (lambda: c.report_log_error(msg)) if omit else (lambda: c.report_log_error(msg, component=comp))
        op.desc = "c.report_log_error(%s)" % (sargs((msg,)) if omit else sargs((msg,), {"component": comp}))
        p = Pred()
        pred_text(p, msg, None, "error message")
        if comp is not None and not isinstance(comp, str):
            p.bad("component not a str")
        op.pred = p.result(10**6)
        op.added = (0, 0)
    elif name == "connectivity_changed":
        v = rng.pick([True, False, True, False, 1, 0, None, "yes", sub(SubInt, 1), 1.0, [], mk_evil_int(rng)])
        op.call = lambda: c.connectivity_changed(v)
        op.desc = "c.connectivity_changed(%s)" % sargs((v,))
        if v is True or v is False:
            op.pred = ("ok", None)
        else:
            op.pred = ("invalid", "not exactly True or False")
        op.added = (0, 1)
    elif name == "connected":
        on = rng.chance(50)
        op.call = c.connected if on else c.disconnected
        op.desc = "c.connected()" if on else "c.disconnected()"
        op.pred = ("ok", None)
        op.added = (0, 1)
    elif name in ("tick", "flush", "reset", "queue_stats", "last_error", "get_device_id", "shutdown"):
        op.call = getattr(c, name)
        op.desc = "c.%s()" % name
        if name == "tick":
            op.added = (0, 4)
        elif name == "flush":
            op.added = (0, 4)
        elif name == "reset":
            op.is_reset = True
            op.pred = ("ok", None)
        elif name == "shutdown":
            op.added = None
        else:
            op.added = (0, 0)
            op.pred = ("ok", None)
        if name == "last_error":
            op.on_ok = check_last_error
        if name == "queue_stats":
            op.on_ok = lambda r: check_stats_shape(r)
    elif name == "run":
        fn = RunFn(rng.fork(), st)
        args = tuple([g.scalar() for _ in range(rng.below(3))])
        kwargs = {}
        for _ in range(rng.below(2)):
            kwargs[rng.pick(["a", "function", "fn", "x"])] = g.scalar()
        m = rng.below(12)
        if m == 0:
            target = rng.pick([5, None, "fn"])
            op.desc = "c.run(%s)" % sargs((target,) + args, kwargs)
            op.allow = (TypeError,)
            op.call = lambda: c.run(target, *args, **kwargs)
        elif m == 1:
            meth = rng.pick(["flush", "tick", "queue_stats", "session_end"])
            op.desc = "c.run(c.%s)" % meth
            op.call = lambda: c.run(getattr(c, meth))
        else:
            op.desc = "c.run(fn%s)  # fn: %s" % (("" if not (args or kwargs) else ", " + sargs(args, kwargs)), "see fn log")
            op.call = lambda: c.run(fn, *args, **kwargs)
            op.fn = fn
            op.on_ok = lambda r: None if (r is fn.ret) else "run(fn) returned %s, not fn's result %s" % (srepr(r), srepr(fn.ret))
            op.may_resize = True
        op.added = None
        op.user_code = True
    elif name == "error_hook":
        op.client_op = True
        op.added = None
        seq = []
        for _ in range(rng.between(1, 4)):
            seq.append(rng.pick(["install", "install", "uninstall", "hook", "hook"]))
        excs = [make_exception(rng) for _ in seq]
        withtb = [rng.chance(50) for _ in seq]
        op.desc = "error hook: %s" % ", ".join(seq)
        op.call = lambda: run_hook_seq(st, seq, excs, withtb)
        op.user_code = True
    elif name == "ctor":
        cfg, pred, d = gen_ctor(rng, g, st)
        op.client_op = False
        op.desc = "honch.Honch(%s)" % d
        op.call = lambda: check_new_client(honch.Honch(**cfg), cfg)
        op.pred = pred
        op.check_stats = True
        op.added = (0, 0)
    elif name == "bad_call":
        m = rng.below(9)
        op.allow = (TypeError,)
        op.added = (0, 0)
        calls = [
            ("c.track()", lambda: c.track()),
            ("c.track('e', {}, 3)", lambda: c.track("e", {}, 3)),
            ("c.track('e', foo=1)", lambda: c.track("e", foo=1)),
            ("c.identify()", lambda: c.identify()),
            ("c.session_end(1)", lambda: c.session_end(1)),
            ("c.report_log_error('m', 'comp')", lambda: c.report_log_error("m", "comp")),
            ("c.report_log_error('m', level=1)", lambda: c.report_log_error("m", level=1)),
            ("c.flush(timeout=1)", lambda: c.flush(timeout=1)),
            ("honch.Honch('k')", lambda: honch.Honch("k")),
        ]
        op.desc, op.call = calls[m]
        op.pred = ("error", None)
    elif name == "twin":
        st.scribbled = True
        # a second client on the same buffer writes its own records over the first one's
        n = rng.between(1, 4)
        cfg = base_config(st, st.buf)
        op.desc = "c2 = honch.Honch(<same config, event_buffer=BUF>); c2.track('twin', {'i': i}) x %d" % n
        op.call = lambda: run_twin(cfg, n)
        op.added = None
        op.client_op = True
    elif name == "resize":
        op.desc = "resize BUF"
        op.added = (0, 0)
        d = []

        def do_resize():
            if st.resizable():
                resize(rng, st, d)
            else:
                rng.below(64)
                rng.below(3)
            return None
        op.call = do_resize
        op.resize_desc = d
        op.allow = (BufferError,)
        op.client_op = False
    else:
        op.desc = "gc.collect()"
        op.call = gc.collect
        op.added = (0, 0)
        op.client_op = False
        op.pred = ("ok", None)
    if g.user_code:
        op.user_code = True
        if op.pred is not None and op.pred[0] == "ok":
            op.pred = None
    if op.pred is not None and op.pred[0] == "ok" and (st.max_event_bytes < 400 or st.nbytes < 256) and op.name in (
            "session_start", "session_end", "connectivity_changed", "connected", "identify", "set_property"):
        op.pred = None  # the SDK's own event (with a session id) may not fit a tiny max_event_bytes
    return op


def run_twin(cfg, n):
    c2 = honch.Honch(**cfg)
    for i in range(n):
        c2.track("twin", {"i": i})
    return None


def check_new_client(c2, cfg):
    s = c2.queue_stats()
    prob = check_stats_shape(s)
    if prob:
        return prob
    buf = cfg.get("event_buffer")
    try:
        nb = len(memoryview(buf)) if not isinstance(buf, array.array) else len(buf) * ITEMSIZE[str(buf)[7]]
    except Exception:
        nb = None
    if nb is not None and s["bytes_capacity"] != nb:
        return "new client: bytes_capacity %d != %d bytes of event_buffer" % (s["bytes_capacity"], nb)
    if s["depth"] != 1:
        return "new client: depth %d after construction (want 1: $device_boot)" % s["depth"]
    did = cfg.get("device_id")
    got = c2.get_device_id()
    if type(did) is str and got != did:
        return "new client: get_device_id() %s != device_id %s" % (srepr(got), srepr(did))
    return None


def gen_ctor(rng, g, st):
    choices = ctor_choices(rng, g, st)
    cfg = {}
    valid = {}
    for k in REQUIRED:
        cfg[k] = choices[k][0][0]
        valid[k] = True
    cfg["endpoint_url"] = "http://127.0.0.1:9/"
    cfg["event_buffer"] = bytearray(128)
    valid["endpoint_url"] = True
    keys = sorted(choices.keys())
    for _ in range(rng.between(0, 3)):
        k = rng.pick(keys)
        v, ok = rng.pick(choices[k])
        if rng.chance(8):
            v, ok = g.scalar(), None
        if k == "event_buffer" and v is st.buf:
            ok = None
            st.scribbled = True
        cfg[k] = v
        valid[k] = ok
    missing = False
    if rng.chance(8):
        k = rng.pick(REQUIRED)
        del cfg[k]
        missing = True
    # the prediction: any invalid -> invalid; all valid -> ok; else unknown
    verdict = "ok"
    for k in cfg:
        ok = valid[k]
        if ok is False:
            verdict = "invalid"
        elif ok is None and verdict == "ok":
            verdict = None
    if missing:
        verdict = "invalid"
    if g.user_code:
        verdict = None
    pred = None if verdict is None else (verdict, "config")
    parts = []
    for k in sorted(cfg.keys()):
        v = cfg[k]
        if k == "event_buffer" and v is st.buf:
            parts.append("event_buffer=BUF")
        elif callable(v) and not isinstance(v, (str, bytes)) and type(v) is not type:
            parts.append("%s=<function>" % k)
        else:
            parts.append("%s=%s" % (k if k else "**{'': 1}", srepr(v)))
    return cfg, pred, ", ".join(parts)


class HookState:
    quiet_calls = 0


def quiet_hook(t, e, tb):
    HookState.quiet_calls += 1


def run_hook_seq(st, seq, excs, withtb):
    c = st.client
    has = hasattr(sys, "excepthook")
    for i in range(len(seq)):
        what = seq[i]
        if what == "install":
            r = c.install_error_hook()
            if r is not has:
                return "install_error_hook() returned %r (sys.excepthook exists: %r)" % (r, has)
            if r:
                st.hook_installed = True
        elif what == "uninstall":
            r = c.uninstall_error_hook()
            if type(r) is not bool:
                return "uninstall_error_hook() returned %r" % (r,)
            if not has and r:
                return "uninstall_error_hook() returned True without sys.excepthook"
            if r:
                st.hook_installed = False
        elif has:
            e = excs[i]
            if withtb[i]:
                e = deep_raise(e, 3)
            before = HookState.quiet_calls
            tb = getattr(e, "__traceback__", None) if withtb[i] else None
            sys.excepthook(type(e), e, tb)
            if HookState.quiet_calls != before + 1:
                return "sys.excepthook(%s) called the previous hook %d times (want 1)" % (describe_exc(e), HookState.quiet_calls - before)
    return None


def check_stats_shape(s):
    if type(s) is not dict:
        return "queue_stats() returned %s" % type(s).__name__
    for k in ("depth", "bytes_used", "bytes_capacity", "capacity_dropped_events",
              "oversized_rejected_events", "dead_lettered_events", "high_watermark_depth",
              "high_watermark_bytes", "max_queued_events"):
        if k not in s:
            return "queue_stats() lacks %s" % k
        if type(s[k]) is not int or s[k] < 0:
            return "queue_stats()[%s] = %s" % (k, srepr(s[k]))
    return None


def check_last_error(r):
    if type(r) is not dict:
        return "last_error() returned %s" % type(r).__name__
    want = {"status": str, "reason": str, "http": int, "os_error": int, "message": str,
            "component": str}
    for k in want:
        if k not in r:
            return "last_error() lacks %s" % k
        if type(r[k]) is not want[k] and not (k in ("message", "component") and r[k] is None):
            return "last_error()[%s] is %s" % (k, type(r[k]).__name__)
    return None


COUNTERS = ("capacity_dropped_events", "oversized_rejected_events", "dead_lettered_events",
            "high_watermark_depth", "high_watermark_bytes")


def stats_problems(st, s, prev, op, outcome_ok, exc):
    """Consistency of one queue_stats() snapshot, and against the previous one."""
    probs = []
    shape = check_stats_shape(s)
    if shape:
        return [("stats-shape", shape)]
    if s["bytes_used"] > s["bytes_capacity"]:
        probs.append(("stats-bytes", "bytes_used %d > bytes_capacity %d" % (s["bytes_used"], s["bytes_capacity"])))
    if not st.resized and s["bytes_capacity"] != st.nbytes:
        probs.append(("stats-capacity", "bytes_capacity %d != len(event_buffer) %d bytes" % (s["bytes_capacity"], st.nbytes)))
    if (s["depth"] == 0) != (s["bytes_used"] == 0):
        probs.append(("stats-depth-bytes", "depth %d but bytes_used %d" % (s["depth"], s["bytes_used"])))
    if s["depth"] > s["max_queued_events"]:
        probs.append(("stats-depth-max", "depth %d > max_queued_events %d" % (s["depth"], s["max_queued_events"])))
    if s["high_watermark_depth"] < s["depth"]:
        probs.append(("stats-watermark", "high_watermark_depth %d < depth %d" % (s["high_watermark_depth"], s["depth"])))
    if s["high_watermark_bytes"] < s["bytes_used"]:
        probs.append(("stats-watermark", "high_watermark_bytes %d < bytes_used %d" % (s["high_watermark_bytes"], s["bytes_used"])))
    if prev is None:
        return probs
    for k in COUNTERS:
        if s[k] < prev[k]:
            probs.append(("stats-counter-decrease", "%s went from %d to %d" % (k, prev[k], s[k])))
    if s["max_queued_events"] != prev["max_queued_events"] or s["bytes_capacity"] != prev["bytes_capacity"]:
        probs.append(("stats-config-changed", "max_queued_events/bytes_capacity changed: %r -> %r" % ((prev["max_queued_events"], prev["bytes_capacity"]), (s["max_queued_events"], s["bytes_capacity"]))))
    if s["dead_lettered_events"] > prev["dead_lettered_events"] and not st.scribbled:
        probs.append(("dead-lettered", "dead_lettered_events %d -> %d, with no server answer and no write into the buffer (Decision 13: no accepted event is dead-lettered by our own encoder)" % (prev["dead_lettered_events"], s["dead_lettered_events"])))
    lost = (s["capacity_dropped_events"] - prev["capacity_dropped_events"]) + (s["dead_lettered_events"] - prev["dead_lettered_events"])
    delta = s["depth"] - prev["depth"]  # = added - lost
    if op is None:
        return probs
    if op.is_reset and outcome_ok:
        if s["depth"] != 0 or s["bytes_used"] != 0:
            probs.append(("reset", "after reset(): depth %d, bytes_used %d" % (s["depth"], s["bytes_used"])))
        return probs
    if outcome_ok:
        rng_ = op.added
    elif exc is not None and isinstance(exc, HonchError) and getattr(exc, "status", None) in (1, 3, 8, 10, 13):
        rng_ = (0, 0)
        if op.name in ("tick", "flush", "shutdown", "run", "error_hook", "twin"):
            rng_ = op.added
    elif exc is not None and op.name in ("track", "identify", "set_property", "session_start", "report_log_error", "connectivity_changed", "track_boundary") and not op.user_code and not isinstance(exc, MemoryError):
        rng_ = (0, 0)
    else:
        rng_ = None
    if rng_ is not None and op.client_op and op.name != "twin":
        added = delta + lost
        if added < rng_[0] or added > rng_[1]:
            if added == 0 and rng_[0] == 1 and s["depth"] == s["max_queued_events"] and lost == 0:
                pass
            else:
                probs.append(("stats-accounting", "%s: depth %d -> %d with %d dropped/dead-lettered: %d events added (expected %d..%d)" % ("returned" if outcome_ok else "raised " + type(exc).__name__, prev["depth"], s["depth"], lost, added, rng_[0], rng_[1])))
        if not outcome_ok and rng_ == (0, 0):
            for k in ("capacity_dropped_events", "dead_lettered_events"):
                if st.scribbled and getattr(exc, "status", None) == 3:
                    continue  # a corrupted buffer found and dropped (Decision 18)
                if s[k] != prev[k]:
                    probs.append(("stats-refused-changed", "refused call (%s) changed %s %d -> %d" % (type(exc).__name__, k, prev[k], s[k])))
            grew = s["oversized_rejected_events"] - prev["oversized_rejected_events"]
            if grew and not (getattr(exc, "status", None) == 10 and grew == 1):
                probs.append(("stats-refused-changed", "refused call (%s status %r) changed oversized_rejected_events by %d" % (type(exc).__name__, getattr(exc, "status", None), grew)))
    return probs


# ---------------------------------------------------------------------------------------------
# Running one case


BAD = ("PanicException", "SystemError", "RuntimeError", "UnicodeError", "UnicodeEncodeError",
       "UnicodeDecodeError", "OverflowError", "AttributeError", "ValueError", "KeyError",
       "IndexError", "RecursionError", "NameError", "ZeroDivisionError")


def classify(op, st, exc):
    """Return a problem (kind, text) if exc is not an allowed outcome, else None."""
    for r in RAISED:
        if r is exc:
            return None  # the user's own exception, propagated unchanged
    if isinstance(exc, HonchError):
        s = getattr(exc, "status", None)
        if type(s) is not int:
            return ("bad-status", "%s without an int .status" % type(exc).__name__)
        if s == 13 and op.name != "twin":
            return ("busy", "%s: HonchError status 13 (busy) outside any callback" % op.name)
        return None
    if isinstance(exc, MemoryError) and st.heap:
        return None
    if isinstance(exc, TypeError) and TypeError in op.allow:
        return None
    if isinstance(exc, BufferError) and BufferError in op.allow:
        return None
    if isinstance(exc, (UserBoom, UserBase)):
        return ("user-exc-replaced", "user exception %s was not the instance user code raised" % type(exc).__name__)
    if isinstance(exc, BufferError) and not MP:
        # raised by a resize in user code; RAISED has it unless re-wrapped
        return ("bad-exception", "BufferError not raised by user code: %s" % safe_msg(exc))
    return ("bad-exception", "%s: %s" % (type(exc).__name__, safe_msg(exc)))


def outcome_str(res_ok, exc):
    if res_ok:
        return "ok"
    name = type(exc).__name__
    if len(name) > 24:
        name = name[:20] + "..."
    for r in RAISED:
        if r is exc:
            return "user:" + name
    s = getattr(exc, "status", None)
    return "%s(%s)" % (name, s) if s is not None else name


def run_case(k, rng, st, verbose):
    """One case. Returns (problems, outcome string, op)."""
    DESC.clear()
    del KEEP[:]
    del METHOD_RAN[:]
    CURRENT_BUF[0] = st.buf
    DESC[id(st.buf)] = "BUF"
    if st.raw is not None and st.raw is not st.buf:
        DESC[id(st.raw)] = "RAW"
    g = Gen(rng, st)
    problems = []
    pre = []
    if st.client is not None and rng.chance(10):
        scribble(rng.fork(), st, pre)  # own stream: its draws depend on the buffer's type
    op = mk_op(rng, st, g)
    op.pre = pre
    if op.user_code or st.mutating:
        op.desc = op.desc  # computed eagerly already
    st.mutating = False
    del RAISED[:]
    st.cb_violations = []
    st.cb_outcomes = []
    if st.cb is not None:
        st.cb.new_case(k)
    cb_log_start = len(st.cb.log) if st.cb is not None else 0
    cb_calls_start = st.cb.calls if st.cb is not None else 0
    if verbose:
        print("case %d: %s%s" % (k, ("; ".join(pre) + "; ") if pre else "", op.desc))
        flush_out()
    c = st.client
    prev = None
    if c is not None and op.check_stats:
        try:
            prev = c.queue_stats()
        except MemoryError:
            prev = None
        except HonchError:
            prev = None
    len_before = st.raw_len() if st.raw is not None else None
    res = None
    exc = None
    ok = False
    st.in_call = op.name
    ARMED[0] = True
    try:
        res = op.call()
        ok = True
    except BaseException as e:  # noqa: everything is checked below
        exc = e
    ARMED[0] = False
    st.in_call = None
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if hasattr(op, "resize_desc"):
        op.desc = "; ".join(op.resize_desc) or op.desc
    if verbose:
        extra = ""
        if hasattr(op, "fn"):
            extra += "  fn: " + ("; ".join(op.fn.log) or "(not called)")
        if st.cb is not None and len(st.cb.log) > cb_log_start:
            extra += "  callback: " + "; ".join(st.cb.log[cb_log_start:][:12])
        print("   -> %s%s%s" % (outcome_str(ok, exc), (": " + safe_msg(exc)) if exc is not None else "", extra))
        flush_out()
    if st.raw is not None and st.raw is st.buf:
        st.resized = len(st.raw) != st.nbytes
        st.ever_resized = st.ever_resized or st.resized
    # --- outcome
    if ok:
        if op.on_ok is not None:
            p = op.on_ok(res)
            if p:
                problems.append(("result", p))
        elif op.name == "error_hook" or op.name == "ctor":
            if res:
                problems.append(("result", res))
    else:
        p = classify(op, st, exc)
        if p:
            problems.append(p)
        if hasattr(op, "fn") and op.fn.exc is not None and exc is not op.fn.exc:
            # run(fn) must re-raise fn's exception unchanged (a failed $crash must not replace it)
            documented = (st.resized or st.resize_tried) and isinstance(exc, honch.StorageError) and getattr(exc, "status", None) == 3
            # a BaseException (not an Exception) that the callback raised during run()'s flush
            # may win: it is how KeyboardInterrupt/SystemExit must behave
            base = any_is(exc) and not isinstance(exc, Exception)
            if not (st.heap and is_oom(exc)) and not isinstance(exc, UserBoom) and not documented and not base:
                problems.append(("run-reraise", "run(fn) raised %s instead of re-raising fn's exception | fn raised %s" % (outcome_str(False, exc), describe_exc(op.fn.exc))))
    if isinstance(exc, HonchError) and getattr(exc, "status", None) == 8:
        st.closed = True
    if ok and op.name == "shutdown":
        st.closed = True
    if hasattr(op, "fn"):
        for v in op.fn.violations:
            problems.append(v)
    if METHOD_RAN and op.name != "error_hook":
        problems.append(("subclass-method-ran", "%s ran inside the SDK call (README: a subclass's value is read directly, none of its methods runs) | %s" % (METHOD_RAN[0], ", ".join(METHOD_RAN[1:4]))))
    # --- prediction
    pred = op.pred
    if st.closed and op.name not in ("shutdown", "queue_stats", "last_error", "get_device_id", "gc", "ctor", "resize", "bad_call", "twin", "error_hook", "run") and op.client_op:
        pred = ("notinit", None)
    if st.resized and op.client_op and op.name not in ("queue_stats", "last_error", "get_device_id"):
        pred = None if pred is None or pred[0] != "notinit" else pred
        if pred is None and MP and not st.closed and op.name not in ("gc", "error_hook", "run", "twin", "bad_call"):
            pred = ("storage", None)
    if pred is not None and not (st.heap and is_oom(exc)) and (exc is None or classify(op, st, exc) is None):
        want = pred[0]
        user = False
        for r in RAISED:
            if r is exc:
                user = True
        if st.cb is not None and st.cb.calls != cb_calls_start and not ok:
            want = None  # the callback decided (offline, raised, ...)
        if want == "ok" and not ok and st.scribbled and isinstance(exc, honch.StorageError) and getattr(exc, "status", None) == 3:
            pass  # allowed: the call found the buffer overwritten (Decision 18)
        elif want == "ok" and not ok:
            problems.append(("refused-valid", "raised %s: %s (the call is valid)" % (outcome_str(False, exc), safe_msg(exc))))
        elif want == "invalid" and not user:
            if ok:
                problems.append(("accepted-invalid", "returned normally, want InvalidArgumentError (%s)" % pred[1]))
            elif st.scribbled and isinstance(exc, honch.StorageError) and getattr(exc, "status", None) == 3:
                pass  # the call found the buffer overwritten first (Decision 18)
            elif not isinstance(exc, honch.InvalidArgumentError):
                problems.append(("wrong-error", "raised %s, want InvalidArgumentError (%s): %s" % (outcome_str(False, exc), pred[1], safe_msg(exc))))
        elif want == "notinit":
            if ok and op.name not in ("reset",):
                problems.append(("after-shutdown", "returned normally after shutdown(), want NotInitializedError"))
        elif want == "storage":
            # validation may come first (InvalidArgumentError); anything that queues must refuse
            if not ok and not user and not (isinstance(exc, honch.StorageError) and getattr(exc, "status", None) == 3) and not isinstance(exc, honch.InvalidArgumentError):
                problems.append(("resized-buffer", "raised %s after the buffer changed size (want StorageError status 3)" % outcome_str(False, exc)))
            elif not ok and not user and isinstance(exc, honch.InvalidArgumentError) and op.pred is not None and op.pred[0] == "ok":
                problems.append(("resized-buffer", "valid call raised %s after the buffer changed size (want StorageError status 3)" % outcome_str(False, exc)))
            elif ok and op.name in ("track", "track_boundary", "identify", "set_property", "session_start", "reset"):
                problems.append(("resized-buffer", "returned normally after the event_buffer changed size (want StorageError status 3)"))
        elif want == "error" and ok:
            problems.append(("bad-call-accepted", "a call with a missing/unknown argument returned normally"))
    # --- callback
    for v in st.cb_violations:
        problems.append(v)
    if MP and st.cb is not None and st.cb.calls != cb_calls_start and len_before is not None and st.raw is not None and len(st.raw) != len_before and op.name == "flush":
        if not (isinstance(exc, (honch.StorageError, honch.OfflineError, honch.NotInitializedError)) or (exc is not None and any_is(exc))):
            problems.append(("stale-buffer", "the connectivity callback resized event_buffer (%d -> %d bytes) and %s went on with the old buffer: %s (want StorageError)" % (len_before, len(st.raw), op.name, outcome_str(ok, exc))))
    # --- stats
    if st.client is not None and op.check_stats:
        try:
            s = st.client.queue_stats()
        except MemoryError:
            s = None
        except BaseException as e:
            s = None
            problems.append(("stats-raise", "queue_stats() raised %s: %s" % (type(e).__name__, safe_msg(e))))
        if s is not None:
            if not op.client_op:
                problems.extend(stats_problems(st, s, prev, None, ok, exc))
            else:
                problems.extend(stats_problems(st, s, prev, op, ok, exc))
        st.last = s
    cb_log = st.cb.log[cb_log_start:] if st.cb is not None else []
    if cb_log:
        op.cb_log = cb_log
    if len(st.cb.log if st.cb is not None else ()) > 200:
        del st.cb.log[:]
    polls = (st.cb.calls - cb_calls_start) if st.cb is not None else 0
    out = outcome_str(ok, exc).replace(" ", "_")
    if polls:
        out += " polls=%d" % polls
    if st.cb_outcomes:
        out += " reentrant=" + ",".join(st.cb_outcomes).replace(" ", "_")
    return problems, out, op


def is_oom(exc):
    """MemoryError, or the SDK's own out-of-memory HonchError (status 2)."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, HonchError) and getattr(exc, "status", None) == 2


def any_is(exc):
    for r in RAISED:
        if r is exc:
            return True
    return False


def flush_out():
    try:
        sys.stdout.flush()
    except Exception:
        pass


def now_ms():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def elapsed_ms(t0):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), t0)
    return now_ms() - t0


def parse_args(argv):
    opts = {"seed": 1, "cases": 5000, "seconds": 0.0, "start": 0, "epoch": 25, "heap": False,
            "verbose": False, "log": None, "outcomes": None, "timing": False,
            "only": None}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--verbose", "--timing"):
            opts[a[2:]] = True
        elif a == "--heap" or a.startswith("--heap="):
            opts["heap"] = int(a[7:].rstrip("kK")) if "=" in a else 48
        elif a in ("--seed", "--cases", "--start", "--epoch"):
            i += 1
            opts[a[2:]] = int(argv[i])
        elif a == "--seconds":
            i += 1
            opts["seconds"] = float(argv[i])
        elif a in ("--log", "--outcomes", "--only"):
            i += 1
            opts[a[2:]] = argv[i]
        else:
            print("usage: api_fuzz.py [--seed N] [--cases N] [--seconds S] [--start K] [--epoch E] [--heap[=KB]] [--verbose] [--log FILE] [--outcomes FILE] [--only K1,K2,...] [--timing]")
            sys.exit(2)
        i += 1
    return opts


def quiet_logging():
    """CPython: the `honch` logger formats its records but prints nothing."""
    try:
        import logging
    except ImportError:
        return

    class Sink(logging.Handler):
        def emit(self, record):
            self.format(record)

    lg = logging.getLogger("honch")
    lg.addHandler(Sink())
    lg.propagate = False
    lg.setLevel(logging.DEBUG)


def report(k, epoch_start, st, op, problems, seed, opts):
    for kind, text in problems:
        print("FAIL case %d [%s] %s" % (k, kind, text))
    print("  op: %s%s" % (("; ".join(op.pre) + "; ") if op.pre else "", op.desc))
    if hasattr(op, "fn"):
        print("  fn: %s" % ("; ".join(op.fn.log) or "(not called)"))
    if hasattr(op, "cb_log"):
        print("  connectivity_callback: %s" % "; ".join(op.cb_log[:12]))
    print("  client: %s" % st.cfg_desc)
    if k > epoch_start:
        print("  after %d earlier cases on this client; replay: --seed %d --start %d --cases %d --epoch %d --verbose%s" % (k - epoch_start, seed, epoch_start, k - epoch_start + 1, opts["epoch"], " --heap" if opts["heap"] else ""))
    flush_out()


def main():
    opts = parse_args(sys.argv)
    seed = opts["seed"]
    E = opts["epoch"]
    if E < 1:
        E = 1
    EPOCH[0] = E
    start = opts["start"]
    end = start + opts["cases"]
    budget = int(opts["seconds"] * 1000)
    only = None
    if opts["only"]:
        only = {}
        for x in opts["only"].split(","):
            if x:
                only[int(x)] = True
    quiet_logging()
    ballast = take_heap(opts["heap"])
    if hasattr(sys, "excepthook"):
        saved_hook = sys.excepthook
        sys.excepthook = quiet_hook
    logf = open(opts["log"], "w") if opts["log"] else None
    outf = open(opts["outcomes"], "w") if opts["outcomes"] else None
    t0 = now_ms()
    passed = failed = oom = 0
    kinds = {}
    kind_order = []
    timing = {}
    leak_watch = []  # (epoch, weakref to its State, its last case) -- CPython only
    failed_cases = {}
    last_case = -1
    k = (start // E) * E
    ran = 0
    st = None
    while k < end:
        epoch = k // E
        ep_start = epoch * E
        if budget and elapsed_ms(t0) > budget:
            break
        # new client for the epoch
        if st is not None and st.hook_installed and st.client is not None:
            try:
                st.client.uninstall_error_hook()
            except BaseException:
                pass
        if st is not None and weakref is not None:
            leak_watch.append((epoch - 1, weakref.ref(st), last_case))
        if weakref is not None and len(leak_watch) >= 10:
            leak_watch, leaks = check_leaks(leak_watch, epoch - 1)
            for k_last, text in leaks:
                if k_last not in failed_cases:  # the epoch's last case now counts as failed
                    failed_cases[k_last] = True
                    failed += 1
                    passed -= 1
                key = "leak: " + normalize(text)
                if key not in kinds:
                    kinds[key] = [0, k_last]
                    kind_order.append(key)
                kinds[key][0] += 1
        DESC.clear()
        st = None
        erng = Rng(mix(seed, epoch))
        for attempt in range(2):
            try:
                if st is None:
                    st = State(opts["heap"])
                new_client(erng, st)
                break
            except MemoryError:
                if not opts["heap"]:
                    raise
                gc.collect()
                if st is not None:
                    st.client = None
                    break
        if st is None:
            # not even the harness's bookkeeping fits: these cases test nothing
            n_skip = min((epoch + 1) * E, end) - max(k, start)
            if n_skip > 0:
                passed += n_skip
                oom += n_skip
                ran += n_skip
            k = (epoch + 1) * E
            continue
        if opts["verbose"] and k >= ep_start:
            print("epoch %d: %s" % (epoch, st.cfg_desc))
        if outf is not None and k >= start and st.ctor_outcome is not None:
            # the epoch's own client: one line per epoch, numbered -(epoch + 1)
            outf.write("%d\tnew_client\t%s\t%s\n" % (-(epoch + 1), st.ctor_outcome.replace(" ", "_"), st.cfg_desc[:300].replace("\t", " ")))
        while k < (epoch + 1) * E and k < end:
            counted = k >= start
            if budget and counted and elapsed_ms(t0) > budget:
                end = k
                break
            if logf is not None and counted:
                logf.write("case %d %d %d\n" % (k, passed, failed))
                if not MP:
                    logf.flush()  # (MicroPython writes straight to the file; its flush() is an fsync)
            crng = Rng(mix(erng.next(), k))
            if only is not None and k not in only:
                k += 1  # --only: this case is left out (its random stream is still consumed)
                continue
            if st.client is None:
                # no client (out of memory building it): nothing to test in this case
                if counted:
                    passed += 1
                    oom += 1
                    ran += 1
                k += 1
                continue
            tc0 = now_ms()
            try:
                problems, outcome, op = run_case(k, crng, st, opts["verbose"] and counted)
            except MemoryError:
                if not st.heap:
                    raise
                problems, outcome, op = [], "harness-oom", None
                oom += 1
            if opts["timing"] and op is not None:
                tt = timing.get(op.name, [0, 0])
                tt[0] += 1
                tt[1] += elapsed_ms(tc0)
                timing[op.name] = tt
            if counted:
                ran += 1
                if outcome_has_taint(st):
                    outcome += " tainted"
                if outf is not None:
                    d = op.desc if op else "-"
                    if op is not None and op.pre:
                        d = "; ".join(op.pre) + "; " + d
                    outf.write("%d\t%s\t%s\t%s\n" % (k, op.name if op else "-", outcome, d[:300].replace("\t", " ").replace("\n", " ")))
                last_case = k
                if problems:
                    failed += 1
                    failed_cases[k] = True
                    try:
                        report(k, ep_start, st, op, problems, seed, opts)
                        for kind, text in problems:
                            key = kind + ": " + normalize(text)
                            if key not in kinds:
                                kinds[key] = [0, k]
                                kind_order.append(key)
                            kinds[key][0] += 1
                    except MemoryError:
                        print("FAIL case %d (out of memory while reporting it; replay with --start %d)" % (k, ep_start))
                else:
                    passed += 1
            if k % 16 == 15:
                gc.collect()
            k += 1
    if st is not None and st.hook_installed and st.client is not None:
        try:
            st.client.uninstall_error_hook()
        except BaseException:
            pass
    if weakref is not None and leak_watch:
        leak_watch, leaks = check_leaks(leak_watch, k // E - 1)
        for k_last, text in leaks:
            if k_last not in failed_cases:
                failed_cases[k_last] = True
                failed += 1
                passed -= 1
            key = "leak: " + normalize(text)
            if key not in kinds:
                kinds[key] = [0, k_last]
                kind_order.append(key)
            kinds[key][0] += 1
    if hasattr(sys, "excepthook"):
        sys.excepthook = saved_hook
    if logf is not None:
        logf.write("done\n")
        logf.close()
    if outf is not None:
        outf.close()
    secs = elapsed_ms(t0) / 1000.0
    if opts["timing"]:
        for name in sorted(timing.keys()):
            print("timing %-22s %6d cases %8d ms" % (name, timing[name][0], timing[name][1]))
    if kind_order:
        print("distinct failures (count, first case):")
        for key in kind_order:
            print("  %5d  case %-7d %s" % (kinds[key][0], kinds[key][1], key))
    print("fuzz: %d cases, seed %d, %d failed (%s, %.1f s%s%s)" % (ran, seed, failed, sys.implementation.name, secs, (", %d KB heap" % opts["heap"]) if opts["heap"] else "", (", %d out-of-memory skips" % oom) if oom else ""))
    del ballast
    print("%d passed, %d failed" % (passed, failed))
    flush_out()
    if failed:
        sys.exit(1)


def check_leaks(watch, newest):
    """CPython: a finished client (its State, callback, buffer export) must be freed, reference
    cycles through connectivity_callback included. Epochs from `newest` on are kept for later
    (the previous case's objects may still be referenced). Returns (still watched, leaks)."""
    gc.collect()
    keep = []
    leaks = []
    for ep_done, ref, k_last in watch:
        if ep_done >= newest:
            keep.append((ep_done, ref, k_last))
            continue
        leaked = ref()
        if leaked is not None:
            text = "the client of cases %d..%d (and its buffer, callback) was never freed: a reference cycle through connectivity_callback is not collected" % (ep_done * EPOCH[0], k_last)
            print("FAIL case %d [leak] %s" % (k_last, text))
            print("  client: %s" % leaked.cfg_desc)
            leaks.append((k_last, text))
    return keep, leaks


EPOCH = [25]


def take_heap(kb):
    """--heap=KB (MicroPython): fill the heap with ballast, then free the largest ballast blocks
    until about KB kilobytes are free, so the SDK and the test values run in a small heap.
    (`-X heapsize=48k` alone cannot be used: compiling this file needs ~400 KB; run.sh passes
    `-X heapsize=` large enough for that, plus KB.)"""
    if not kb:
        return None
    if not MP or not hasattr(gc, "mem_free"):
        print("--heap is for MicroPython")
        sys.exit(2)
    target = kb * 1024
    gc.collect()
    slots = [None] * 2048
    n = 0
    for sz in (65536, 32768, 16384, 8192, 4096, 2048, 1024, 512, 256, 128, 64, 32, 16):
        while n < len(slots):
            try:
                slots[n] = bytearray(sz)
            except MemoryError:
                break
            n += 1
    gc.collect()
    for i in range(n):
        free = gc.mem_free()
        if free >= target - 512:
            break
        if free + len(slots[i]) <= target + 512:
            slots[i] = None  # largest first: the free memory comes back in big pieces
            gc.collect()
    print("heap: %d bytes free for the test" % gc.mem_free())
    return slots


def outcome_has_taint(st):
    t = st.ever_resized or st.resize_tried or st.fallback
    st.resize_tried = False
    return t


def normalize(text):
    """Group failures: digits out, so '12 -> 13' and '3 -> 4' are one kind; what follows ' | '
    is detail that does not make a failure distinct."""
    i = text.find(" | ")
    if i >= 0:
        text = text[:i]
    out = []
    prev_digit = False
    for ch in text:
        if "0" <= ch <= "9":
            if not prev_digit:
                out.append("N")
            prev_digit = True
        else:
            out.append(ch)
            prev_digit = False
    return "".join(out)[:100]


main()
