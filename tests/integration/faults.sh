#!/bin/sh
# The broker under faults it cannot prevent (no sshd; broker-lib.sh):
#
# - The registry locked by another process for several seconds while
#   output flows and a second engineer joins: every byte still reaches
#   both engineers, the broker logs what it could not record, and once the
#   lock is gone the registry is obeyed again (an ended session ends it).
# - The recording's disk fills up (a 64 KiB tmpfs over the recording
#   directory, in the broker's namespace only): the broker pauses the
#   output (the engineer has only a prefix of what was sent), says so to
#   the log, the engineer and the registry, and what was recorded is
#   complete asciicast lines; once the tmpfs grows, every byte reaches the
#   engineer and the recording goes on (recording-resumed).
# - The recording reaches the file size limit (RLIMIT_FSIZE): the broker
#   lives on (SIGXFSZ ignored), pauses the output and says so.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init faults
for c in setpriv sqlite3 nsenter python3; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
broker_setup "producer_grace = 30"

S=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
broker_session "$S"
broker_start "$S"
BLOG=$H/broker-$S.log

# The customer's output comes line by line from a fifo the test writes.
mkfifo -m 0666 "$T/feed" || harness_fail "mkfifo"
exec 7<>"$T/feed"
# (An asynchronous list reads /dev/null unless it redirects itself.)
(exec unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" sh "$H" \
    setpriv --reuid=tunl --regid=tunl-auth --init-groups --reset-env -- \
    "$TPROD" -S "$(sock_of "$S")" -s "$S" -i -l "$T/prod.log" \
    <"$T/feed" 2>>"$H/producer.err") &
harness_track $!
consumer support "$S" alice -o "$T/alice.out" -l "$T/alice.log"
wait_grep "$T/alice.log" "viewers 1 alice:rw"
say() {
	printf '%s\r\n' "$1" >&7
}
say "before-lock"
wait_grep "$T/alice.out" "before-lock"
# The broker's calls for the producer's and alice's arrival are made one
# after the other by children of its own: let them land first, so that
# the lock below meets bob's join and not writes left over from setup
# (each of which would wait out the lock before bob's turn came).
setup_written() {
	[ "$(relay_sql "SELECT state || ' ' || viewers FROM sessions
	    WHERE id = '$S';")" = "active 1" ] &&
	    events_of "$S" | grep -q "^customer producer-connected" &&
	    events_of "$S" | grep -q "^alice engineer-joined"
}
harness_wait 60 "the broker's writes for the producer and alice" setup_written

# ---- a registry locked by someone else --------------------------------------
relay_lock_registry
# Nobody else can write now.
sqlite3 -batch -cmd ".timeout 0" "$RELAY_DB" "BEGIN IMMEDIATE; ROLLBACK;" \
    >/dev/null 2>&1 && harness_fail "the registry is not locked"
consumer support "$S" bob -r -o "$T/bob.out" -l "$T/bob.log"
wait_grep "$T/bob.log" "viewers 2 alice:rw bob:ro"
say "during-lock"
wait_grep "$T/alice.out" "during-lock"
wait_grep "$T/bob.out" "during-lock"
# The broker said what it could not record (bob's join is written only
# once the lock is gone).
wait_grep "$BLOG" "locked"
grep -q "registry" "$BLOG" || harness_fail "the broker never named the registry"
harness_log "the broker said: $(grep "registry" "$BLOG" | head -n 4 | tr '\n' '|')"
# All that happened while the registry was still locked.
relay_unlock_registry
say "after-lock"
wait_grep "$T/alice.out" "after-lock"
wait_grep "$T/bob.out" "after-lock"
harness_alive "$BPID" || harness_fail "the broker died"
# The registry is obeyed again: an engineer's kill ends the session.
relay_sql "UPDATE sessions SET state = 'ended', ended = $(date +%s) WHERE id = '$S';"
registry_changed "$S"
wait_gone "$BPID" || harness_fail "the broker did not see the session end"
wait_grep "$T/alice.log" "eof"
exec 7>&-

# ---- the recording's disk fills up ------------------------------------------------
S2=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
broker_session "$S2"
# The broker's own recording directory (tunl-admin init's owner and mode).
bg_in_ns sh -c 'mount -t tmpfs -o "size=64k,mode=2750,uid=$1,gid=$2" tunl-full "$3" &&
    shift 3 && exec "$@"' sh "$HARNESS_UID_BROKER" "$HARNESS_GID_TUNL_REC" \
    "$H/var/log/tunl" \
    "$BROKER" -F -f "$RELAY_CONF" -s "$S2" </dev/null >>"$H/broker-$S2.log" 2>&1
BPID=$!
harness_track "$BPID"
wait_grep "$H/broker-$S2.log" "broker ready"
consumer support "$S2" carol -o "$T/carol.out" -l "$T/carol.log" -n "$T/carol.notes"
wait_grep "$T/carol.log" "viewers 1 carol:rw"
producer tunl "$S2" -n 1000000 -o "$T/sent2" -d "$T/prod2.done"
# size_at_least FILE BYTES
size_at_least() {
	[ "$(fsize "$1")" -ge "$2" ]
}
wait_grep "$H/broker-$S2.log" "output is paused"
harness_log "the broker said: $(grep "output is paused" "$H/broker-$S2.log" | head -n 1)"
# The engineer is told, and so is the registry (show lists it).
wait_grep "$T/carol.notes" "recording disk cannot be written (disk full)"
# (The broker's registry calls run in children a moment later.)
stalled_event() {
	events_of "$S2" | grep -q recording-stalled
}
harness_wait 60 "the recording-stalled event" stalled_event
harness_assert_eq "broker recording-stalled disk full" "$(events_of "$S2" | grep recording-stalled)" \
    "the recording-stalled event"
# What was recorded, read from inside the broker's namespace: whole lines,
# each one JSON, the header first.
nsenter -t "$BPID" -m sh -c 'cat "$1"/*.cast' sh "$H/var/log/tunl" \
    >"$T/full.cast" 2>"$T/nsenter.err" ||
    harness_fail "cannot read the recording: $(cat "$T/nsenter.err")"
[ "$(fsize "$T/full.cast")" -gt 1000 ] || harness_fail "almost nothing was recorded"
[ "$(fsize "$T/full.cast")" -le 65536 ] || harness_fail "the recording outgrew its disk"
python3 - "$T/full.cast" <<'EOF' || harness_fail "the recording is not whole asciicast lines"
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n"), "a partial last line"
lines = data.decode("utf-8").split("\n")[:-1]
head = json.loads(lines[0])
assert head["version"] == 2, head
for l in lines[1:]:
    ev = json.loads(l)
    assert isinstance(ev, list) and len(ev) == 3 and ev[1] in ("o", "r"), l
EOF
harness_alive "$BPID" || harness_fail "the broker died when its disk filled"
# Paused: what carol has is what was sent, so far.
_cl=$(fsize "$T/carol.out")
cmp -n "$_cl" "$T/sent2" "$T/carol.out" || harness_fail "carol's output differs from what was sent"
# Room comes back: the tmpfs grows; every byte goes through.
nsenter -t "$BPID" -m mount -o remount,size=16m "$H/var/log/tunl" ||
    harness_fail "cannot grow the tmpfs"
wait_grep "$T/prod2.done" "done 1000000"
harness_wait 60 "carol's 1000000 bytes" size_at_least "$T/carol.out" 1000000
cmp "$T/sent2" "$T/carol.out" || harness_fail "carol's output differs from what was sent"
resumed_event() {
	events_of "$S2" | grep -q "recording-resumed .*disk full"
}
harness_wait 60 "the recording-resumed event" resumed_event
wait_grep "$T/carol.notes" "has room again"
kill "$BPID"
wait_gone "$BPID" || harness_fail "the broker did not stop"

# ---- the recording reaches the file size limit -------------------------------
# RLIMIT_FSIZE (an operator's limits.conf, a systemd LimitFSIZE=) makes the
# kernel send SIGXFSZ, whose default action would kill the broker.
S3=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
broker_session "$S3"
bg_in_ns prlimit --fsize=100000 "$BROKER" -F -f "$RELAY_CONF" -s "$S3" \
    </dev/null >>"$H/broker-$S3.log" 2>&1
BPID=$!
harness_track "$BPID"
wait_grep "$H/broker-$S3.log" "broker ready"
consumer support "$S3" dave -o "$T/dave.out" -l "$T/dave.log"
wait_grep "$T/dave.log" "viewers 1 dave:rw"
producer tunl "$S3" -n 4000000 -o "$T/sent3" -d "$T/prod3.done"
wait_grep "$H/broker-$S3.log" "file size limit"
harness_log "the broker said: $(grep "file size limit" "$H/broker-$S3.log" | head -n 1)"
harness_alive "$BPID" || harness_fail "the broker died at the file size limit"
[ -f "$T/prod3.done" ] && harness_fail "the producer was never held"
_dl=$(fsize "$T/dave.out")
cmp -n "$_dl" "$T/sent3" "$T/dave.out" || harness_fail "dave's output differs from what was sent"
REC3=$(ls "$H"/var/log/tunl/"$S3"*.cast) || harness_fail "no recording for $S3"
[ "$(fsize "$REC3")" -le 100000 ] || harness_fail "the recording passed the limit"
kill "$BPID"
wait_gone "$BPID" || harness_fail "the broker did not stop"

harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_log "passed"
exit 0
