#!/usr/bin/python3
# e2e-pss.py LABEL SSHD_PID [SESSIONS] [BROKER_DIR]: the relay's processes
# for bench/e2e.sh: every descendant of the private sshd (OpenSSH's own
# and what they run) and every tunl-broker whose program lies under
# BROKER_DIR (the harness tree; brokers detach from sshd). Prints, by
# program, how many there are and their PSS (from smaps_rollup), and the
# totals per session.
import os
import sys

from procfs import comm, pss_kib


def children():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def main():
    label = sys.argv[1]
    root = int(sys.argv[2])
    sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    bdir = sys.argv[4] if len(sys.argv) > 4 else ""
    kids = children()
    pids, todo = [], list(kids.get(root, []))
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(kids.get(p, []))
    if bdir:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % d)
            except OSError:
                continue
            if exe.startswith(bdir) and exe.endswith("tunl-broker") and \
                    int(d) not in pids:
                pids.append(int(d))
    by = {}
    for p in pids:
        c = comm(p) or "?"
        n, k = by.get(c, (0, 0))
        by[c] = (n + 1, k + pss_kib(p))
    tot_n = sum(n for n, _ in by.values())
    tot_k = sum(k for _, k in by.values())
    ours_n = sum(n for c, (n, _) in by.items() if c != "sshd")
    ours_k = sum(k for c, (_, k) in by.items() if c != "sshd")
    print("%s: %d processes, PSS %.1f MiB; per session %.1f processes "
          "(%.1f ours), %.2f MiB (%.2f MiB ours)" % (
              label, tot_n, tot_k / 1024, tot_n / sessions,
              ours_n / sessions, tot_k / 1024 / sessions,
              ours_k / 1024 / sessions))
    for c in sorted(by):
        print("    %-14s %4d  %8.1f MiB" % (c, by[c][0], by[c][1] / 1024))


main()
