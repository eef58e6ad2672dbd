#!/bin/sh
# The relay's broker is killed (SIGKILL) while the customer's program
# prints (issue 11 item 1, the broker-killed variant): tunl-share must
# end on its own, say in words what happened, leave the customer's own
# shell running and remove the key and certificate.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-broker-kill: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-broker-kill
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
DIR=${CSOCK%/tmux.sock}
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
cust_wait_pane "alice joined (read-write)" 1
tmux -S "$CSOCK" send-keys -t tunl:0.0 'yes burst-of-output-$((2*21))' Enter
wait_raw rw burst-of-output-42

# The session's broker: in the harness's namespace, with this session id.
BPID=
for c in /proc/[0-9]*; do
	[ "$(readlink "$c/ns/mnt" 2>/dev/null)" = "$HARNESS_NS" ] || continue
	case $(tr '\0' ' ' <"$c/cmdline" 2>/dev/null) in
	"$H/libexec/tunl-broker -s $ID ") BPID=${c#/proc/} ;;
	esac
done
[ -n "$BPID" ] || harness_fail "cannot find the session's broker"
kill -KILL "$BPID"
harness_log "broker $BPID killed during the burst"

# tunl-share ends by itself, says why in words, and the shell it was
# started from runs on (it prints tunl-share's exit status).
wait_screen cust "the relay ended the session: tunl: session ended: the relay's broker stopped"
wait_screen cust "session ended. Key and certificate removed"
wait_screen cust "exit=0"
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"
grep -qF "tunl-share ended by the relay: tunl: session ended: the relay" \
    "$DIR/audit.log" ||
    harness_fail "the audit log does not say the relay's broker stopped"
grep -qF "ended by the customer" "$DIR/audit.log" &&
    harness_fail "the audit log blames the customer"
harness_log "tunl-share ended on its own, and said why, when the broker was killed"
share_finish
