#!/usr/bin/env python3
"""scale-measure.py: the figures of bench/scale.sh, read from /proc.

  scale-measure.py cpu NS PIDFILE SECS
      CPU used over SECS seconds by "our processes": every process in the
      mount namespace NS (sshd and all it runs, the brokers, the producers)
      and the pids listed in PIDFILE (the engineers' ssh clients), from
      each thread's schedstat (nanoseconds on a CPU, and how many times it
      was put on one: its wakeups). Prints "cpu_ms pct_of_one_core nprocs
      top broker_wakeups_per_s nbrokers", top being the five programs that
      used most ("comm=ms,..."), broker_wakeups_per_s the wakeups of every
      tunl-broker thread together per second.
  scale-measure.py new NS PIDFILE -- CMD...
      Run CMD (one `new` through ssh) and print the CPU it cost, summed
      over every process: the long-lived ones' own and reaped children's
      time (sshd's per-connection processes, tunl-shell and tunl-authority
      end up in the sshd listener's; registry children in their broker's),
      plus CMD's own tree. Prints "total_ms wall_ms rc client_ms
      relay_ms brokers_ms": the ssh client, the relay's processes other
      than the brokers (sshd, PAM, tunl-shell, tunl-authority, SQLite),
      and every broker together (with their registry children).
  scale-measure.py pss NS PIDFILE
      PSS (smaps_rollup) summed by kind: "broker producer engineer-path
      other" in kB, and the number of brokers.
"""
import os
import resource
import subprocess
import sys
import time

from procfs import comm, pss_kib

CLK = os.sysconf("SC_CLK_TCK")


def ns_pids(ns):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/ns/mnt" % d) == ns:
                out.append(int(d))
        except OSError:
            pass
    return out


def listed(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split() if x.isdigit()]
    except OSError:
        return []


def stat(pid):
    """(utime+stime, cutime+cstime) in ticks, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12]),
            int(fields[13]) + int(fields[14]))


def snapshot(ns, pidfile, children):
    pids = set(ns_pids(ns)) | set(listed(pidfile))
    snap = {}
    for p in pids:
        st = stat(p)
        if st is not None:
            snap[p] = st[0] + (st[1] if children else 0)
    return snap


def delta(a, b):
    """Ticks used between snapshots a and b by processes alive in both."""
    return sum(b[p] - a[p] for p in b if p in a)


def sched(pid):
    """(ns on a CPU, times run) over pid's threads, or None if gone."""
    ns = runs = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for t in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                v = f.read().split()
        except OSError:
            continue
        ns += int(v[0])
        runs += int(v[2])
    return (ns, runs)


def sched_snapshot(ns, pidfile):
    snap = {}
    for p in set(ns_pids(ns)) | set(listed(pidfile)):
        st = sched(p)
        if st is not None:
            snap[p] = (st, comm(p))
    return snap


def cmd_cpu(ns, pidfile, secs):
    a = sched_snapshot(ns, pidfile)
    t0 = time.monotonic()
    time.sleep(secs)
    b = sched_snapshot(ns, pidfile)
    wall = time.monotonic() - t0
    by = {}
    total = wakes = 0
    nb = 0
    for p in b:
        if p not in a or a[p][1] != b[p][1]:
            continue
        d = b[p][0][0] - a[p][0][0]
        total += d
        by[b[p][1]] = by.get(b[p][1], 0) + d
        if b[p][1] == "tunl-broker":
            wakes += b[p][0][1] - a[p][0][1]
            nb += 1
    ms = total / 1e6
    top = sorted(by.items(), key=lambda kv: -kv[1])[:5]
    print("%.0f %.2f %d %s %.1f %d" % (
        ms, ms / (wall * 1000.0) * 100.0, len(b),
        ",".join("%s=%.0fms" % (k, v / 1e6) for k, v in top if v >= 5e5)
        or "-", wakes / wall, nb))


def cmd_new(ns, pidfile, argv):
    a = snapshot(ns, pidfile, True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    rc = subprocess.call(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    # The short-lived processes are reaped by their parents soon after.
    time.sleep(0.5)
    b = snapshot(ns, pidfile, True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000.0
    relay = delta(a, b) * 1000.0 / CLK
    brokers = sum(b[p] - a[p] for p in b
                  if p in a and comm(p) == "tunl-broker") * 1000.0 / CLK
    print("%.1f %.0f %d %.1f %.1f %.1f" % (relay + client, wall * 1000.0, rc,
                                            client, relay - brokers, brokers))


def cmd_pss(ns, pidfile):
    kinds = {"broker": 0, "producer": 0, "engineer": 0, "other": 0}
    brokers = 0
    for p in set(ns_pids(ns)) | set(listed(pidfile)):
        c = comm(p)
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cl = f.read().replace(b"\0", b" ")
        except OSError:
            cl = b""
        if c == "tunl-broker":
            kinds["broker"] += pss_kib(p)
            brokers += 1
        elif c == "test-producer":
            kinds["producer"] += pss_kib(p)
        elif c in ("ssh", "tunl-shell", "tunl-shell.bin") or \
                (c == "sshd" and b"[listener]" not in cl and
                 b"-D" not in cl and b"-f" not in cl):
            kinds["engineer"] += pss_kib(p)
        else:
            kinds["other"] += pss_kib(p)
    print("%d %d %d %d %d" % (kinds["broker"], kinds["producer"],
                              kinds["engineer"], kinds["other"], brokers))


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "cpu":
        cmd_cpu(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif len(sys.argv) >= 6 and sys.argv[1] == "new" and sys.argv[4] == "--":
        cmd_new(sys.argv[2], sys.argv[3], sys.argv[5:])
    elif len(sys.argv) == 4 and sys.argv[1] == "pss":
        cmd_pss(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


main()
