#!/bin/sh
# The relay ends the session while the customer's program prints: an
# engineer's `kill ID` during a flood of output. tunl-share must end on
# its own (its tmux control client, blocked writing output nobody reads
# any more, once held it for ever), say so, and remove the key and
# certificate.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-end: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-end
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
DIR=${CSOCK%/tmux.sock}
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
cust_wait_pane "alice joined (read-write)" 1
# A flood that outlasts the test: the pane prints until the end.
tmux -S "$CSOCK" send-keys -t tunl:0.0 'yes flood-of-output-$((2*21))' Enter
wait_raw rw flood-of-output-42
$SSH -o IdentityFile="$H/client/alice" support@127.0.0.1 kill "$ID" \
    </dev/null >"$H/kill.out" 2>&1 || harness_fail "kill: $(cat "$H/kill.out")"
# tunl-share ends by itself and says so; then its pane's shell prints its
# status (the command line typed into the pane holds "exit=$?" too).
wait_screen cust "session ended. Key and certificate removed"
# Told who ended it, and how (issue 11 item 8).
wait_screen cust "the relay ended the session: tunl: session ended by engineer alice (kill)"
wait_screen cust "exit=0"
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"
[ -e "$DIR/tmux.sock" ] && harness_fail "the tmux socket was left behind"
grep -qF "tunl-share ended by the relay" "$DIR/audit.log" ||
    harness_fail "the audit log does not say the relay ended the session"
harness_log "tunl-share ended on its own when the relay ended the session mid-output"
share_finish
