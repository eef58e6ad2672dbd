#!/bin/sh
# A frozen customer link (issue 11 item 5), through the real sshd, tmux
# and tunl-share: for 60 s the customer's ssh clients are stopped
# (SIGSTOP), so the connection stays open and says nothing, as on a
# frozen network. The
# broker's pings go unanswered: the engineer is told that the customer's
# connection is not answering; tunl-share hears nothing from the relay,
# tells the customer and connects again; the session goes on, with the
# engineer seeing what the customer types. Nothing here asserts a time:
# the waits only bound a failure.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-freeze: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-freeze
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
DIR=${CSOCK%/tmux.sock}
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
cust_wait_pane "alice joined (read-write)" 1
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo before-$((2*21))' Enter
wait_raw rw before-42

# tunl-share (its argv names the token file, unique to this test) and
# its ssh to the relay.
share_pid() {
	for _p in $(pgrep -f -- "$TOKENFILE"); do
		[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = tunl-share ] &&
		    echo "$_p"
	done
}
SPID=$(share_pid)
[ -n "$SPID" ] || harness_fail "no tunl-share process"
SSHPID=$(pgrep -x -P "$SPID" ssh)
[ -n "$SSHPID" ] || harness_fail "no ssh under tunl-share"

# The link stays frozen for 60 s: every ssh tunl-share starts meanwhile
# is stopped too, as on a network that has gone quiet; then all go on.
kill -STOP "$SSHPID"
echo "$SSHPID" >"$H/stopped"
harness_log "customer's ssh $SSHPID stopped; the link frozen for 60 s"
(
	_end=$(( $(date +%s) + 60 ))
	while [ "$(date +%s)" -lt "$_end" ]; do
		for _p in $(pgrep -x -P "$SPID" ssh); do
			kill -STOP "$_p" 2>/dev/null && echo "$_p" >>"$H/stopped"
		done
		sleep 0.1
	done
	for _p in $(sort -u "$H/stopped"); do
		kill -CONT "$_p" 2>/dev/null
	done
	: >"$H/thawed"
) &
FREEZER=$!
harness_track "$FREEZER"
# The engineer hears it in words, the customer too.
wait_raw rw "the customer's connection is not answering"
cust_wait_pane "the relay is not answering; reconnecting" 1
grep -qF "relay not answering" "$DIR/audit.log" ||
    harness_fail "the customer's audit log does not say the relay stopped answering"
# The registry says why the producer went.
not_answering_logged() {
	[ -n "$(relay_sql "SELECT 1 FROM events WHERE session_id = '$ID'
	    AND action = 'producer-disconnected' AND detail = 'not answering';")" ]
}
harness_wait 60 "the producer-disconnected event" not_answering_logged
thawed() {
	[ -e "$H/thawed" ]
}
harness_wait 180 "the end of the freeze" thawed
# tunl-share connects again and the session goes on (within the
# broker's grace period of 120 s).
wait_raw rw "tunl: customer connected"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo after-$((2*21))' Enter
wait_raw rw after-42
harness_alive "$SPID" || harness_fail "tunl-share exited"
harness_log "a frozen customer link was noticed, told and recovered from"
share_finish
