#!/bin/sh
# Issue 11: the session ends while the customer's link is cut, so the
# relay's end notice never reaches tunl-share. Through the real sshd,
# tmux and tunl-share, with tunl-share's ssh run through a wrapper that
# cuts the link on demand:
#
#  - relay down first (every connection refused: nothing listens on the
#    port tunl-share is sent to): tunl-share keeps reconnecting, however
#    many times, and is back in the session once the relay is;
#  - then the link hangs (every new ssh waits before connecting, as on a
#    dead network) and an engineer's `kill` ends the session; once the
#    link is back, sshd refuses the still-valid certificate (tunl-principals
#    no longer names the session): tunl-share stops after a few refusals,
#    says in words that the relay no longer accepts the session, removes
#    its key and certificate, and the shell it was started from goes on.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-gone: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-gone
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

share_link_setup
share_start
reconnected() {
	[ "$(audit_count "connected to the relay")" -ge "$1" ]
}
harness_wait 120 "tunl-share to connect" reconnected 1
SPID=$(share_pid)
[ -n "$SPID" ] || harness_fail "no tunl-share"
ssh_running() {
	share_ssh_pid >/dev/null
}
ssh_log_count() {
	grep -c -- "$1" "$DIR/ssh.log" 2>/dev/null
}
ssh_log_more() {
	[ "$(ssh_log_count "$1")" -gt "$2" ]
}

# ---- the relay down: refused connections are retried ---------------------------
link down
kill -KILL "$(share_ssh_pid)" || harness_fail "no ssh under tunl-share"
# More refused connections than the refusals that end tunl-share.
harness_wait 120 "4 refused connections" ssh_log_more "Connection refused" 3
harness_alive "$SPID" || harness_fail "tunl-share gave up on a relay that was down"
grep -qF "no longer accepts" "$DIR/audit.log" &&
    harness_fail "a relay that was down was taken for a refusal"
link up
harness_wait 120 "tunl-share to connect again" reconnected 2
harness_log "a relay that was down: retried, and back"

# ---- the session ends while the link hangs --------------------------------------
link hang
kill -KILL "$(share_ssh_pid)" || harness_fail "no ssh under tunl-share"
harness_wait 60 "tunl-share's next ssh to hang" ssh_running
$SSH -o IdentityFile="$H/client/alice" support@127.0.0.1 kill "$ID" \
    </dev/null >"$H/kill.out" 2>&1 || harness_fail "kill: $(cat "$H/kill.out")"
ended() {
	[ "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" = ended ]
}
harness_wait 60 "the session to end" ended
grep -qF "ended by the relay" "$DIR/audit.log" &&
    harness_fail "the end notice reached tunl-share: nothing was cut"
link up
wait_screen cust "the relay no longer accepts this session (it has ended, or it is locked)"
wait_screen cust "session ended. Key and certificate removed"
wait_screen cust "exit=0"
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"
[ -e "$DIR/tmux.sock" ] && harness_fail "the tmux socket was left behind"
grep -qF "tunl-share ended: the relay no longer accepts this session" \
    "$DIR/audit.log" || harness_fail "the audit log does not say why it ended"
grep -qF "ended by the customer" "$DIR/audit.log" &&
    harness_fail "the audit log blames the customer"
[ "$(ssh_log_count "Permission denied")" -ge 3 ] ||
    harness_fail "ended before 3 refusals: $(cat "$DIR/ssh.log")"
harness_log "tunl-share stopped once the relay kept refusing its certificate"

# ---- the customer quits between refusals -----------------------------------------
# Another session, ended the same way; the customer ends it (C-b Q) after
# the first refusal (the link hangs again meanwhile, so no more come): the
# audit log must not simply say the customer ended it.
new
pane cust2 "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 2
DIR=${CSOCK%/tmux.sock}
harness_wait 120 "the second tunl-share to connect" reconnected 1
[ -n "$(share_pid)" ] || harness_fail "no second tunl-share"
link hang
kill -KILL "$(share_ssh_pid)" || harness_fail "no ssh under tunl-share"
$SSH -o IdentityFile="$H/client/alice" support@127.0.0.1 kill "$ID" \
    </dev/null >"$H/kill.out" 2>&1 || harness_fail "kill: $(cat "$H/kill.out")"
harness_wait 60 "the second session to end" ended
link up
refused_once() {
	grep -qF "the relay refused the session certificate" "$DIR/audit.log"
}
harness_wait 120 "a refusal" refused_once
link hang
tm send-keys -t e2e:cust2 C-b Q
wait_screen cust2 "End the tunl session?"
tm send-keys -t e2e:cust2 y
wait_screen cust2 "session ended. Key and certificate removed"
wait_screen cust2 "exit="
grep -qF "tunl-share ended by the customer, while the relay refused the session certificate" \
    "$DIR/audit.log" || harness_fail "the audit log does not say the relay refused"
grep -qF "no longer accepts" "$DIR/audit.log" &&
    harness_fail "ended by refusals, not by the customer"
link up
share_finish
