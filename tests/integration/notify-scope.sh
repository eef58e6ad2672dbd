#!/bin/sh
# A registry change to one session reaches that session's broker only
# (docs/broker.md, "The registry"; issue 11 item 3), through the real sshd,
# tunl-shell and tunl-authority, with brokers started as tunl-shell
# produce starts them and a test producer on each.
#
# Three sessions A, B and C, registry_recheck an hour (so no broker's
# periodic read can happen during the test). While B's broker is stopped
# (SIGSTOP) and C's runs: an engineer joins A and leaves, `token A`, a
# `new` and `kill A` are made through ssh. Then:
#  - A's broker read its row on the message, and ended on the kill;
#  - nothing connected to B's socket while B was stopped (its listening
#    socket's queue is empty): no writer tried to tell B anything;
#  - C's broker made no registry call at all (its debug log's count of
#    calls is the same as before A's changes);
#  - B, continued, and C still answer a registry-changed frame of their
#    own, and read their row for it.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init notify-scope
[ -z "${TUNL_SANITIZED:-}" ] ||
    harness_skip "new goes through pam_tunl's session stage, and a sanitizer build's pam_tunl.so cannot load into the stock sshd"
. "$top_srcdir/tests/integration/share-lib.sh"
command -v ss >/dev/null 2>&1 || harness_skip "needs ss (iproute2)"
TPROD=$top_builddir/tests/helpers/test-producer
NOTIFY=$top_builddir/tests/helpers/registry-changed
[ -x "$TPROD" ] && [ -x "$NOTIFY" ] || harness_skip "test helpers not built"

share_setup "registry_recheck = 3600" "log_level = debug"
NS=$(readlink "/proc/$HARNESS_SSHD_PID/ns/mnt")

make_session() {	# CASE: a session through ssh; prints its id
	harness_ssh_key support alice -- new --case "$1" >"$H/new-$1.out" 2>&1 ||
	    harness_fail "new $1: $(cat "$H/new-$1.out")"
	sed -n 's/^session  *//p' "$H/new-$1.out"
}

broker_pid() {	# SID: the running broker of SID
	for _p in $(harness_pids_in_ns "$NS"); do
		[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = tunl-broker ] || continue
		tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null | grep -q -- "-s $1 " &&
		    { echo "$_p"; return 0; }
	done
	return 1
}

state_is() {
	[ "$(relay_sql "SELECT state FROM sessions WHERE id = '$1';")" = "$2" ]
}

start_session() {	# SID: its broker and a producer; sets BP
	harness_nsenter setpriv --reuid=tunl --regid=tunl --init-groups \
	    --reset-env -- "$H/libexec/tunl-broker" -f "$RELAY_CONF" -s "$1" \
	    >"$H/broker-$1.out" 2>&1 ||
	    harness_fail "broker $1: $(cat "$H/broker-$1.out")"
	BP=$(broker_pid "$1") || harness_fail "no broker process for $1"
	harness_track "$BP"
	# The key group stands in for tunl-authority admit (docs/broker.md).
	harness_nsenter setpriv --reuid=tunl --regid=tunl-auth --init-groups \
	    --reset-env -- "$TPROD" -S "/run/tunl/sessions/$1.sock" -s "$1" \
	    -n 100 -w 600 2>>"$H/producers.err" &
	harness_track $!
	harness_wait 60 "session $1 active" state_is "$1" active
}

calls_of() {	# PID: registry calls its broker made (debug log)
	harness_syslog_sync
	grep -c "tunl-broker\[$1\]: .*registry call " "$H/syslog.log"
}

A=$(make_session SCOPE-A)
B=$(make_session SCOPE-B)
C=$(make_session SCOPE-C)
start_session "$A"; BA=$BP
start_session "$B"; BB=$BP
start_session "$C"; BC=$BP
connected_all() {
	[ "$(relay_sql "SELECT count(*) FROM events WHERE action =
	    'producer-connected';")" -ge 3 ]
}
harness_wait 60 "three producers connected" connected_all
# C's calls so far: its start, its producer's hello and what that wrote.
# Settled: no registry child running and the count the same three times,
# each after every line logged before it was in.
no_child() {
	[ -z "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]
}
settled() {
	_c1=$(calls_of "$BC")
	no_child "$BC" || return 1
	_c2=$(calls_of "$BC")
	no_child "$BC" || return 1
	_c3=$(calls_of "$BC")
	[ "$_c1" -gt 0 ] && [ "$_c1" = "$_c2" ] && [ "$_c2" = "$_c3" ]
}
harness_wait 60 "C's start-up calls made" settled
c_before=$(calls_of "$BC")
a_before=$(calls_of "$BA")

kill -STOP "$BB" || harness_fail "SIGSTOP B's broker"

# ---- changes to A, through ssh -------------------------------------------------
mkfifo "$H/never" && exec 8<>"$H/never" || harness_fail "fifo"
$SSH -tt -o IdentityFile="$H/client/bob" support@127.0.0.1 join "$A" \
    --read-only <"$H/never" >"$H/join-a.out" 2>&1 &
JP=$!
harness_track "$JP"
viewing() {
	[ "$(relay_sql "SELECT viewers FROM sessions WHERE id = '$A';")" = 1 ]
}
harness_wait 60 "bob viewing A" viewing
kill "$JP"
left() {
	[ "$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$A' AND
	    action = 'engineer-left';")" -ge 1 ]
}
harness_wait 60 "bob left A" left
harness_ssh_key support alice -- token "$A" >"$H/token.out" 2>&1 ||
    harness_fail "token A: $(cat "$H/token.out")"
harness_syslog_sync
harness_wait 60 "A's broker told of the token" grep -q \
    "tunl-broker\[$BA\]: registry-changed from uid $HARNESS_UID_SUPPORT: reading" \
    "$H/syslog.log"
D=$(make_session SCOPE-D)
[ -n "$D" ] || harness_fail "no session D"
harness_ssh_key support alice -- kill "$A" >"$H/kill.out" 2>&1 ||
    harness_fail "kill A: $(cat "$H/kill.out")"
a_gone() {
	! kill -0 "$BA" 2>/dev/null
}
harness_wait 60 "A's broker to end on the kill" a_gone
state_is "$A" ended || harness_fail "A is not ended"
[ "$(calls_of "$BA")" -gt "$a_before" ] ||
    harness_fail "A's broker made no registry call for its changes"

# ---- nobody else was told or read ------------------------------------------------
queued=$(ss -xlnH 2>/dev/null | awk -v s="$B.sock" 'index($5, s) { print $3 }')
[ -n "$queued" ] || harness_fail "B's listening socket not found by ss"
[ "$queued" -eq 0 ] ||
    harness_fail "$queued connection(s) waited on stopped B's socket"
c_after=$(calls_of "$BC")
[ "$c_after" -eq "$c_before" ] ||
    harness_fail "C's broker made $((c_after - c_before)) registry call(s) for A's changes"
harness_log "A's join, token, kill and a new: B not contacted, C made no call"

# ---- B and C still answer for themselves ---------------------------------------
kill -CONT "$BB" || harness_fail "SIGCONT B's broker"
for s in "$B:$BB" "$C:$BC"; do
	sid=${s%%:*}
	pid=${s#*:}
	harness_nsenter "$NOTIFY" /run/tunl "$sid" ||
	    harness_fail "broker of $sid did not ack its registry-changed"
	read_own() {
		[ "$(calls_of "$pid")" -gt 0 ] && harness_syslog_sync &&
		    grep -q "tunl-broker\[$pid\]: registry-changed from uid 0: reading" \
		    "$H/syslog.log"
	}
	harness_wait 60 "broker of $sid reads on its own message" read_own
done
state_is "$B" active && state_is "$C" active ||
    harness_fail "B or C is no longer active"

exec 8>&-
harness_host_unchanged
exit 0
