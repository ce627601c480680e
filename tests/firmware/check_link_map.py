#!/usr/bin/env python3
"""Checks a firmware's GNU ld link map: our library (libhonch.a) may be pulled in only for
our own symbols (honch_*), never to satisfy the firmware's references to memcpy, memset,
64-bit division or any other routine the firmware has its own copy of
(mp_bindings/finish-staticlib.sh). Prints where the firmware's memcpy comes from.

    check_link_map.py FIRMWARE.map

Exit 0 when the rule holds, 1 (listing the offending members) when it does not.
"""

import re
import sys


def pulled_members(text):
    """(archive member, symbol that pulled it) from the map's first section."""
    start = text.find("Archive member included to satisfy reference by file (symbol)")
    end = text.find("\n\n", text.find("\n\n", start) + 2) if start >= 0 else -1
    if start < 0:
        return []
    lines = text[start:end if end > 0 else None].splitlines()[1:]
    pairs = []
    member = None
    for line in lines:
        if not line.strip():
            continue
        if not line.startswith(" "):
            member = line.split()[0]
            # The member and its reason may share a line when the name is short.
            rest = line[len(member):].strip()
            if rest and member:
                pairs.append((member, rest))
                member = None
        elif member:
            pairs.append((member, line.strip()))
            member = None
    return pairs


def main():
    text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    pairs = pulled_members(text)
    ours = [(m, why) for m, why in pairs if "libhonch.a(" in m]
    if not ours:
        print("link map: libhonch.a was not linked at all")
        return 1
    wrong = []
    for member, why in ours:
        symbol = re.search(r"\((\S+)\)\s*$", why)
        if not symbol or not symbol.group(1).startswith("honch_"):
            wrong.append((member, why))
    for member, why in wrong:
        print("link map: %s was pulled in for %s" % (member, why))
    source = [m for m, why in pairs if why.endswith("(memcpy)")]
    print(
        "link map: %d members of libhonch.a, all for honch_* symbols%s; memcpy comes from %s"
        % (
            len(ours),
            "" if not wrong else " EXCEPT %d" % len(wrong),
            source[0] if source else "the firmware's own objects",
        )
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
