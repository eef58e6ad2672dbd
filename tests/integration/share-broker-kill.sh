#!/bin/sh
# The relay's broker is killed (SIGKILL) while the customer's program
# prints (issue 11 item 1, the broker-killed variant): tunl-share must
# end on its own, say in words what happened, leave the customer's own
# shell running and remove the key and certificate.
#
# The reaper as an account that may not open the broker's lock file (the
# engineer's and the customer's tunl-shell) asks the session's socket
# instead (lib/reaper.c): an engineer's `list` while the broker lives
# leaves the session active; once the broker is killed, the tunl-shell
# that notices ends the row as the broker's death (broker-died).
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

share_flood burst-of-output

state_of() {
	relay_sql "SELECT state FROM sessions WHERE id = '$ID';"
}
$SSH -o IdentityFile="$H/client/alice" support@127.0.0.1 list </dev/null \
    >"$H/list.out" 2>&1 || harness_fail "list: $(cat "$H/list.out")"
harness_assert_contains "$(grep "^$ID " "$H/list.out")" " active " \
    "the live session in list"
harness_assert_eq active "$(state_of)" "the live session after list's reaper"

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
# started from runs on.
share_ended_alone "tunl: session ended: the relay's broker stopped"
grep -qF "ended by the customer" "$DIR/audit.log" &&
    harness_fail "the audit log blames the customer"
died() {
	[ "$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID'
	    AND actor = 'broker' AND action = 'broker-died';")" = 1 ]
}
harness_wait 120 "the row ended as the broker's death" died
harness_assert_eq ended "$(state_of)" "the row after the broker was killed"
harness_assert_eq "broker broker died" "$(relay_sql "SELECT actor || ' ' ||
    detail FROM events WHERE session_id = '$ID' AND action = 'ended';")" \
    "who and what ended the row"
harness_log "tunl-share ended on its own, and said why, when the broker was killed"
share_finish
