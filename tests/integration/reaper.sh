#!/bin/sh
# How a broker hears of its session's changes, and what is left when a
# broker is gone (docs/registry.md, "Brokers that are gone"). No sshd.
#
#  - kill and unlock reach the broker by a registry-changed message:
#    registry_recheck is an hour here, so the broker's own periodic read
#    cannot be what acted; a message from the customer account is refused;
#  - a broker killed with SIGKILL leaves a row the reaper (run by
#    tunl-admin status) ends as broker-died, actor broker, and its socket
#    and lock file are removed;
#  - a broker that ends while the registry is locked spools what it could
#    not write; the reaper writes it once the lock is gone: nothing lost.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init reaper
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

broker_setup "registry_recheck = 3600"
S1=aardvark-abide-ability-able
S2=abolish-abrupt-absent-absolute
S3=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
SESS=$H/run/tunl/sessions

state_of() {
	relay_sql "SELECT state FROM sessions WHERE id = '$1';"
}

state_is() {
	[ "$(state_of "$1")" = "$2" ]
}

# ---- kill, by message --------------------------------------------------------
broker_session "$S1"
broker_start "$S1"
B1=$BPID
producer tunl "$S1" -n 100 -w 600 -l "$T/p1.log"
consumer support "$S1" alice -r -l "$T/alice.log"
wait_grep "$T/alice.log" "viewers 1 alice:ro"
harness_wait 60 "S1 active" state_is "$S1" active
# The customer account may not send it.
relay_as tunl "$top_builddir/tests/helpers/registry-changed" /run/tunl \
    "$S1" 2>"$T/cust-notify.err" &&
    harness_fail "the broker took registry-changed from the customer account"
wait_grep "$H/broker-$S1.log" "registry-changed from uid $HARNESS_UID_TUNL refused"
# What tunl-shell kill does: the write, then the message.
relay_sql "UPDATE sessions SET state = 'ended', ended = $(date +%s)
    WHERE id = '$S1';"
registry_changed "$S1"
wait_grep "$T/alice.log" "session ended: session ended"
wait_gone "$B1" || harness_fail "the broker did not end on the message"
grep -qF "registry-changed from uid $HARNESS_UID_SUPPORT: reading" \
    "$H/broker-$S1.log" || harness_fail "the broker did not log the message"
harness_assert_contains "$(events_of "$S1")" "broker broker-exit session ended" \
    "the broker's last event"
[ -e "$SESS/$S1.sock" ] && harness_fail "the broker left its socket"
[ -e "$SESS/$S1.lock" ] && harness_fail "the broker left its lock file"
harness_log "kill reached the broker by message"

# ---- unlock, by message ------------------------------------------------------
broker_session "$S2"
broker_start "$S2"
B2=$BPID
producer tunl "$S2" -n 100 -w 600 -l "$T/p2.log"
harness_wait 60 "S2 active" state_is "$S2" active
# Locked and unlocked behind the broker's back (no message): it goes on.
relay_sql "UPDATE sessions SET state = 'locked' WHERE id = '$S2';
    UPDATE sessions SET state = 'active' WHERE id = '$S2';"
checks() {
	grep -c "registry call check:" "$H/broker-$S2.log"
}
before=$(checks)
registry_changed "$S2"
wait_grep "$H/broker-$S2.log" "registry-changed from uid $HARNESS_UID_SUPPORT: reading"
# The read it asked for was made (debug log), and found the session live.
more_checks() {
	[ "$(checks)" -gt "$before" ]
}
harness_wait 60 "the read the message asked for" more_checks
harness_alive "$B2" || harness_fail "the broker ended on an unlocked session"
harness_log "unlock reached the broker by message; the session goes on"

# ---- a broker killed with SIGKILL: the reaper ----------------------------------
kill -KILL "$B2"
wait_gone "$B2" || harness_fail "SIGKILL did not end the broker"
[ -S "$SESS/$S2.sock" ] || harness_fail "no stale socket to reap (test is wrong)"
[ -e "$SESS/$S2.lock" ] || harness_fail "no stale lock file to reap"
harness_assert_eq active "$(state_of "$S2")" "the row before the reaper"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" status >"$T/status.out" 2>&1
grep -q "reaper.*ended 1 session" "$T/status.out" || {
	cat "$T/status.out" >&2
	harness_fail "status did not report the reaped session"
}
harness_assert_eq ended "$(state_of "$S2")" "the row after the reaper"
ev=$(events_of "$S2")
harness_assert_contains "$ev" "broker ended broker died" "the end's actor and cause"
harness_assert_contains "$ev" "broker broker-died" "the broker-died event"
harness_assert_eq 0 "$(relay_sql "SELECT viewers FROM sessions WHERE id = '$S2';")" \
    "viewers of the reaped row"
[ -e "$SESS/$S2.sock" ] && harness_fail "the reaper left the stale socket"
[ -e "$SESS/$S2.lock" ] && harness_fail "the reaper left the stale lock file"
# Once is enough: a second run finds nothing.
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" status >"$T/status2.out" 2>&1
grep -q "every live session has its broker" "$T/status2.out" ||
    harness_fail "a second reaper run found more: $(cat "$T/status2.out")"
harness_log "SIGKILL: the reaper ended the row (broker-died) and removed the files"

# ---- writes a broker could not make are spooled, not lost ----------------------
broker_session "$S3"
broker_start "$S3"
B3=$BPID
producer tunl "$S3" -n 100 -w 600 -l "$T/p3.log"
harness_wait 60 "S3 active" state_is "$S3" active
relay_lock_registry
consumer support "$S3" bob -r -l "$T/bob.log"
BOB=$!
wait_grep "$T/bob.log" "viewers 1 bob:ro"
kill "$BOB"
wait_gone "$BOB" || harness_fail "bob's consumer did not stop"
wait_grep "$H/broker-$S3.log" "bob left"
kill -TERM "$B3"
# It waits for the registry for a while, then spools what is left.
wait_gone "$B3" 120 || harness_fail "the broker did not exit with the registry locked"
wait_grep "$H/broker-$S3.log" "spooled for the next broker or the reaper"
[ -s "$SESS/$S3.spool" ] || harness_fail "no spool file"
relay_unlock_registry
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" status >"$T/status3.out" 2>&1
ev=$(events_of "$S3")
for want in "bob engineer-joined read-only" "bob engineer-left read-only" \
    "broker broker-exit stopped by signal"; do
	harness_assert_eq 1 "$(printf '%s\n' "$ev" | grep -cxF "$want")" \
	    "events '$want' after the lock"
done
harness_assert_eq ended "$(state_of "$S3")" "S3 after the spool was made"
[ -e "$SESS/$S3.spool" ] && harness_fail "the spool was left behind"
harness_log "a broker ended during a lock: its writes were spooled and made later"

harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_log "passed"
exit 0
