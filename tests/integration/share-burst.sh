#!/bin/sh
# Issue 11 item 2: nothing of the customer's pane is lost on its way to
# the relay's recording. Through the real sshd, tmux and tunl-share:
#
# - a burst of base64 with no fault: the recording holds every byte the
#   program wrote, in order, and no gap marker;
# - the same with the broker stopped (SIGSTOP) while tunl-share's spool
#   fills, for 4 s, then let go: every byte again, no gap marker;
# - an engineer whose terminal stops reading is dropped by the broker and
#   told why once it reads again, even after the relay closed its
#   connection and the join gave up writing anything else (issue 11 item
#   8). tmux
#   keeps reading a pane while the customer's terminal is attached, so
#   tunl-share spools what the link cannot take (client/share-spool.c).
#
# The size: 12 MiB of random bytes, 16.6 MB of base64 a burst. That is
# several times what the link and the broker hold in their buffers (so
# the spool is used and a stall cannot hide in a buffer), and two bursts
# drawn by the customer's tmux, the test's tmux and the broker stay
# under two minutes on a loaded 2-core machine.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-burst: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-burst
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
command -v base64 >/dev/null 2>&1 || harness_skip "needs base64"
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

# The broker is stopped below for 4 s, plus however long the spool takes
# to fill on a loaded machine: tunl-share is told to wait that out
# (--silence) rather than reconnect, which would mark a gap ("link
# dropped"), as it must. share-reconnect.sh and share-freeze.sh show that.
share_watched --silence 600
share_data 12
harness_log "a burst is $(wc -c <"$H/data") bytes of base64"

rec_has() {
	cast_has "$REC" "$1"
}

# ---- a burst, no fault ------------------------------------------------------
tmux -S "$CSOCK" send-keys -t tunl:0.0 \
    "cat $H/data; echo burst-end-\$((2*5))" Enter
harness_wait 300 "the first burst in the recording" rec_has "burst-end-10"

# ---- a burst with the relay side stopped 4 s ---------------------------------
BPID=$(ps -eo pid=,args= | awk -v id="$ID" \
    '$2 ~ /tunl-broker$/ && index($0, id) { print $1 }')
[ -n "$BPID" ] || harness_fail "no broker for $ID: $(ps -eo pid=,args=)"
SPID=$(ps -eo pid=,args= | awk -v s="$SHARE" -v id="$ID" \
    '$2 == s && index($0, id) { print $1 }')
[ -n "$SPID" ] || harness_fail "no tunl-share: $(ps -eo pid=,args=)"
spool_size() {
	for _f in /proc/"$SPID"/fd/*; do
		case $(readlink "$_f") in
		*/spool*) stat -L -c %s "$_f"; return 0 ;;
		esac
	done
	echo 0
}
spool_holds() {
	[ "$(spool_size)" -ge $((2 * 1024 * 1024)) ]
}
kill -STOP "$BPID"
tmux -S "$CSOCK" send-keys -t tunl:0.0 \
    "cat $H/data; echo burst-end-\$((2*7))" Enter
harness_wait 120 "tunl-share to spool what the stopped relay cannot take" \
    spool_holds
# The fault's length (not an assumption about timing): 4 s stopped.
sleep 4
kill -CONT "$BPID"
harness_log "relay side stopped 4 s; the spool held $(spool_size) bytes"
harness_wait 300 "the second burst in the recording" rec_has "burst-end-14"

# ---- the recording: both bursts whole, no gap ------------------------------
python3 - "$REC" "$H/data" <<'PY' || harness_fail "the recording lost output"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "torn last line"
out, gaps = [], []
for l in lines[1:-1]:
    ev = json.loads(l)
    if ev[1] == "o":
        out.append(ev[2])
    elif ev[1] == "m":
        gaps.append(ev[2])
rec = "".join(out)
data = open(sys.argv[2], encoding="ascii").read().replace("\n", "\r\n")
first = rec.find(data)
assert first != -1, "the first burst is not whole in the recording"
second = rec.find(data, first + len(data))
assert second != -1, "the second burst is not whole in the recording"
assert not gaps, "gap markers: %r" % gaps
print("recording: %d bytes of output, both bursts whole" % len(rec))
PY
grep -q "dropped_output=[1-9]" "$DIR/audit.log" &&
    harness_fail "the audit log says output was dropped"

# ---- a viewer that stops reading is told why it was dropped (item 8) ---------
# Its ssh is stopped (as a terminal stopped with ^S stops reading) while a
# burst goes; the broker drops it after 10 s of not reading, and once it
# runs again it says why: the broker's notice, or, when that could not
# get through a full link, the join's own words ("your terminal took no
# output for N s").
RPANE=$(tm display -p -t e2e:ro '#{pane_pid}')
EPID=$(ps -eo pid=,ppid=,comm= | awk -v p="$RPANE" '$2 == p && $3 == "ssh" { print $1 }')
[ -n "$EPID" ] || harness_fail "no ssh in the engineer's pane"
kill -STOP "$EPID"
tmux -S "$CSOCK" send-keys -t tunl:0.0 \
    "cat $H/data; echo burst-end-\$((2*9))" Enter
dropped() {
	grep -q "consumer alice .*dropped: " "$H/syslog.log"
}
harness_wait 180 "the broker to drop the stopped viewer" dropped
# It stays stopped past the broker's linger (the connection closed) and
# past the join's wait for a terminal that reads, which then writes its
# last words blocking (issue 11 item 8: they must still arrive).
words_wait() {
	grep -q "engineer alice: join $ID: the terminal takes no output; the last words wait for it" \
	    "$H/syslog.log"
}
harness_wait 180 "the join to wait with its last words" words_wait
kill -CONT "$EPID"
# The broker's own reason when its notice got through, else the join's.
wait_raw ro "tunl: disconnected"
harness_log "the stopped viewer was told: $(grep -ao 'tunl: disconnected[^(]*' "$H/raw-ro.log" | tail -n 1)"
share_finish
