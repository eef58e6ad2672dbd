#!/bin/sh
# recording_max (docs/recording.md, "A cap on a recording's size"),
# through a real broker (no sshd): a session whose output would take its
# recording past the cap ends there. The customer (the producer) and the
# engineer watching are told why, the recording ends with a marker that
# says so and holds no more output than the cap, the registry says the
# session ended, and a `recording-full` event names the cause.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init recording-max
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"

CAP=65536
broker_setup "recording_max = 64K"
S=abrupt-absent-access-account
broker_session "$S"
broker_start "$S"
REC=$H/var/log/tunl/$S.cast

consumer support "$S" alice -r -l "$T/alice.log" -n "$T/alice.notes"
ALICE=$!
wait_grep "$T/alice.log" "viewers 1 alice:ro"
# Four times the cap, as fast as the broker takes it.
producer tunl "$S" -n $((4 * CAP)) -l "$T/prod.log"
PROD=$!

wait_grep "$T/prod.log" "session ended: the recording reached its size limit (recording_max, $CAP bytes of output)"
wait_grep "$T/alice.notes" "session ended: the recording reached its size limit"
wait_gone "$PROD" || harness_fail "the producer was not closed"
wait_gone "$ALICE" || harness_fail "the engineer was not closed"
wait_grep "$H/broker-$S.log" "session ending: the recording reached"

# The broker queues its registry calls and makes them before it exits:
# the state is read once it has gone, never raced against the log line.
harness_wait 60 "the broker to exit" sh -c "! kill -0 $BPID 2>/dev/null"
state=$(relay_sql "SELECT state FROM sessions WHERE id = '$S'")
harness_assert_eq ended "$state" "the session's state"
relay_sql "SELECT action FROM events WHERE session_id = '$S'" |
    grep -qx recording-full || harness_fail "no recording-full event"

# The recording: its output events hold at most the cap, some of it, and
# its last marker says why it ends.
res=$(relay_cast_summary "$REC") || harness_fail "cannot read $REC"
bytes=$(echo "$res" | sed -n 1p)
mark=$(echo "$res" | sed -n 2p)
[ "$bytes" -gt 0 ] && [ "$bytes" -le $CAP ] ||
    harness_fail "the recording holds $bytes bytes of output, cap $CAP"
harness_assert_contains "$mark" "the recording reached its size limit" \
    "the recording's last marker"

harness_stop
harness_host_unchanged
harness_log "passed"
exit 0
