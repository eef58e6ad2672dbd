#!/bin/sh
# Faults a peer can repeat at will, through a real broker (no sshd):
# - a flood of connections that never send their hello (more than the 16
#   that may wait) does not lock out real peers: a consumer and a
#   producer still get in, and the silent ones are closed, oldest first;
# - a flood of bad frames is answered frame by frame but logged at most
#   a few lines a window, with a summary of the rest: the lines logged
#   and the frames summarised add up to the frames sent;
# - an empty frame (length 0) and an oversized one are each reported as
#   what they are;
# - a broker killed with SIGKILL leaves its socket behind: the next broker
#   for the session removes it (it holds the session's lock) and serves.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init broker-pending
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"

broker_setup "producer_grace = 60"
S=abrupt-absent-access-account
broker_session "$S"
broker_start "$S"
BLOG=$H/broker-$S.log

# ---- 40 silent connections, as the engineers' account ----------------------------
cat >"$T/silent.py" <<'PY'
import socket, sys, time
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
open(sys.argv[3], "w").write("connected %d\n" % len(socks))
time.sleep(3600)
PY
bg_as support python3 "$T/silent.py" "$(sock_of "$S")" 40 "$T/silent.out"
SILENT=$!
harness_track "$SILENT"
wait_grep "$T/silent.out" "connected 40"
# Real peers get in all the same.
consumer support "$S" alice -r -l "$T/alice.log" -n "$T/alice.notes"
ALICE=$!
wait_grep "$T/alice.log" "viewers 1 alice:ro"
wait_grep "$BLOG" "closed without a hello"
grep -qF "too many" "$BLOG" && harness_fail "a connection was refused as one too many"

# ---- 200 unknown frames after an empty one, and an oversized one -------------------
n=0
hex=00000000
while [ $n -lt 200 ]; do
	hex=${hex}000000027f00
	n=$((n + 1))
done
producer tunl "$S" -n 0 -w 0 -x "$hex" -l "$T/bad.log"
BAD=$!
wait_grep "$T/bad.log" "error 2 empty frame (length 0, no type byte) dropped"
wait_gone "$BAD" || harness_fail "the producer sending bad frames did not end"
wait_grep "$BLOG" "more bad frames not logged"
logged=$(grep -cF "unexpected frame type 0x7f" "$BLOG")
held=$(sed -n 's/.*producer #[0-9]*: \([0-9]*\) more bad frames not logged.*/\1/p' \
    "$BLOG" | awk '{ n += $1 } END { print n + 0 }')
harness_log "200 bad frames: $logged lines logged, $held summarised"
harness_assert_eq 200 $((logged + held)) "bad frames logged or summarised"
# The bound: at most 5 lines a 10 s window; the broker took them all in
# far fewer than 20 windows however loaded the machine is.
[ "$logged" -le 100 ] || harness_fail "$logged lines for 200 bad frames"
grep -qF "empty frame (length 0, no type byte) dropped" "$BLOG" ||
    harness_fail "the empty frame is not logged as such"
grep -F "empty frame" "$BLOG" | grep -qF "over" &&
    harness_fail "the empty frame is called oversized"

producer tunl "$S" -n 0 -w 0 -X 300000 -l "$T/big.log"
BIG=$!
wait_grep "$T/big.log" "error 4 frame of 300001 bytes, over 262144, skipped"
wait_gone "$BIG" || harness_fail "the producer sending a large frame did not end"

kill "$SILENT" "$ALICE"
wait_gone "$SILENT" || harness_fail "the silent connections did not end"
wait_gone "$ALICE" || harness_fail "the consumer did not end"

# ---- a broker killed leaves its socket; the next one for the session copes --------
kill -KILL "$BPID"
wait_gone "$BPID" || harness_fail "the killed broker is still there"
relay_in_ns test -S "$(sock_of "$S")" ||
    harness_fail "no stale socket after the kill (nothing tested below)"
ready_twice() {
	[ "$(grep -cF "broker ready" "$BLOG")" -ge 2 ]
}
bg_in_ns "$BROKER" -F -f "$RELAY_CONF" -s "$S" </dev/null >>"$BLOG" 2>&1
BPID=$!
harness_track "$BPID"
harness_wait 60 "the second broker to be ready" ready_twice
grep -qF "removed a stale socket" "$BLOG" ||
    harness_fail "the second broker did not say it removed the stale socket"
consumer support "$S" bob -r -l "$T/bob.log"
BOB=$!
wait_grep "$T/bob.log" "viewers 1 bob:ro"
kill "$BOB"
wait_gone "$BOB" || harness_fail "the last consumer did not end"
harness_log "silent connections did not lock real peers out; bad frames were logged in bounds"
