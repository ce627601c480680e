"""Compare the per-case outcomes of two api_fuzz.py runs (same seed, same cases), one per runtime.

    python3 tests/fuzz/compare.py A.outcomes B.outcomes [--epoch E]

Decision 17: the same call with the same values succeeds on both runtimes or raises the same
class on both. A divergence is "primary" when it is the first one on its client (epoch); later
ones on the same client may only follow from the first (the two clients' states differ), so they
are counted but listed only when their signature was never primary. Cases marked `tainted` (the
event_buffer was resized: MicroPython lets it, CPython raises BufferError) are skipped, as are
the error messages of TypeError. Lines numbered -(E + 1) are epoch E's own client construction
(a configuration one runtime refuses makes the harness fall back to a plain one, and marks the
epoch's cases tainted). Prints one block per signature (operation, outcome
A, outcome B) with its first case and that case's description; exit status 1 on any divergence.
"""

import sys


def load(path):
    rows = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            k = int(parts[0])
            rows[k] = (parts[1], parts[2], parts[3] if len(parts) > 3 else "")
    return rows


def norm(outcome):
    o = outcome.replace(" tainted", "")
    if o.startswith("TypeError"):
        return "TypeError" + o[len(o.split(" ")[0]):]
    return o


def extras(o):
    parts = o.split(" ")[1:]
    return " ".join(parts) if parts else "(no callback activity)"


def main():
    args = sys.argv[1:]
    epoch = 25
    if "--epoch" in args:
        i = args.index("--epoch")
        epoch = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__)
        sys.exit(2)
    a, b = load(args[0]), load(args[1])
    common = sorted(set(a) & set(b))
    primary = {}
    secondary = {}
    diverged_epochs = set()
    compared = 0
    for k in common:
        (op_a, out_a, desc_a), (op_b, out_b, _) = a[k], b[k]
        if op_a != op_b:
            print("case %d: the runs did different operations (%s vs %s): not the same seed/harness?" % (k, op_a, op_b))
            sys.exit(2)
        if "tainted" in out_a or "tainted" in out_b:
            continue
        compared += 1
        na, nb = norm(out_a), norm(out_b)
        if na == nb:
            continue
        ca, cb = na.split(" ")[0], nb.split(" ")[0]
        if ca == cb:
            # same outcome; the connectivity_callback was polled a different number of times,
            # or its re-entrant calls into the client had different outcomes
            sig = (op_a, ca + " " + extras(na), extras(nb))
        else:
            sig = (op_a, ca, cb)
        ep = k // epoch if k >= 0 else ("client", k)  # k < 0: the line of epoch -k-1's client
        table = secondary if ep in diverged_epochs else primary
        diverged_epochs.add(ep)
        if sig not in table:
            table[sig] = [0, k, desc_a]
        table[sig][0] += 1
    print("compared %d cases (%d common, %d skipped as tainted)" % (compared, len(common), len(common) - compared))
    if primary:
        print("divergences (first on their client): count, operation, %s | %s" % (args[0], args[1]))
        for sig in sorted(primary, key=lambda s: -primary[s][0]):
            n, k, desc = primary[sig]
            print("  %5d  %-20s %s | %s" % (n, sig[0], sig[1], sig[2]))
            print("         first: case %d: %s" % (k, desc[:240]))
    only_secondary = [s for s in secondary if s not in primary]
    if only_secondary:
        print("divergences seen only after an earlier one on the same client:")
        for sig in sorted(only_secondary, key=lambda s: -secondary[s][0]):
            n, k, desc = secondary[sig]
            print("  %5d  %-20s %s | %s" % (n, sig[0], sig[1], sig[2]))
            print("         first: case %d (replay its whole client): %s" % (k, desc[:240]))
    total = sum(v[0] for v in primary.values()) + sum(v[0] for v in secondary.values())
    print("%d divergent cases, %d distinct primary signatures" % (total, len(primary)))
    sys.exit(1 if total else 0)


main()
