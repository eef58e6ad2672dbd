#!/bin/sh
# tunl-share when its session certificate has expired, through a real
# relay (share-lib.sh) whose certificates last one minute (cert_ttl = 1;
# tunl-share treats one as expired 30 seconds before its end).
#
# Covered: once the certificate has expired, a dropped connection is not
# retried with it; the customer's chat pane asks for a new token; a wrong
# one is refused there and asked for again; the engineer's `token <id>`
# makes a new one (the session's first token was used up by the first
# certificate); typed into the chat pane, it signs a new certificate and
# the customer is back in the same session without the engineer leaving;
# both tokens are then used up; the new token is never in ps, a log or
# the audit log. About 40 seconds, most of it waiting for the expiry.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ ! -f "$top_builddir/.libs/pam_tunl.so" ]; then
	echo "SKIP: share-renew: pam_tunl.so is not built here"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-renew: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-renew
. "$top_srcdir/tests/integration/share-lib.sh"
# The customer is away from the kill below until the new token is typed:
# several logins on a machine that may be loaded. The grace is long, so
# that only tunl, never the clock, can drop the engineer.
share_setup "cert_ttl = 1" "sign_cooldown = 1" "producer_grace = 1800"

new
FIRST=$(cat "$TOKENFILE")
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
SIGNED=$(date +%s)
DIR=${CSOCK%/tmux.sock}
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo before-$((20+1))' Enter
wait_screen rw before-21

# Watch ps from here on: the new token is never in an argv.
ps_watch_start

# Past the point where tunl-share no longer trusts the certificate.
while [ $(($(date +%s) - SIGNED)) -lt 32 ]; do
	sleep 1
done
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = "$(command -v ssh)" ] || continue
	{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q " produce $ID" &&
	    kill "${p#/proc/}"
done
wait_raw rw "tunl: customer reconnecting"

# The chat pane asks; nothing reconnects until a token comes (checked
# below, after the relay has refused the old token and before the new one).
cust_wait_pane "The session certificate expired. New session token (not shown):" 1
# Notices, not lines: the raw log of a terminal may hold several on one.
connects() {
	raw_count rw "tunl: customer connected"
}
C0=$(connects)
no_reconnect() {
	[ "$(connects)" = "$C0" ] ||
	    harness_fail "tunl-share reconnected with an expired certificate"
	screen rw | grep -q 'exit=' && harness_fail "the engineer was dropped"
	return 0
}

# type_token FILE: into the chat pane through a tmux buffer, not an argv.
type_token() {
	tmux -S "$CSOCK" load-buffer -b tok "$1" &&
	    tmux -S "$CSOCK" paste-buffer -d -b tok -t tunl:0.1 &&
	    tmux -S "$CSOCK" send-keys -t tunl:0.1 Enter
}
# The old token was used up by the first certificate: refused, asked again.
(umask 077 && tr -d '\n' <"$TOKENFILE" >"$H/client/old.token")
type_token "$H/client/old.token" || harness_fail "cannot type into the chat pane"
cust_wait_pane "the relay did not accept that token" 1
no_reconnect

# The engineer makes a new token for the same session.
harness_ssh_key support alice token "$ID" </dev/null >"$H/token.out" 2>"$H/err" ||
    harness_fail "token: $(cat "$H/err")"
NEWTOK=$(sed -n 's/^token *\([0-9]*\).*/\1/p' "$H/token.out")
[ -n "$NEWTOK" ] && [ "$NEWTOK" != "$FIRST" ] ||
    harness_fail "token printed: $(cat "$H/token.out")"
(umask 077 && printf '%s' "$NEWTOK" >"$H/client/new.token")
rm -f "$H/token.out"
no_reconnect
type_token "$H/client/new.token" || harness_fail "cannot type into the chat pane"

# Back in the same session: the engineer never left and sees it live.
wait_raw_more rw "tunl: customer connected" "$C0"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo after-$((30+3))' Enter
wait_screen rw after-33
screen rw | grep -q 'exit=' && harness_fail "the engineer was dropped"
harness_assert_eq 2 "$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND action = 'token-consumed';")" \
    "tokens used up: the first and the new one"
harness_assert_eq 1 "$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND action = 'token-issued' AND actor = 'alice';")" \
    "the token-issued event"
harness_assert_eq active "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" \
    "the session after the new certificate"

# End it; nothing secret left anywhere.
tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "exit=0"
ps_watch_stop
for f in "$H/ps.log" "$H/syslog.log" "$H/sshd.log" "$DIR/audit.log" \
    "$DIR/ssh.log" "$DIR/session.cast"; do
	[ -f "$f" ] || continue
	relay_holds_token "$NEWTOK" "$f" && harness_fail "the new token is in $f"
done
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"

share_finish
