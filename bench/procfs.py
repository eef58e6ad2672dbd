# procfs.py: what the benchmarks read of a process in /proc, shared by
# e2e-pss.py and scale-measure.py (imported from the script's directory).
# A process that is gone, or not ours to read, gives the empty answer.


def comm(pid):
    """The process's program name, or "" if it cannot be read."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def pss_kib(pid):
    """Its proportional set size in KiB (smaps_rollup), 0 if unreadable."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
