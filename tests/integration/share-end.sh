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

# A flood that outlasts the test: the pane prints until the end.
share_flood flood-of-output
$SSH -o IdentityFile="$H/client/alice" support@127.0.0.1 kill "$ID" \
    </dev/null >"$H/kill.out" 2>&1 || harness_fail "kill: $(cat "$H/kill.out")"
# Told who ended it, and how (issue 11 item 8).
share_ended_alone "tunl: session ended by engineer alice (kill)"
[ -e "$DIR/tmux.sock" ] && harness_fail "the tmux socket was left behind"
harness_log "tunl-share ended on its own when the relay ended the session mid-output"
share_finish
