#!/usr/bin/env python3
# keystroke-rtt.py ROUNDS LABEL -- COMMAND...: run COMMAND (an ssh -tt) on
# a pseudo-terminal, wait for keystroke-echo.py's "echo-ready", then type
# one key ROUNDS times, each after the echo of the one before, and print
# the round trip's median and 99th percentile in milliseconds.
import os
import pty
import select
import signal
import sys
import time


def main():
    rounds = int(sys.argv[1])
    label = sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen = b""

    def wait_for(token, limit):
        nonlocal seen
        end = time.monotonic() + limit
        while token not in seen:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return False
                if not data:
                    return False
                seen += data
        # keep only what follows the token: later tokens are unique
        seen = seen[seen.index(token) + len(token):]
        return True

    rtts = []
    ok = wait_for(b"echo-ready", 120)
    for i in range(1, rounds + 1) if ok else []:
        t0 = time.monotonic()
        os.write(fd, b"x")
        if not wait_for(b"K%06d" % i, 60):
            ok = False
            break
        rtts.append((time.monotonic() - t0) * 1000)
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)
    if not ok or not rtts:
        print("%-34s failed after %d rounds; last output: %r" %
              (label, len(rtts), seen[-200:]))
        sys.exit(1)
    rtts.sort()
    med = rtts[len(rtts) // 2]
    p99 = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
    print("%-34s median %7.2f ms   p99 %7.2f ms   (%d keys)" %
          (label, med, p99, len(rtts)))


main()
