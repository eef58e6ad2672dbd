#!/bin/sh
# Issue 11 items 7 and 2: the customer's link drops (its ssh is killed)
# while output flows, and tunl-share connects again. Then:
#
# - the engineer's screen, rendered with pyte from every byte its pane was
#   sent, is the customer's pane, row for row and the cursor (no rows at
#   the seam between the snapshot after the reconnect and the output
#   stream shown twice), and stays so as output goes on;
# - the recording carries a gap marker for the dropped link, the
#   registry an output-gap event, the customer's audit log the same, with
#   dropped_output.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-reconnect: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
. "$top_srcdir/tests/integration/harness.sh"
harness_init share-reconnect
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_pyte
share_setup

ctype() {
	cust send-keys -t tunl:0.0 -l "$1"
	cust send-keys -t tunl:0.0 Enter
}
rc_debug() {
	echo "---- step ${_step:-?} ----" >&2
	cat "$H/diff-eng.txt" >&2 2>/dev/null
	share_debug
}
HARNESS_WAIT_DEBUG=rc_debug

share_start
pane eng "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID --read-only"
wait_screen eng "watching: alice"
ctype 'seq 1 100 | sed "s/^/row before /"'
cust_wait_pane "row before 100"
wait_same eng "before the drop"

# The link drops while the pane prints: tunl-share's ssh is killed.
SPID=$(ps -eo pid=,args= | awk -v s="$SHARE" -v id="$ID" \
    '$2 == s && index($0, id) { print $1 }')
[ -n "$SPID" ] || harness_fail "no tunl-share"
SSHPID=$(ps -eo pid=,ppid=,comm= | awk -v p="$SPID" \
    '$2 == p && $3 == "ssh" { print $1 }')
[ -n "$SSHPID" ] || harness_fail "no ssh under tunl-share $SPID"
ctype 'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "row during $i"; done'
kill -KILL "$SSHPID"
cust_wait_pane "row during 400"
reconnected() {
	[ "$(audit_count "connected to the relay")" -ge 2 ]
}
harness_wait 120 "tunl-share to connect again" reconnected
wait_same eng "after the reconnect"
ctype 'seq 1 30 | sed "s/^/row after /"'
cust_wait_pane "row after 30"
wait_same eng "output after the reconnect"

# The dropped link is said everywhere.
gap_in_rec() {
	grep -q '"m", "tunl: gap: at least [0-9]* bytes of output missing here: the customer.s link to the relay dropped; dropped_output=[0-9]*' "$REC"
}
harness_wait 60 "a gap marker in the recording" gap_in_rec
grep -q "output not sent to the relay: at least [0-9]* bytes (the customer's link to the relay dropped); dropped_output=" \
    "$DIR/audit.log" || harness_fail "the audit log does not say"
events_gap() {
	relay_sql "SELECT detail FROM events WHERE session_id = '$ID'
	    AND action = 'output-gap';" | grep -q "link lost; dropped_output="
}
harness_wait 60 "an output-gap event" events_gap
share_finish
