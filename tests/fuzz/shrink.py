"""Shrink a failure of api_fuzz.py to the fewest calls on its client that still reproduce it.

    python3 tests/fuzz/shrink.py <interpreter> --seed S --case K [--kind KIND] [--epoch E]
        [--heap=KB]

Case K's client (epoch K // E) is rebuilt and only a subset of the cases before K is run
(`api_fuzz.py --only`); a subset is kept when case K still fails with the same kind (the text in
[brackets] of its FAIL line, or a crash of the interpreter). Prints the `--verbose` replay of
the smallest subset found (greedy one-at-a-time removal, after halving), ready to turn into a
few lines of Python. The interpreter may be MicroPython or CPython.
"""

import subprocess
import sys

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    interp = args.pop(0)
    seed, case, kind, epoch, heap = 1, None, None, 25, None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--seed":
            seed = int(args[i + 1]); i += 2
        elif a == "--case":
            case = int(args[i + 1]); i += 2
        elif a == "--kind":
            kind = args[i + 1]; i += 2
        elif a == "--epoch":
            epoch = int(args[i + 1]); i += 2
        elif a.startswith("--heap"):
            heap = a; i += 1
        else:
            print("shrink.py: unknown option", a)
            sys.exit(2)
    if case is None:
        print(__doc__)
        sys.exit(2)
    start = (case // epoch) * epoch
    pre = []
    if heap:
        kb = int(heap.split("=")[1].rstrip("kK")) if "=" in heap else 48
        pre = ["-X", "heapsize=%dk" % (512 + kb)]

    def run(subset, verbose=False):
        only = ",".join(str(k) for k in sorted(subset) + [case])
        cmd = [interp] + pre + [HERE + "/api_fuzz.py", "--seed", str(seed), "--start", str(start),
                                "--cases", str(case - start + 1), "--epoch", str(epoch), "--only", only]
        if heap:
            cmd.append(heap)
        if verbose:
            cmd.append("--verbose")
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        return p.returncode, out, cmd

    def fails(subset):
        rc, out, _ = run(subset)
        if kind == "crash":
            return rc < 0 or rc > 1
        for line in out.splitlines():
            if line.startswith("FAIL case %d " % case):
                if kind is None or ("[" + kind + "]") in line:
                    return True
        return False

    subset = list(range(start, case))
    if not fails(subset):
        print("case %d does not fail%s with all earlier cases of its client" % (case, "" if kind is None else " with [%s]" % kind))
        sys.exit(1)
    # halving, then one at a time
    chunk = max(1, len(subset) // 2)
    while chunk >= 1:
        j = 0
        while j < len(subset):
            trial = subset[:j] + subset[j + chunk:]
            if fails(trial):
                subset = trial
            else:
                j += chunk
        if chunk == 1:
            break
        chunk //= 2
    rc, out, cmd = run(subset, verbose=True)
    print("minimal: %d earlier case(s) of this client are needed: %s" % (len(subset), subset))
    print("replay: " + " ".join(cmd[:1 + len(pre)] + ["tests/fuzz/api_fuzz.py"] + cmd[2 + len(pre):]))
    for line in out.splitlines():
        if line.startswith("honch: ") or line.startswith("Warning: Comparison"):
            continue
        print("  " + line)


main()
