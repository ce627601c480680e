#!/usr/bin/env python3
"""Runs Python code on a MicroPython firmware image under QEMU, through the board's serial
console and MicroPython's raw REPL (Ctrl-A: raw mode; the code, then Ctrl-D: run it; the
board answers "OK", the output, Ctrl-D, the exception text, Ctrl-D).

    run-qemu.py --timeout S QEMU_COMMAND... -- CODE

QEMU's serial port is this process's pipe (-serial stdio). Prints what the code printed and
exits 0 when it finished without an exception, 1 otherwise (2: the board never answered).
"""

import os
import select
import subprocess
import sys
import time


class Board:
    def __init__(self, command):
        self.proc = subprocess.Popen(
            command + ["-serial", "stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.pending = b""

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_until(self, marker, deadline, echo=False):
        """Bytes up to and including `marker`; None when the deadline passes or QEMU exits."""
        while marker not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    return None
                if echo:
                    # Stream the test output as it comes (without the protocol's Ctrl-Ds).
                    sys.stdout.write(chunk.replace(b"\x04", b"").decode("utf-8", "replace"))
                    sys.stdout.flush()
                self.pending += chunk
        end = self.pending.index(marker) + len(marker)
        data, self.pending = self.pending[:end], self.pending[end:]
        return data

    def enter_raw_repl(self, timeout):
        deadline = time.monotonic() + timeout
        self.write(b"\r\x03\x03")  # stop whatever runs
        self.write(b"\r\x01")  # raw REPL
        return self.read_until(b"raw REPL; CTRL-B to exit\r\n>", deadline) is not None

    def run(self, code, timeout):
        deadline = time.monotonic() + timeout
        self.write(code.encode() + b"\x04")
        if self.read_until(b"OK", deadline) is None:
            return None, b""
        output = self.read_until(b"\x04", deadline, echo=True)
        error = self.read_until(b"\x04", deadline)
        if output is None or error is None:
            return None, b""
        return output[:-1], error[:-1]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def main():
    args = sys.argv[1:]
    timeout = 600.0
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    split = args.index("--")
    command, code = args[:split], " ".join(args[split + 1 :])
    board = Board(command)
    try:
        if not board.enter_raw_repl(timeout=30):
            print("run-qemu: the board did not enter the raw REPL", file=sys.stderr)
            return 2
        output, error = board.run(code, timeout)
        if output is None:
            print("run-qemu: no answer within %d s" % timeout, file=sys.stderr)
            return 2
        if error:
            sys.stdout.write(error.decode("utf-8", "replace"))
            return 1
        return 0
    finally:
        board.close()


if __name__ == "__main__":
    sys.exit(main())
