#!/bin/sh
# The recording's disk stops answering (no sshd; broker-lib.sh). The
# broker's recording writer thread is frozen with ptrace while the
# producer streams 24 MB, which is what a hung disk does to it:
#
# - the broker stops reading the producer once 1 MiB waits for the writer
#   (the producer is held, and the broker logs why), while the consumer
#   still gets everything read so far and a second engineer can join;
# - after 5 s of that, the broker says so: in its log, as a registry
#   event, and to every engineer; and again once the disk caught up;
# - once the writer runs again, the producer finishes, the first engineer
#   gets every byte, the second its screen, and the recording holds every
#   byte in order;
# - the broker says at the end how many times the producer waited.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init record-stall
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
broker_setup "producer_grace = 30" "consumer_backlog = 64M"

S=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
broker_session "$S"
broker_start "$S"
BLOG=$H/broker-$S.log

# The writer thread, by the name it gives itself.
W=
for t in /proc/$BPID/task/*; do
	[ "$(cat "$t/comm" 2>/dev/null)" = tunl-rec-write ] && W=${t##*/}
done
[ -n "$W" ] || harness_fail "no tunl-rec-write thread in the broker"

# Freeze that thread alone (PTRACE_SEIZE, then PTRACE_INTERRUPT: the
# other threads run on) until $T/thaw exists, then let it go.
python3 - "$W" "$T/frozen" "$T/thaw" >"$H/freezer.log" 2>&1 <<'PY' &
import ctypes, os, sys, time
tid, frozen, thaw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000
def call(req, what):
    if libc.ptrace(req, tid, None, None) != 0:
        sys.exit("%s: %s" % (what, os.strerror(ctypes.get_errno())))
call(SEIZE, "PTRACE_SEIZE")
call(INTERRUPT, "PTRACE_INTERRUPT")
os.waitpid(tid, WALL)
open(frozen, "w").write("frozen\n")
deadline = time.time() + 600
while not os.path.exists(thaw) and time.time() < deadline:
    time.sleep(0.05)
call(DETACH, "PTRACE_DETACH")
print("thawed")
PY
FREEZER=$!
harness_track "$FREEZER"
# Limits only bound a failure (a loaded machine is slow): generous.
wait_grep "$T/frozen" "frozen" 60
harness_assert_eq t "$(awk '{ print $3 }' "/proc/$BPID/task/$W/stat")" \
    "the writer thread is stopped"

consumer support "$S" alice -r -o "$T/alice.out" -l "$T/alice.log" \
    -n "$T/alice.notes"
wait_grep "$T/alice.log" "viewers 1 alice:ro" 60
bytes=$((24 * 1024 * 1024))
producer tunl "$S" -n "$bytes" -o "$T/sent" -d "$T/prod.done" \
    -l "$T/prod.log"
PROD=$!

# The producer is held once 1 MiB waits for the writer.
wait_grep "$BLOG" "the producer waits" 60
alice_has_1m() {
	[ "$(fsize "$T/alice.out")" -ge $((1024 * 1024)) ]
}
harness_wait 60 "the engineer to get 1 MiB while the writer is stopped" \
    alice_has_1m
# The loop itself runs on: another engineer joins. (Its screen comes
# once the producer's answer, queued behind its held output, gets in.)
consumer support "$S" bob -r -o "$T/bob.out" -l "$T/bob.log"
wait_grep "$T/bob.log" "viewers 2 alice:ro bob:ro" 60
# Held 5 s: everyone is told why the output stopped.
wait_grep "$T/alice.notes" "recording disk is not keeping up" 60
wait_grep "$BLOG" "the disk has not kept up" 60
# By the broker's own clock the producer has now been held 5 s: it must
# not have finished, nor the engineer have got everything.
got=$(fsize "$T/alice.out")
[ ! -e "$T/prod.done" ] ||
    harness_fail "the producer finished with the recording's writer stopped"
[ "$got" -lt "$bytes" ] ||
    harness_fail "all $got bytes went out with the recording's writer stopped"
harness_log "writer stopped: the engineer has $got bytes, the producer waits"
events_of "$S" | grep -q "broker recording-stalled disk not keeping up" ||
    harness_fail "no recording-stalled event: $(events_of "$S")"
harness_assert_eq t "$(awk '{ print $3 }' "/proc/$BPID/task/$W/stat")" \
    "the writer thread is still stopped"

# ---- the writer runs again --------------------------------------------------
: >"$T/thaw"
wait_gone "$FREEZER" 60 || harness_fail "the freezer did not let go"
grep -q thawed "$H/freezer.log" ||
    harness_fail "the freezer failed: $(cat "$H/freezer.log")"
wait_grep "$T/prod.done" "done $bytes" 180
wait_grep "$T/bob.log" "snapshot" 60
wait_grep "$T/alice.notes" "the recording caught up" 60
resumed() {
	events_of "$S" | grep -q "broker recording-resumed after"
}
harness_wait 60 "a recording-resumed event" resumed
alice_has_all() {
	[ "$(fsize "$T/alice.out")" -ge "$bytes" ]
}
harness_wait 180 "the engineer to get all $bytes bytes" alice_has_all
cmp "$T/sent" "$T/alice.out" || harness_fail "the engineer's bytes differ"

# The recording: every byte the producer sent, in order.
kill -TERM "$BPID"
wait_gone "$BPID" 60 || harness_fail "the broker ignored SIGTERM"
wait_grep "$BLOG" "the producer waited for the disk" 60
python3 - "$H/var/log/tunl/$S.cast" "$T/rec.out" <<'PY' ||
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "torn last line"
assert json.loads(lines[0])["version"] == 2
out = [json.loads(l)[2] for l in lines[1:-1] if json.loads(l)[1] == "o"]
open(sys.argv[2], "w", encoding="utf-8", newline="").write("".join(out))
PY
    harness_fail "the recording is not valid asciicast"
cmp "$T/sent" "$T/rec.out" ||
    harness_fail "the recording is not every byte sent"
harness_log "recording: all $bytes bytes; $(grep "producer waited" "$BLOG")"
harness_host_unchanged
exit 0
