#!/bin/sh
# tunl-broker under load: a consumer that stops reading (SIGSTOP) while
# the producer writes 50 MB never stalls the producer or the other
# consumer, and is resynchronised or dropped with a message, and the
# broker's memory goes back once the flood is over; the broker
# started in the background reports ready only when it is; after SIGKILL
# the recording is valid asciicast up to the kill.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init broker-flood
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

MB=${BROKER_FLOOD_MB:-50}
broker_setup "consumer_backlog = 16M" "producer_grace = 30"
S=absent-absolute-abstract-academic
broker_session "$S"

# ---- in the background: ready means the socket is there ---------------------
relay_in_ns "$BROKER" -f "$RELAY_CONF" -s "$S" >"$H/daemon.out" 2>&1 ||
    harness_fail "daemonised broker failed: $(cat "$H/daemon.out")"
[ -S "$H/run/tunl/sessions/$S.sock" ] ||
    harness_fail "the broker said ready before its socket existed"
B=$(pgrep -f -- "-s $S" | head -n 1)
[ -n "$B" ] || harness_fail "no broker process after it said ready"
harness_track "$B"
harness_assert_eq 1 "$(awk '/^Seccomp:/ { print ($2 == 2) }' "/proc/$B/status")" \
    "the daemon is sandboxed"
# Its own session, so it is not a child of the shell: stdio on /dev/null.
harness_assert_eq /dev/null "$(readlink "/proc/$B/fd/2")" "daemon's stderr"

# ---- a fast consumer, a stopped one, 50 MB ------------------------------------
consumer support "$S" fast -r -o "$T/fast.out" -l "$T/fast.log"
FAST=$!
wait_grep "$T/fast.log" "viewers 1 fast:ro"
consumer support "$S" slow -r -o "$T/slow.out" -l "$T/slow.log" \
    -n "$T/slow.notes"
SLOW=$!
wait_grep "$T/slow.log" "viewers 2 fast:ro slow:ro"
producer tunl "$S" -l "$T/prod.log"
PROD0=$!
wait_grep "$T/fast.log" "snapshot"
wait_grep "$T/slow.log" "snapshot"
kill "$PROD0"
wait_gone "$PROD0" || harness_fail "first producer did not stop"
wait_grep "$T/fast.log" "customer reconnecting"
kill -STOP "$SLOW"
bytes=$((MB * 1024 * 1024))
start=$(date +%s)
producer tunl "$S" -n "$bytes" -o "$T/sent" -d "$T/prod.done" -l "$T/prod2.log"
PROD=$!
# Generous: it must finish while the slow consumer is still stopped.
wait_grep "$T/prod.done" "done $bytes" 240
harness_log "producer sent $MB MB in $(( $(date +%s) - start )) s with a consumer stopped"
harness_assert_eq T "$(awk '{ print $3 }' "/proc/$SLOW/stat")" \
    "slow consumer still stopped"
# Memory stays within the bounds, whatever the stopped consumer does:
# its backlog, the fast one's lag in the shared stream, some MiB of the
# process itself; never the 50 MB it did not read. (Not under
# AddressSanitizer, whose quarantine keeps freed memory resident, nor
# ThreadSanitizer, whose shadow memory is resident too.)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$B/status")
harness_log "broker VmHWM after the flood: $hwm KiB"
if ! grep -qaE "AddressSanitizer|ThreadSanitizer" "$BROKER"; then
	[ "$hwm" -lt $(( (2 * 16 + 12) * 1024 )) ] ||
	    harness_fail "broker VmHWM $hwm KiB with backlogs of 16 MiB"
fi
want=$(fsize "$T/sent")
size_at_least() {
	[ "$(fsize "$1")" -ge "$2" ]
}
harness_wait 240 "the fast consumer's $want bytes" size_at_least "$T/fast.out" "$want"
cmp "$T/sent" "$T/fast.out" || harness_fail "the fast consumer's bytes differ"
grep -q "fell behind" "$H/broker-$S.log" 2>/dev/null ||
    harness_log "note: the daemon logs to syslog only"
kill -CONT "$SLOW"
# It reads what was queued, then sees why it stopped getting output.
slow_told() {
	case $(cat "$T/slow.notes") in
	*"you fell behind; resynchronising"*|*"disconnected"*) return 0 ;;
	esac
	return 1
}
harness_wait 120 "a notice to the stopped consumer" slow_told
ev=$(events_of "$S")
case $ev in
*"slow resync"*|*"slow drop"*) ;;
*) harness_fail "no resync or drop event: $ev" ;;
esac
harness_alive "$FAST" || harness_fail "the fast consumer was dropped"

# ---- memory goes back once output stops (BROKER_TRIM_MS) -----------------------
# The flood's queues, backlogs and recording chunks are freed; after a
# second of quiet (BROKER_TRIM_MS) the broker hands the memory back (no
# sanitizer: their runtimes keep freed memory). What is checked is that
# it goes back; the limit only bounds a broken build.
anon_back() {
	anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$B/status")
	[ "$anon" -lt 4096 ]
}
if ! grep -qaE "AddressSanitizer|ThreadSanitizer" "$BROKER"; then
	harness_wait 60 "the broker's anonymous memory under 4 MiB after the flood" anon_back
	harness_log "broker anonymous memory after the flood: $anon KiB (VmHWM $hwm KiB)"
fi

# ---- SIGKILL: the recording is valid up to the kill ------------------------------------
kill -KILL "$B"
wait_gone "$B" || harness_fail "broker survived SIGKILL"
rec=$H/var/log/tunl/$S.cast
python3 - "$rec" "$T/rec.out" <<'PY' || harness_fail "recording invalid after SIGKILL"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
lines = text.split("\n")
# Each event is written whole: the file ends at a line's end.
assert text.endswith("\n"), "torn last line"
head = json.loads(lines[0])
assert head["version"] == 2
out = []
for l in lines[1:-1]:
    t, kind, data = json.loads(l)
    if kind == "o":
        out.append(data)
open(sys.argv[2], "w", encoding="utf-8", newline="").write("".join(out))
PY
n=$(fsize "$T/rec.out")
[ "$n" -gt 0 ] || harness_fail "nothing recorded"
head -c "$n" "$T/sent" | cmp - "$T/rec.out" ||
    harness_fail "the recording is not the output up to the kill"
harness_log "recording holds $n of $(fsize "$T/sent") bytes after SIGKILL"
# A new broker for the session may start: the lock died with the old one.
broker_start "$S"
kill -TERM "$BPID"
wait_gone "$BPID" || harness_fail "new broker ignored SIGTERM"
harness_host_unchanged
exit 0
