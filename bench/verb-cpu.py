#!/usr/bin/env python3
"""verb-cpu.py LOG CMD...: run CMD (tunl-shell, as sshd's ForceCommand in
bench/scale.sh) and append to LOG one line "argv0 cpu_ms": the CPU time of
CMD and of every child it waited for (tunl-shell and the tunl-authority it
runs, with SQLite in it), from getrusage(RUSAGE_CHILDREN), in microseconds
resolution. This wrapper's own start-up is not in it. Standard input,
output and error, the environment and the exit status pass through.
"""
import os
import resource
import sys


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(sys.argv[2], sys.argv[2:])
        finally:
            os._exit(127)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, status = os.waitpid(pid, 0)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ms = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000.0
    try:
        with open(sys.argv[1], "a") as f:
            f.write("%s %.1f\n" % (os.path.basename(sys.argv[2]), ms))
    except OSError:
        pass
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


sys.exit(main())
