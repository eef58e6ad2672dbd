#!/bin/sh
# Issue 11: an engineer's `token <id>` hands the session to a newer
# tunl-share. Through the real sshd, tmux and tunl-share:
#
#  - the customer's tunl-share is connected, alice watching; alice makes a
#    new token for the session. The broker drops the old producer, and
#    tunl-share's next login with its certificate (still valid) is refused
#    by the relay because a newer token exists;
#  - tunl-share stops at once (no reconnecting until the certificate
#    expires), says in words that the session was handed to a newer token,
#    removes its key and certificate, and the shell it was started from
#    goes on; its audit log says why and does not blame the customer;
#  - the new token works: a second tunl-share with it becomes the
#    session's producer, and alice, who never left, sees its shell.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-superseded: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-superseded
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_built
# The grace is long: only tunl, never the clock, may drop alice.
share_setup "producer_grace = 1800"

share_watched
SPID=$(share_pid)
[ -n "$SPID" ] || harness_fail "no tunl-share"
FIRSTDIR=$DIR

# ---- alice makes a new token: the running tunl-share is superseded -------------
harness_ssh_key support alice token "$ID" </dev/null >"$H/token.out" 2>"$H/err" ||
    harness_fail "token: $(cat "$H/err")"
NEWTOK=$(sed -n 's/^token *\([0-9]*\).*/\1/p' "$H/token.out")
[ -n "$NEWTOK" ] || harness_fail "token printed: $(cat "$H/token.out")"
(umask 077 && printf '%s\n' "$NEWTOK" >"$H/client/new.token")
rm -f "$H/token.out"

WORDS="this session was handed to a newer tunl-share"
wait_screen cust "$WORDS"
wait_screen cust "session ended. Key and certificate removed"
wait_screen cust "exit=0"
stopped() {
	! harness_alive "$1"
}
harness_wait 60 "the first tunl-share to exit" stopped "$SPID"
[ -e "$FIRSTDIR/key" ] || [ -e "$FIRSTDIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"
[ -e "$FIRSTDIR/tmux.sock" ] && harness_fail "the tmux socket was left behind"
grep -qF "tunl-share ended: $WORDS" "$FIRSTDIR/audit.log" ||
    harness_fail "the audit log does not say why it ended: $(cat "$FIRSTDIR/audit.log")"
grep -qF "ended by the customer" "$FIRSTDIR/audit.log" &&
    harness_fail "the audit log blames the customer"
grep -qF "no longer accepts this session" "$FIRSTDIR/audit.log" &&
    harness_fail "a hand-over was taken for an ended session"
# It stopped on the relay's first word: at most one login was refused.
N=$(grep -c "superseded by a newer one" "$FIRSTDIR/ssh.log")
[ "$N" -le 1 ] || harness_fail "tunl-share retried a superseded certificate $N times"
harness_assert_eq 1 "$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND action = 'producer-superseded';")" \
    "the producer-superseded event"
screen ro | grep -q 'exit=' && harness_fail "alice was dropped"
harness_log "the superseded tunl-share stopped, said why, and cleaned up"

# ---- the newer tunl-share takes the session over ---------------------------------
C0=$(raw_count ro "tunl: customer connected")
pane cust2 "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $H/client/new.token $ID"
cust_wait_ready 2
[ "$CSOCK" != "$FIRSTDIR/tmux.sock" ] || harness_fail "the old tmux answered"
wait_raw_more ro "tunl: customer connected" "$C0"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo handed-$((40+2))' Enter
wait_screen ro handed-42
harness_assert_eq active "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" \
    "the session after the hand-over"
tm send-keys -t e2e:cust2 C-b Q
wait_screen cust2 "End the tunl session?"
tm send-keys -t e2e:cust2 y
wait_screen cust2 "exit=0"
share_finish
