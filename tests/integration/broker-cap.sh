#!/bin/sh
# The relay-wide cap on engineers (max_consumers_total): every broker
# records its viewers in the registry and refuses a join that would take
# the relay's sum past the cap; a leave makes room again. `list` and
# `show` read the same count. A locked registry delays the broker's
# writes but not its session; a session ended in the registry ends its
# broker. No sshd.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init broker-cap
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

broker_setup "max_consumers = 2" "max_consumers_total = 3"
S1=aardvark-abide-ability-able
S2=abolish-abrupt-absent-absolute
broker_session "$S1"
broker_session "$S2"
broker_start "$S1"
B1=$BPID
broker_start "$S2"
B2=$BPID

viewers() {
	relay_sql "SELECT viewers FROM sessions WHERE id = '$1';"
}

viewers_are() {
	[ "$(viewers "$1")" = "$2" ]
}

# expect_viewers SID N WHAT: the broker writes the count just after it
# logs a join or leave (a child of its own makes the call).
expect_viewers() {
	harness_wait 60 "$3: $2" viewers_are "$1" "$2"
}

consumer support "$S1" alice -l "$T/alice.log"
ALICE=$!
wait_grep "$T/alice.log" "viewers 1 alice:rw"
consumer support "$S1" bob -r -l "$T/bob.log"
wait_grep "$T/bob.log" "viewers 2 alice:rw bob:ro"
consumer support "$S2" carol -l "$T/carol.log"
wait_grep "$T/carol.log" "viewers 1 carol:rw"
expect_viewers "$S1" 2 "S1's viewers in the registry"
expect_viewers "$S2" 1 "S2's viewers in the registry"

# S2 has room of its own (max_consumers = 2) but the relay does not.
consumer support "$S2" dave -l "$T/dave.log"
wait_grep "$T/dave.log" "error 7 relay full: 3 engineers watching"
wait_grep "$T/dave.log" "eof"
wait_grep "$H/broker-$S2.log" "refused: 3 consumers on the relay"

# One leaves S1: there is room on the relay again.
kill "$ALICE"
wait_gone "$ALICE" || harness_fail "alice's consumer did not stop"
wait_grep "$H/broker-$S1.log" "alice left"
expect_viewers "$S1" 1 "S1's viewers after a leave"
consumer support "$S2" erin -l "$T/erin.log"
ERIN=$!
wait_grep "$T/erin.log" "viewers 2 carol:rw erin:rw"
expect_viewers "$S2" 2 "S2's viewers after the join"

# A session that ends gives its viewers back.
kill "$B1"
wait_gone "$B1" || harness_fail "the first broker did not stop"
harness_assert_eq ended "$(relay_sql "SELECT state FROM sessions WHERE id = '$S1';")" \
    "S1 ended with its broker"
expect_viewers "$S1" 0 "an ended session's viewers"
# ---- a locked registry delays the broker's writes, never the session ------
# Another process holds the database's write lock until the test lets go.
# The broker's calls run in children of their own: a join made meanwhile
# is let in (the relay-wide count is a read, which WAL allows), the writes
# that cannot wait longer are logged, and the next ones land once the lock
# is gone. The holder is still holding when the join completes.
kill "$ERIN"
wait_gone "$ERIN" || harness_fail "erin's consumer did not stop"
expect_viewers "$S2" 1 "S2's viewers before the lock"
relay_lock_registry
consumer support "$S2" fred -l "$T/fred.log"
FRED=$!
# Until the join is done and its event has failed, the broker's own
# process is never found asleep in SQLite's busy handler (it waits in
# ppoll; the child waits for the lock): looked at on every try.
joined_awake() {
	case $(cat "/proc/$B2/wchan" 2>/dev/null) in
	*nanosleep*) harness_fail "the broker slept on the locked database" ;;
	esac
	grep -qF "viewers 2 carol:rw fred:rw" "$T/fred.log" 2>/dev/null &&
	    grep -qF "registry event engineer-joined:" "$H/broker-$S2.log"
}
harness_wait 60 "fred's join and its logged event" joined_awake
wait_grep "$T/carol.log" "viewers 2 carol:rw fred:rw"
relay_unlock_registry
kill "$FRED"
wait_gone "$FRED" || harness_fail "fred's consumer did not stop"
wait_grep "$H/broker-$S2.log" "fred left"
expect_viewers "$S2" 1 "S2's viewers written once the lock is gone"
# The event and the count are separate calls, one after the other.
fred_left() {
	events_of "$S2" | grep -qF "fred engineer-left read-write"
}
harness_wait 60 "fred's leave written once the lock is gone" fred_left

# ---- a session ended in the registry (tunl-shell kill) ends its broker -----
relay_sql "UPDATE sessions SET state = 'ended', ended = $(date +%s)
    WHERE id = '$S2';"
registry_changed "$S2"
wait_grep "$T/carol.log" "session ended: session ended"
wait_gone "$B2" || harness_fail "the second broker did not stop"
harness_assert_contains "$(events_of "$S2")" "broker broker-exit session ended" \
    "the broker's last event"
harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_log "passed"
exit 0
