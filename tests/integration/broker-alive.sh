#!/bin/sh
# Heartbeats between the broker and its producer (docs/protocol.md,
# "Heartbeats"), through a real broker (no sshd): a producer that answers
# the broker's pings stays however quiet it is; one whose link is frozen
# (its pings go unanswered and nothing else comes) is treated as gone:
# the engineers are told that the customer's connection is not answering,
# the registry logs why, the grace period runs and a new producer takes
# over. The customer's side through the real sshd is share-freeze.sh.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init broker-alive
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

broker_setup "producer_grace = 120"
S=abolish-abrupt-access-account
broker_session "$S"
broker_start "$S"

# _count FILE TEXT: lines of FILE holding TEXT.
_count() {
	grep -cF -- "$2" "$1" 2>/dev/null || true
}

at_least() {
	[ "$(_count "$1" "$2")" -ge "$3" ]
}

consumer support "$S" alice -r -l "$T/alice.log" -n "$T/alice.notes"
ALICE=$!
wait_grep "$T/alice.log" "viewers 1 alice:ro"

# ---- quiet but answering: never dropped ---------------------------------------
producer tunl "$S" -l "$T/p1.log"
P1=$!
wait_grep "$T/alice.log" "snapshot"
# Four pings answered: the broker's own clock ran past its 6 s limit with
# nothing but pongs from the producer, which is still its producer.
harness_wait 120 "four pings answered" at_least "$T/p1.log" "ping answered" 4
harness_alive "$P1" || harness_fail "the quiet producer was closed"
grep -qF "not answering" "$T/alice.notes" &&
    harness_fail "a producer answering its pings was called not answering"
kill "$P1"
wait_gone "$P1" || harness_fail "first producer did not stop"
wait_grep "$T/alice.notes" "customer reconnecting"

# ---- frozen: pings unanswered --------------------------------------------------
producer tunl "$S" -P -l "$T/p2.log"
P2=$!
wait_grep "$T/p2.log" "ping ignored"
wait_grep "$T/alice.notes" "the customer's connection is not answering" 120
# The broker closed it.
wait_grep "$T/p2.log" "eof"
wait_gone "$P2" || harness_fail "the frozen producer was not closed"
harness_assert_contains "$(events_of "$S")" \
    "customer producer-disconnected not answering"
# The grace period runs: the session is still there for a new producer.
harness_assert_eq active \
    "$(relay_sql "SELECT state FROM sessions WHERE id = '$S';")" "state"
producer tunl "$S" -l "$T/p3.log"
P3=$!
wait_grep "$T/alice.notes" "customer connected"
harness_alive "$P3" || harness_fail "the producer after the frozen one was refused"
kill "$P3" "$ALICE"
wait_gone "$P3" || harness_fail "last producer did not stop"
wait_gone "$ALICE" || harness_fail "consumer did not stop"
harness_log "a frozen producer was called not answering; a quiet one was not"
