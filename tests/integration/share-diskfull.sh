#!/bin/sh
# Issue 11 item 6, a full recording disk, through the real sshd, tmux and
# tunl-share. The recordings' directory is a 16 MiB tmpfs mounted in
# sshd's private mount namespace only (it goes with that namespace); the
# test fills it with a file, then removes the file.
#
# Phase 1, a little output while the disk is full:
# - the broker pauses the output (once the writer was refused, the
#   engineer does not see the line the customer prints next), refuses the read-write engineer's keys (they never
#   reach the customer's shell), tells the engineer and the customer, and
#   logs a recording-stalled event;
# - once there is room, the line reaches the engineer, the recording
#   holds it after a "nothing is missing" marker, a recording-resumed
#   event is logged, everybody is told and the engineer can type again.
# Phase 2, more output than tunl-share may spool (--spool-max 1) while the
# disk is full: tunl-share's spool fills, which shows the broker stopped
# reading; once there is room the recording carries the spool's gap
# marker, and the relay's recording plus the marked bytes is exactly the
# customer's own recording (every byte the pane printed).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-diskfull: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-diskfull
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
command -v base64 >/dev/null 2>&1 || harness_skip "needs base64"
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

# The recordings' directory becomes a small tmpfs with the same owner and
# mode, seen by sshd and every session it starts, not by this shell.
RD=$H/var/log/tunl
RDOWN=$(stat -c '%u' "$RD") && RDGRP=$(stat -c '%g' "$RD") &&
    RDMODE=$(stat -c '%a' "$RD") || harness_fail "cannot stat $RD"
harness_nsenter mount -t tmpfs -o "size=16m,nosuid,nodev,mode=$RDMODE,uid=$RDOWN,gid=$RDGRP" \
    tunl-rec "$RD" || harness_skip "cannot mount a tmpfs in sshd's namespace"
[ "$(harness_nsenter stat -f -c %T "$RD")" = tmpfs ] ||
    harness_fail "no tmpfs on $RD in sshd's namespace"
[ "$(stat -f -c %T "$RD")" != tmpfs ] || harness_fail "the tmpfs is seen outside"

# The relay's recording, read in sshd's namespace.
rec_copy() {
	harness_nsenter cat "$RD/$ID.cast" >"$H/rec.cast" 2>/dev/null
}
rec_has() {
	rec_copy && cast_has "$H/rec.cast" "$1"
}
fill() {
	# dd stops at ENOSPC; the file takes all the room there is.
	harness_nsenter dd if=/dev/zero of="$RD/filler" bs=64k \
	    >/dev/null 2>&1
	[ "$(harness_nsenter stat -f -c %a "$RD")" = 0 ] ||
	    harness_fail "the tmpfs is not full"
}
unfill() {
	harness_nsenter rm -f "$RD/filler" || harness_fail "cannot free room"
}
events_like() {
	relay_sql "SELECT action || ' ' || detail FROM events
	    WHERE session_id = '$ID' AND action = '$1';" | grep -q -- "$2"
}

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --spool-max 1 --token-file $TOKENFILE $ID"
cust_wait_ready 1
DIR=${CSOCK%/tmux.sock}
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
cust_wait_pane "alice joined (read-write)" 1
tm send-keys -t e2e:rw -l 'echo typed-$((40+2))'
tm send-keys -t e2e:rw Enter
cust_wait_pane typed-42
harness_wait 60 "the recording to hold the engineer's line" rec_has "typed-42"

# ---- phase 1 ----
fill
# More than the last page the recording has begun (tmpfs takes whole
# pages): the writer is refused.
tmux -S "$CSOCK" send-keys -t tunl:0.0 "seq 1 3000; echo filled-\$((2*20))" Enter
cust_wait_pane "filled-40"
wait_raw rw "recording disk cannot be written (disk full)"
# From now on nothing the customer prints is let through.
tmux -S "$CSOCK" send-keys -t tunl:0.0 "echo while-full-\$((2*30))" Enter
cust_wait_pane "while-full-60"
harness_wait 60 "a recording-stalled event" \
    events_like recording-stalled "disk full"
grep -q "recording disk cannot be written (disk full)" "$DIR/audit.log" ||
    harness_fail "the customer's audit log does not say"
# Keys are refused, and the engineer is told so. The customer's line was
# printed before the notice came: unpaused, it would be out by now.
tm send-keys -t e2e:rw -l 'echo typed-$((40+3))'
tm send-keys -t e2e:rw Enter
wait_raw rw "keys refused until it can"
raw_has rw "while-full-60" &&
    harness_fail "the engineer saw output the recording does not hold"
rec_has "while-full-60" && harness_fail "written to a full disk?"
cust_pane_has "typed-43" 0 && harness_fail "keys went through unrecorded"

unfill
wait_raw rw "while-full-60"
harness_wait 60 "the customer's line in the recording" rec_has "while-full-60"
rec_has "output was paused, nothing is missing" ||
    harness_fail "no resume marker in the recording"
wait_raw rw "has room again"
harness_wait 60 "the customer's audit log to say room is back" \
    audit_more "recording disk has room again" 0
harness_wait 60 "a recording-resumed event" \
    events_like recording-resumed "disk full"
tm send-keys -t e2e:rw -l 'echo typed-$((40+4))'
tm send-keys -t e2e:rw Enter
cust_wait_pane typed-44
harness_wait 60 "the engineer's line after the pause in the recording" \
    rec_has "typed-44"
cust_pane_has "typed-43" 0 && harness_fail "refused keys came through later"

# ---- phase 2 ----
head -c $((6 * 1024 * 1024)) /dev/urandom | base64 -w 76 >"$H/data" ||
    harness_fail "no data"
fill
tmux -S "$CSOCK" send-keys -t tunl:0.0 \
    "cat $H/data; echo burst-end-\$((2*8))" Enter
cust_wait_pane "burst-end-16"
spool_full() {
	[ "$(audit_count "the spool for the relay is full")" -ge 1 ]
}
harness_wait 120 "tunl-share to say its spool is full" spool_full
rec_has "burst-end-16" && harness_fail "the burst's end written to a full disk?"
unfill
harness_wait 120 "the end of the burst in the recording" rec_has "burst-end-16"
harness_wait 60 "the gap marker" \
    rec_has "the customer's spool was full; dropped_output="
harness_wait 60 "the end of the burst in the customer's recording" \
    cast_has "$DIR/session.cast" "burst-end-16"
rec_copy || harness_fail "cannot read the recording"
python3 - "$H/rec.cast" "$DIR/session.cast" <<'PY' || harness_fail "the sizes do not add up"
import json, re, sys
def events(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    assert lines[-1] == "", "torn last line in " + path
    return [json.loads(l) for l in lines[1:-1]]
relay, gaps, repair, resumed = 0, 0, False, 0
for ev in events(sys.argv[1]):
    if ev[1] == "m":
        m = re.match(r"tunl: gap: (at least )?(\d+) bytes", ev[2])
        if m:
            assert not m.group(1), "an estimate where the count is known"
            gaps += int(m.group(2))
        if "nothing is missing" in ev[2]:
            resumed += 1
        repair = ev[2].startswith("tunl: the screen after the gap")
    elif ev[1] == "o":
        if not repair:
            relay += len(ev[2].encode("utf-8"))
        repair = False
cust = sum(len(ev[2].encode("utf-8")) for ev in events(sys.argv[2])
           if ev[1] == "o")
print("relay recorded %d + gaps %d = %d; the customer's recording %d; "
      "%d resume markers" % (relay, gaps, relay + gaps, cust, resumed))
assert gaps > 0, "no gap"
assert resumed == 2, "not two resume markers"
assert relay + gaps == cust, "the sizes do not add up"
PY
share_finish
