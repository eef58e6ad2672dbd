#!/usr/bin/python3
# e2e-wait.py T0_NS FILE TEXT [TIMEOUT_S]: wait until FILE exists and, when
# TEXT is not empty, holds TEXT; print the seconds since T0_NS (a
# `date +%s%N` taken just before the thing measured was started).
# Polls every 2 ms, reading only what was added since the last look.
# Exit 1 on the timeout (default 300 s).
import os
import sys
import time


def main():
    t0 = int(sys.argv[1])
    path = sys.argv[2]
    text = sys.argv[3].encode()
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
    end = time.monotonic() + limit
    pos = 0
    tail = b""
    while time.monotonic() < end:
        try:
            with open(path, "rb") as f:
                if not text:
                    break
                f.seek(pos)
                data = f.read()
                pos += len(data)
                hay = tail + data
                if text in hay:
                    break
                tail = hay[-len(text):]
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    else:
        print("timeout")
        return 1
    print("%.3f" % ((time.time_ns() - t0) / 1e9))
    return 0


sys.exit(main())
